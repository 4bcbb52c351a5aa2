"""The epoch loop of the trainers that train by gradient: the numpy MLP, the PyTorch MLP
and the CNN.

:class:`EpochTrainer` is written once for all three (STYLE 20: two implementations of one
model share their loop; only the forward and backward passes differ). It owns:

* ``step()``: one epoch, counted; then the end-of-epoch metrics, ``train_loss`` (the
  epoch's mean risk ``R(W, b) = (1/N) Σ L(y⁽ⁿ⁾, ŷ⁽ⁿ⁾) + ½ λ ‖W‖²_F``), ``val_loss``,
  ``lr``, and ``val_accuracy`` (classes) or ``val_mse`` (in the target's units) and
  ``val_r2`` (regression);
* the bad-value check: a NaN or infinite loss or weight makes the run diverged, which
  reports NaN metrics with ``diverged = 1`` instead of raising, and stays so;
* scikit-learn's ``learning_rate`` schedules for ``sgd`` (``invscaling``: η = η₀ /
  (t + 1)^power_t with t the samples seen; ``adaptive``: η / 5 after more than
  ``n_iter_no_change`` epochs whose loss did not fall by ``tol``);
* scikit-learn's ``early_stopping``: ``validation_fraction`` of the training part held
  out (stratified for classes); when its score (accuracy, or R²) has not beaten its best
  by ``tol`` for more than ``n_iter_no_change`` epochs, the best weights come back and
  every later epoch repeats their metrics, with ``stopped_early = 1``;
* ``save()`` and ``restore(state)``, one layout for every trainer::

    {"trainer": "MLPTrainer", "config": {...}, "seed": 3,
     "model": ...,      # the weights and buffers, in the subclass's form, on the CPU
     "optimizer": ...,  # the optimiser's state
     "rng": ...,        # the state of every generator the trial draws from
     "loop": {"epoch": 3, "samples_seen": 270, "best_loss": 0.41, "no_improvement": 0,
              "diverged": False, "best_score": -inf, "es_no_improvement": 0,
              "best_weights": None, "stopped_early": False, "stopped_metrics": None}}

  A restored trainer continues bit for bit as one never paused.

A subclass sets ``name``, loads its data with :meth:`_load`, sets itself up in ``setup``
(calling :meth:`_hold_out` and :meth:`_start_loop`), and computes: ``_train_epoch``,
``_evaluate``, ``_finite``, the learning rate (``_lr``, ``_sgd``, ``_set_lr``) and its
state (``_weights``, ``_load_weights``, ``_optimizer_state``, ``_rng_state`` and their
loaders).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from trainers._checks import bad_value
from trainers.data import Dataset, load_dataset

#: The loop's counters, saved and restored under these names.
COUNTERS = (
    "epoch",
    "samples_seen",
    "best_loss",
    "no_improvement",
    "diverged",
    "best_score",
    "es_no_improvement",
    "stopped_early",
)


class EpochTrainer:
    """The trainer contract's loop (see the module docstring); a subclass computes."""

    name: ClassVar[str] = "EpochTrainer"
    config: dict[str, Any] | None
    seed: int
    data: Dataset
    regression: bool
    #: The validation part and the part held out for early stopping (None without it),
    #: as ``_evaluate`` takes them.
    X_val: Any
    y_val: Any
    X_hold: Any
    y_hold: Any

    # -- the contract ---------------------------------------------------------------------

    def step(self) -> dict[str, float]:
        """Train one epoch; returns ``train_loss``, ``val_loss``, ``lr`` and ``val_accuracy``
        (classes) or ``val_mse`` and ``val_r2`` (regression, ``val_mse`` in the target's
        units).

        A diverged run (NaN or infinite loss) returns NaN metrics with ``diverged = 1``
        instead of raising, and stays diverged. A run stopped early (``early_stopping``)
        keeps its best weights and reports them, with ``stopped_early = 1``.
        """
        if self.config is None:
            raise RuntimeError("call setup(config, seed) or restore(state) before step()")
        if self.diverged:
            return self._diverged_metrics(math.nan)
        if self.stopped_early:
            self.epoch += 1
            return dict(self._stopped_metrics or {})
        with self._numerics():
            train_loss = self._train_epoch()
            self.epoch += 1
            if not math.isfinite(train_loss) or not self._finite():
                self.diverged = True
                return self._diverged_metrics(train_loss)
            metrics = {"train_loss": train_loss, **self._validation_metrics()}
        self._end_of_epoch(train_loss)
        metrics["lr"] = self._lr()
        if self._get("early_stopping") and self._early_stop():
            metrics = {**self._validation_metrics(), "train_loss": train_loss, "lr": metrics["lr"],
                       "stopped_early": 1.0}  # fmt: skip
            self._stopped_metrics = metrics
        return metrics

    def save(self) -> dict[str, Any]:
        """Everything needed to continue exactly, in the layout of the module docstring."""
        if self.config is None:
            raise RuntimeError("nothing to save: call setup(config, seed) first")
        best = self.best_weights
        return {
            "trainer": self.name,
            "config": dict(self.config),
            "seed": self.seed,
            "model": self._portable(self._weights()),
            "optimizer": self._optimizer_state(),
            "rng": self._rng_state(),
            "loop": {
                **{key: getattr(self, key) for key in COUNTERS},
                "best_weights": None if best is None else self._portable(best),
                "stopped_metrics": self._stopped_metrics,
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`save`'s state (from any device); need not follow setup."""
        state = upgrade_state(state)
        if (state.get("trainer") or self.name) != self.name:
            raise ValueError(f"a state of {state['trainer']} cannot restore a {self.name}")
        self.setup(state["config"], state["seed"])
        self._load_weights(self._local(state["model"]))
        self._load_optimizer_state(state["optimizer"])
        self._load_rng_state(state["rng"])
        loop = state["loop"]
        for key in COUNTERS:
            setattr(self, key, loop[key])
        best = loop["best_weights"]
        self.best_weights = None if best is None else self._local(best)
        self._stopped_metrics = loop["stopped_metrics"]

    # -- for the subclass's constructor and setup ---------------------------------------------

    def _load(self, dataset: str | Dataset, target: str | None, dtype: str, **split: Any) -> None:
        """``self.data``: the dataset (loaded and split unless given) in ``dtype``."""
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(dataset, target, **split)
        self.data = dataset.astype(dtype)
        self.regression = self.data.task == "regression"
        self.config = None

    def _hold_out(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(X_fit, y_fit, X_hold, y_hold)``: the rows to train on and, with
        ``early_stopping``, scikit-learn's held-out part (stratified for classes, drawn
        with the trial's seed); without it, the whole training part and None."""
        d = self.data
        if not self._get("early_stopping"):
            return d.X_train, d.y_train, None, None
        from sklearn.model_selection import train_test_split

        vf = self._get("validation_fraction")
        try:
            X_fit, X_hold, y_fit, y_hold = train_test_split(
                d.X_train, d.y_train, test_size=vf, random_state=self.seed % 2**32,
                stratify=None if self.regression else d.y_train,
            )  # fmt: skip
        except ValueError as exc:
            raise bad_value("validation_fraction", vf,
                            f"a part that the training data can give ({exc})") from None  # fmt: skip
        # R² on the held-out part divides by its variance (1 for a constant part).
        self._hold_variance = float(np.var(y_hold)) or 1.0
        return X_fit, y_fit, X_hold, y_hold

    def _start_loop(self) -> None:
        """The counters of a new trial: no epoch yet, nothing best yet."""
        self.epoch = 0
        self.samples_seen = 0
        self.best_loss = math.inf
        self.no_improvement = 0
        self.diverged = False
        self.best_score = -math.inf  # early stopping: the held-out score and its weights
        self.es_no_improvement = 0
        self.best_weights: Any = None
        self.stopped_early = False
        self._stopped_metrics: dict[str, float] | None = None

    # -- what a subclass computes -------------------------------------------------------------

    def setup(self, config: Mapping[str, Any], seed: int) -> None:
        raise NotImplementedError

    def _train_epoch(self) -> float:
        """One epoch of training (``samples_seen`` counted); returns its mean R(W, b)."""
        raise NotImplementedError

    def _evaluate(self, X: Any, y: Any) -> tuple[float, float]:
        """Classification: mean loss and accuracy; regression: mean ½‖ŷ − y‖² and the mean
        squared error (of the standardised target). Without dropout, as at test time."""
        raise NotImplementedError

    def _finite(self) -> bool:
        """No weight is NaN or infinite."""
        raise NotImplementedError

    def _lr(self) -> float:
        """The learning rate now (NaN for a solver without one)."""
        raise NotImplementedError

    def _sgd(self) -> bool:
        """The optimiser is SGD, the one the ``learning_rate`` schedules apply to."""
        raise NotImplementedError

    def _set_lr(self, old: float, new: float) -> None:
        raise NotImplementedError

    def _weights(self) -> Any:
        """A copy of the weights and buffers, where they live (the best so far, or saved)."""
        raise NotImplementedError

    def _load_weights(self, weights: Any) -> None:
        raise NotImplementedError

    def _optimizer_state(self) -> Any:
        raise NotImplementedError

    def _load_optimizer_state(self, state: Any) -> None:
        raise NotImplementedError

    def _rng_state(self) -> Any:
        raise NotImplementedError

    def _load_rng_state(self, state: Any) -> None:
        raise NotImplementedError

    def _portable(self, weights: Any) -> Any:
        """``weights`` as saved (a state that pickles anywhere)."""
        return weights

    def _local(self, weights: Any) -> Any:
        """Saved ``weights`` where this trainer computes."""
        return weights

    def _numerics(self) -> contextlib.AbstractContextManager[Any]:
        """The context of an epoch's arithmetic (numpy: overflow is expected, not warned)."""
        return contextlib.nullcontext()

    def _get(self, key: str) -> Any:
        """A setting of the resolved config."""
        return self.config[key]  # type: ignore[index]

    # -- internals ------------------------------------------------------------------------

    def _validation_metrics(self) -> dict[str, float]:
        """The scheduler's view: loss and accuracy, or loss, MSE and R², on validation."""
        val_loss, score = self._evaluate(self.X_val, self.y_val)
        if not self.regression:
            return {"val_loss": val_loss, "val_accuracy": score}
        # The target is standardised: its MSE is 1 − R² of a model, in units of its variance.
        d = self.data
        variance = float(np.var(d.y_val)) or 1.0
        return {"val_loss": val_loss, "val_mse": score * d.y_scale**2,
                "val_r2": 1.0 - score / variance}  # fmt: skip

    def _early_stop(self) -> bool:
        """scikit-learn's rule: the held-out score (accuracy, or R²) must beat its best by
        ``tol``; after more than ``n_iter_no_change`` epochs without, keep the best weights."""
        _, score = self._evaluate(self.X_hold, self.y_hold)
        if self.regression:
            score = 1.0 - score / self._hold_variance
        # As scikit-learn's MLP: the count resets only on a gain of tol; any gain is kept.
        gained = score >= self.best_score + self._get("tol")
        self.es_no_improvement = 0 if gained else self.es_no_improvement + 1
        if score > self.best_score:
            self.best_score = score
            self.best_weights = self._weights()
        if self.es_no_improvement > self._get("n_iter_no_change") and self.best_weights is not None:
            self._load_weights(self.best_weights)
            self.stopped_early = True
        return self.stopped_early

    def _end_of_epoch(self, train_loss: float) -> None:
        """scikit-learn's schedules for sgd: invscaling decay, adaptive division by 5."""
        if train_loss > self.best_loss - self._get("tol"):
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        self.best_loss = min(self.best_loss, train_loss)
        if not self._sgd():
            return
        lr = old = self._lr()
        schedule = self._get("learning_rate")
        if schedule == "invscaling":
            lr = self._get("learning_rate_init") / (self.samples_seen + 1) ** self._get("power_t")
        elif schedule == "adaptive" and self.no_improvement > self._get("n_iter_no_change"):
            if lr > 1e-6:
                lr /= 5.0
            self.no_improvement = 0
        if lr != old:
            self._set_lr(old, lr)

    def _diverged_metrics(self, train_loss: float) -> dict[str, float]:
        nan = math.nan
        scores = {"val_mse": nan, "val_r2": nan} if self.regression else {"val_accuracy": nan}
        return {
            "train_loss": train_loss if not math.isfinite(train_loss) else nan,
            "val_loss": nan,
            **scores,
            "lr": self._lr(),
            "diverged": 1.0,
        }


def upgrade_state(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """A state saved before the trainers shared this layout (a study's checkpoint from
    then), in today's layout; today's as it is.

    The numpy MLP's held its weights under ``theta`` and ``running_stats`` and its
    generator under ``rng``; the PyTorch trainers' their counters under ``schedule`` and
    their generators under ``generator`` and ``device_generator``. Both kept early
    stopping's under ``early_stopping``.

    >>> old = {"config": {}, "seed": 0, "epoch": 2, "theta": [0.5], "optimizer": {},
    ...        "rng": {}, "samples_seen": 180, "best_loss": 0.4, "no_improvement": 0,
    ...        "diverged": False}  # the numpy MLP's, before early stopping existed
    >>> new = upgrade_state(old)
    >>> new["model"], new["loop"]["epoch"], new["loop"]["samples_seen"]
    ({'theta': [0.5], 'running_stats': None}, 2, 180)
    >>> upgrade_state(new) is new
    True
    """
    if "loop" in state:
        return state
    es = dict(state.get("early_stopping", {}))
    if "theta" in state:  # the numpy MLP
        model: Any = {"theta": state["theta"], "running_stats": state.get("running_stats")}
        best_theta, best_stats = es.get("best_theta"), es.get("best_stats")
        best = None if best_theta is None else {"theta": best_theta, "running_stats": best_stats}
        counters, rng = state, state["rng"]
    else:
        model, best, counters = state["model"], es.get("best_state"), state["schedule"]
        rng = {"generator": state["generator"], "device": state.get("device_generator")}
    return {
        "trainer": state.get("trainer"),
        "config": state["config"],
        "seed": state["seed"],
        "model": model,
        "optimizer": state["optimizer"],
        "rng": rng,
        "loop": {
            "epoch": state["epoch"],
            **{key: counters[key] for key in ("samples_seen", "best_loss", "no_improvement")},
            "diverged": state["diverged"],
            "best_score": es.get("best_score", -math.inf),
            "es_no_improvement": es.get("es_no_improvement", 0),
            "best_weights": best,
            "stopped_early": es.get("stopped_early", False),
            "stopped_metrics": es.get("_stopped_metrics"),
        },
    }
