"""``MLPTrainer``: the numpy MLP behind the trainer contract.

The contract (see DESIGN.md), close to Ray Tune's ``Trainable``::

    trainer = MLPTrainer(dataset="digits")      # study-level options, data loaded once
    trainer.setup(config, seed)                 # one trial's hyperparameters
    metrics = trainer.step()                    # one epoch -> {"val_accuracy": ..., ...}
    state = trainer.save()                      # picklable
    MLPTrainer(dataset="digits").restore(state) # continues exactly where it stopped

Hyperparameters carry scikit-learn's ``MLPClassifier`` names and defaults, so the report's
grid reads as written. ``learning_rate`` schedules apply to ``sgd`` only, as in
scikit-learn. The L2 penalty is the report's: the risk is
``R(W, b) = (1/N) Σ L(y⁽ⁿ⁾, ŷ⁽ⁿ⁾) + ½ λ ‖W‖²_F`` with ``λ = alpha`` (scikit-learn instead
divides the penalty by the batch size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from trainers.data import Dataset, load_dataset
from trainers.mlp._activations import ACTIVATIONS
from trainers.mlp._network import INITS, NORMALIZATIONS, Network
from trainers.mlp._optim import LBFGS, SGD, Adam, axpy_for

SOLVERS = ("sgd", "adam", "lbfgs")
SCHEDULES = ("constant", "invscaling", "adaptive")

#: Hyperparameters and their defaults (scikit-learn's, plus γ and the initialisation).
DEFAULTS: dict[str, Any] = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "power_t": 0.5,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "tol": 1e-4,
    "n_iter_no_change": 10,
    "activation_gamma": None,
    "init": "auto",
    # The report's §4: aids for deeper networks (all off by default).
    "dropout": 0.0,  # a rate, or one per hidden layer (inverted dropout)
    "normalization": "none",  # batch | layer
    "residual": False,  # skip connections between hidden layers of equal width
    "early_stopping": False,  # scikit-learn's: hold out validation_fraction of training
    "validation_fraction": 0.1,
    # The report's §3.2 architecture search: depth × width, instead of hidden_layer_sizes;
    # or depth with one width per layer (width_1 … width_depth), which a conditional space
    # gives as width_i only when depth >= i.
    "depth": None,
    "width": None,
    **{f"width_{i}": None for i in range(1, 9)},
}

#: The most layers that per-layer widths (``width_1`` …) can describe.
MAX_LAYER_WIDTHS = 8


_blas_threads: dict[str, int] = {}


def limit_blas_threads(n: int) -> None:
    """Limit BLAS to ``n`` threads for the whole process; a no-op when already so."""
    if _blas_threads.get("limit") == n:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    _blas_threads["limit"] = n


def _bad(key: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"hyperparameter {key}={value!r} is invalid; expected {expected}")


def _layer_widths(c: dict[str, Any], config: Mapping[str, Any], given: list[int]) -> tuple:
    """``(width_1, …, width_depth)``; every layer up to ``depth`` needs its width, and no
    width beyond it may be given (a conditional space leaves those out).

    >>> _layer_widths({"depth": 2, "width": None, "width_1": 8, "width_2": 4}, {}, [1, 2])
    (8, 4)
    """
    depth = c["depth"]
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise _bad("depth", depth, "a positive integer (with width_1 … width_depth given)")
    if depth > MAX_LAYER_WIDTHS:
        raise _bad("depth", depth, f"at most {MAX_LAYER_WIDTHS} with per-layer widths")
    if c["width"] is not None:
        raise ValueError("give width (every layer), or width_1 … width_depth, not both")
    beyond = [i for i in given if i > depth]
    if beyond:
        raise _bad(f"width_{beyond[0]}", c[f"width_{beyond[0]}"], f"absent with depth={depth}")
    for i in range(1, int(depth) + 1):
        value = c[f"width_{i}"]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise _bad(f"width_{i}", value, f"a positive integer (a layer of depth={depth})")
    sizes = tuple(int(c[f"width_{i}"]) for i in range(1, int(depth) + 1))
    # A resolved configuration (a saved state) carries hidden_layer_sizes too; they agree.
    if "hidden_layer_sizes" in config and tuple(config["hidden_layer_sizes"]) != sizes:
        raise ValueError("give hidden_layer_sizes, or depth and width_1 … width_depth, not both")
    return sizes


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in and every value checked; raises ValueError naming the key.

    >>> resolve_config({"hidden_layer_sizes": 50})["hidden_layer_sizes"]
    (50,)
    """
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown hyperparameter {unknown[0]!r} for MLPTrainer; expected some of "
            f"{', '.join(DEFAULTS)}"
        )
    c = {**DEFAULTS, **config}
    layer_widths = [i for i in range(1, MAX_LAYER_WIDTHS + 1) if c[f"width_{i}"] is not None]
    if layer_widths:
        c["hidden_layer_sizes"] = _layer_widths(c, config, layer_widths)
    elif c["depth"] is not None or c["width"] is not None:
        depth, width = c["depth"], c["width"]
        for key, value in (("depth", depth), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise _bad(key, value, "a positive integer (with depth and width both given)")
        sizes = (int(width),) * int(depth)
        # A resolved configuration (a saved state) carries both, and they agree.
        if "hidden_layer_sizes" in config and tuple(config["hidden_layer_sizes"]) != sizes:
            raise ValueError("give hidden_layer_sizes, or depth and width, not both")
        c["hidden_layer_sizes"] = sizes
    sizes = c["hidden_layer_sizes"]
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (int(sizes),)
    try:
        sizes = tuple(int(s) for s in sizes)
        ok = all(s >= 1 for s in sizes)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _bad("hidden_layer_sizes", c["hidden_layer_sizes"], "positive layer widths")
    c["hidden_layer_sizes"] = sizes
    if c["activation"] not in ACTIVATIONS:
        raise _bad("activation", c["activation"], f"one of {', '.join(ACTIVATIONS)}")
    if c["solver"] not in SOLVERS:
        raise _bad("solver", c["solver"], f"one of {', '.join(SOLVERS)}")
    if c["learning_rate"] not in SCHEDULES:
        raise _bad("learning_rate", c["learning_rate"], f"one of {', '.join(SCHEDULES)}")
    bs = c["batch_size"]
    if bs != "auto" and not (
        isinstance(bs, (int, np.integer)) and not isinstance(bs, bool) and bs >= 1
    ):
        raise _bad("batch_size", bs, "'auto' or a positive integer")
    checks = {
        "alpha": (lambda v: v >= 0, "a number >= 0"),
        "learning_rate_init": (lambda v: v > 0, "a number > 0"),
        "power_t": (lambda v: v >= 0, "a number >= 0"),
        "momentum": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
        "beta_1": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
        "beta_2": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
        "epsilon": (lambda v: v > 0, "a number > 0"),
        "tol": (lambda v: v >= 0, "a number >= 0"),
    }
    for key, (test, expected) in checks.items():
        value = c[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise _bad(key, value, expected)
        if not (math.isfinite(value) and test(value)):
            raise _bad(key, value, expected)
        c[key] = float(value)
    n_no = c["n_iter_no_change"]
    if isinstance(n_no, bool) or not isinstance(n_no, (int, np.integer)) or n_no < 1:
        raise _bad("n_iter_no_change", n_no, "a positive integer")
    gamma = c["activation_gamma"]
    if gamma is not None and (
        isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not math.isfinite(gamma)
    ):
        raise _bad("activation_gamma", gamma, "a number or null")
    if c["init"] not in INITS:
        raise _bad("init", c["init"], f"one of {', '.join(INITS)}")
    if c["normalization"] not in NORMALIZATIONS:
        raise _bad("normalization", c["normalization"], f"one of {', '.join(NORMALIZATIONS)}")
    rates = c["dropout"]
    if isinstance(rates, (int, float, np.number)) and not isinstance(rates, bool):
        rates = (float(rates),) * len(sizes)
    try:
        rates = tuple(float(p) for p in rates)
        ok = len(rates) == len(sizes) and all(0.0 <= p < 1.0 for p in rates)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _bad(
            "dropout",
            c["dropout"],
            f"a rate in [0, 1), or {len(sizes)} of them (one per hidden layer)",
        )
    c["dropout"] = rates
    if any(rates) and c["solver"] == "lbfgs":
        raise _bad(
            "dropout", c["dropout"], "0 with solver lbfgs (a line search needs a fixed objective)"
        )
    for key in ("residual", "early_stopping", "nesterovs_momentum"):
        if not isinstance(c[key], (bool, np.bool_)):
            raise _bad(key, c[key], "true or false")
        c[key] = bool(c[key])
    vf = c["validation_fraction"]
    if isinstance(vf, bool) or not isinstance(vf, (int, float)) or not 0.0 < vf < 1.0:
        raise _bad("validation_fraction", vf, "a number in (0, 1)")
    return c


class MLPTrainer:
    """Trains one MLP configuration an epoch at a time on a fixed data split.

    Args:
        dataset: a bundled name (``digits``, ``breast_cancer``, ``wine``, ``iris``), a CSV
            or Parquet path, or an already loaded :class:`~trainers.data.Dataset`. A
            regression target (numbers) gets an identity output and the squared error.
        target: the label column of a file.
        dtype: ``"float32"`` (default, faster) or ``"float64"``.
        val_fraction, test_fraction, split_seed: the split (stratified for classes).
        task, preprocess: see :func:`~trainers.data.load_dataset`.
        blas_threads: BLAS threads for this process (None leaves them alone). The
            matrices here are small, and several OpenBLAS threads on a busy machine made
            an epoch up to 40× slower than one thread, so the default is 1.

    >>> t = MLPTrainer("iris")
    >>> t.setup({"hidden_layer_sizes": [8], "solver": "adam"}, seed=0)
    >>> sorted(t.step())
    ['lr', 'train_loss', 'val_accuracy', 'val_loss']
    """

    def __init__(
        self,
        dataset: str | Dataset = "digits",
        target: str | None = None,
        *,
        dtype: str = "float32",
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        task: str = "auto",
        preprocess: bool = True,
        blas_threads: int | None = 1,
    ) -> None:
        if blas_threads is not None:
            limit_blas_threads(blas_threads)
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={dtype!r} is unknown; expected 'float32' or 'float64'")
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(
                dataset,
                target,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                split_seed=split_seed,
                task=task,
                preprocess=preprocess,
            )
        self.data = dataset.astype(dtype)
        self.dtype = np.dtype(dtype)
        self.regression = self.data.task == "regression"
        self.config: dict[str, Any] | None = None

    # -- the contract ---------------------------------------------------------------------

    def setup(self, config: Mapping[str, Any], seed: int) -> None:
        """Build the network and optimiser for ``config``; every draw comes from ``seed``."""
        c = resolve_config(config)
        self.config, self.seed = c, int(seed)
        self.rng = np.random.default_rng(self.seed)
        d = self.data
        self.net = Network(
            d.n_features,
            c["hidden_layer_sizes"],
            d.n_outputs,
            c["activation"],
            gamma=c["activation_gamma"],
            dtype=self.dtype,
            init=c["init"],
            rng=self.rng,
            dropout=c["dropout"],
            normalization=c["normalization"],
            residual=c["residual"],
            loss="squared" if self.regression else "cross_entropy",
        )
        # scikit-learn's early_stopping holds out a part of the training data (stratified
        # for classes) and stops when its score has not improved by tol for
        # n_iter_no_change epochs; the best weights are then kept.
        self.X_fit, self.y_fit = d.X_train, d.y_train
        self.X_hold = self.y_hold = None
        if c["early_stopping"]:
            from sklearn.model_selection import train_test_split

            stratify = None if self.regression else d.y_train
            try:
                self.X_fit, self.X_hold, self.y_fit, self.y_hold = train_test_split(
                    d.X_train, d.y_train, test_size=c["validation_fraction"],
                    random_state=self.seed % 2**32, stratify=stratify,
                )  # fmt: skip
            except ValueError as exc:
                raise _bad("validation_fraction", c["validation_fraction"],
                           f"a part that the training data can give ({exc})") from None  # fmt: skip
        n = len(self.y_fit)
        self.batch_size = min(200, n) if c["batch_size"] == "auto" else min(int(c["batch_size"]), n)
        if c["solver"] == "sgd":
            self.opt: SGD | Adam | LBFGS = SGD(
                self.net.theta, c["learning_rate_init"], c["momentum"], c["nesterovs_momentum"]
            )
        elif c["solver"] == "adam":
            self.opt = Adam(
                self.net.theta, c["learning_rate_init"], c["beta_1"], c["beta_2"], c["epsilon"]
            )
        else:
            self.opt = LBFGS(gtol=c["tol"])
        self.epoch = 0
        self.samples_seen = 0
        self.best_loss = math.inf
        self.no_improvement = 0
        self.diverged = False
        self.best_score = -math.inf  # early stopping: the held-out score and its weights
        self.es_no_improvement = 0
        self.best_theta: np.ndarray | None = None
        self.best_stats: list | None = None
        self.stopped_early = False
        self._stopped_metrics: dict[str, float] | None = None
        self._X = np.empty_like(self.X_fit)
        self._y = np.empty_like(self.y_fit)

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
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            if isinstance(self.opt, LBFGS):
                train_loss = self.opt.iterate(self.net.theta, self._full_objective)
            else:
                train_loss = self._stochastic_epoch()
            self.epoch += 1
            if not math.isfinite(train_loss) or not np.isfinite(self.net.theta).all():
                self.diverged = True
                return self._diverged_metrics(train_loss)
            metrics = {"train_loss": train_loss, **self._validation_metrics()}
        self._end_of_epoch(train_loss)
        metrics["lr"] = getattr(self.opt, "lr", math.nan)
        if self.config["early_stopping"] and self._early_stop():
            metrics = {**self._validation_metrics(), "train_loss": train_loss, "lr": metrics["lr"],
                       "stopped_early": 1.0}  # fmt: skip
            self._stopped_metrics = metrics
        return metrics

    def save(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimiser, generator, counters,
        batch normalisation's running statistics, early stopping's best weights."""
        if self.config is None:
            raise RuntimeError("nothing to save: call setup(config, seed) first")
        return {
            "config": dict(self.config),
            "seed": self.seed,
            "epoch": self.epoch,
            "theta": self.net.theta.copy(),
            "running_stats": self.net.running_stats(),
            "optimizer": self.opt.state(),
            "rng": self.rng.bit_generator.state,
            "samples_seen": self.samples_seen,
            "best_loss": self.best_loss,
            "no_improvement": self.no_improvement,
            "diverged": self.diverged,
            "early_stopping": {
                "best_score": self.best_score,
                "es_no_improvement": self.es_no_improvement,
                "best_theta": self.best_theta,
                "best_stats": self.best_stats,
                "stopped_early": self.stopped_early,
                "_stopped_metrics": self._stopped_metrics,
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`save`'s state; need not follow :meth:`setup`."""
        self.setup(state["config"], state["seed"])
        self.net.theta[...] = state["theta"]
        if "running_stats" in state:
            self.net.load_running_stats(state["running_stats"])
        self.opt.load_state(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.epoch = state["epoch"]
        self.samples_seen = state["samples_seen"]
        self.best_loss = state["best_loss"]
        self.no_improvement = state["no_improvement"]
        self.diverged = state["diverged"]
        for key, value in state.get("early_stopping", {}).items():
            setattr(self, key, value)

    # -- evaluation helpers ------------------------------------------------------------------

    def predict_values(self, X: np.ndarray) -> np.ndarray:
        """A regression's predictions, in the target's units, for preprocessed rows ``X``."""
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            out = self.net.predict_values(np.asarray(X, dtype=self.dtype))[:, 0]
        return out * self.data.y_scale + self.data.y_mean

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ŷ for standardised rows ``X``."""
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            return np.exp(self.net.log_proba(np.asarray(X, dtype=self.dtype)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (0 … C−1) for standardised rows ``X``."""
        return self.predict_proba(X).argmax(axis=1)

    # -- internals -----------------------------------------------------------------------------

    def _penalty(self) -> float:
        """½ λ ‖W‖²_F over the weights of every layer (biases and PReLU slopes excluded)."""
        alpha = self.config["alpha"]  # type: ignore[index]
        if not alpha:
            return 0.0
        w = self.net.weights
        return 0.5 * alpha * float(w @ w)

    def _validation_metrics(self) -> dict[str, float]:
        """The scheduler's view: loss and accuracy, or loss, MSE and R², on validation."""
        d = self.data
        val_loss, score = self.net.evaluate(d.X_val, d.y_val)
        if not self.regression:
            return {"val_loss": val_loss, "val_accuracy": score}
        # The target is standardised: its MSE is 1 − R² of a model, in units of its variance.
        variance = float(np.var(d.y_val)) or 1.0
        return {
            "val_loss": val_loss,
            "val_mse": score * d.y_scale**2,
            "val_r2": 1.0 - score / variance,
        }

    def _early_stop(self) -> bool:
        """scikit-learn's rule: the held-out score (accuracy, or R²) must beat its best by
        ``tol``; after more than ``n_iter_no_change`` epochs without, keep the best weights."""
        c = self.config
        assert c is not None and self.X_hold is not None
        _, score = self.net.evaluate(self.X_hold, self.y_hold)
        if self.regression:
            score = 1.0 - score / (float(np.var(self.y_hold)) or 1.0)
        # As scikit-learn's MLP: the count resets only on a gain of tol; any gain is kept.
        gained = score >= self.best_score + c["tol"]
        self.es_no_improvement = 0 if gained else self.es_no_improvement + 1
        if score > self.best_score:
            self.best_score = score
            self.best_theta, self.best_stats = self.net.theta.copy(), self.net.running_stats()
        if self.es_no_improvement > c["n_iter_no_change"] and self.best_theta is not None:
            self.net.theta[...] = self.best_theta
            self.net.load_running_stats(self.best_stats)  # type: ignore[arg-type]
            self.stopped_early = True
        return self.stopped_early

    def _full_objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """R(W, b) and its gradient on the whole training set (for L-BFGS)."""
        net, alpha = self.net, self.config["alpha"]  # type: ignore[index]
        if theta is not net.theta:
            net.theta[...] = theta
        loss = net.loss_and_grad(self.X_fit, self.y_fit)
        if alpha:
            net.grad[: net.n_weights] += alpha * net.weights
        return loss + self._penalty(), net.grad

    def _stochastic_epoch(self) -> float:
        """One pass over shuffled mini-batches; returns the epoch's mean R(W, b)."""
        net, opt = self.net, self.opt
        alpha = self.config["alpha"]  # type: ignore[index]
        n, bs = len(self.y_fit), self.batch_size
        order = self.rng.permutation(n)
        X, y = self._X, self._y
        np.take(self.X_fit, order, axis=0, out=X)
        np.take(self.y_fit, order, axis=0, out=y)
        grad_w, w = net.grad[: net.n_weights], net.weights
        axpy = axpy_for(w)
        total = 0.0
        for start in range(0, n, bs):
            xb, yb = X[start : start + bs], y[start : start + bs]
            loss = net.loss_and_grad(xb, yb)
            if not math.isfinite(loss):
                return loss
            total += loss * len(yb)
            if alpha:
                axpy(w, grad_w, a=alpha)  # ∂/∂W of ½λ‖W‖²: the report's W ← W − α(… + λW)
            opt.step(net.theta, net.grad)
        self.samples_seen += n
        return total / n + self._penalty()

    def _end_of_epoch(self, train_loss: float) -> None:
        """scikit-learn's schedules for sgd: invscaling decay, adaptive division by 5."""
        c = self.config
        assert c is not None
        if train_loss > self.best_loss - c["tol"]:
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        self.best_loss = min(self.best_loss, train_loss)
        if not isinstance(self.opt, SGD):
            return
        if c["learning_rate"] == "invscaling":
            self.opt.lr = c["learning_rate_init"] / (self.samples_seen + 1) ** c["power_t"]
        elif c["learning_rate"] == "adaptive" and self.no_improvement > c["n_iter_no_change"]:
            if self.opt.lr > 1e-6:
                self.opt.lr /= 5.0
            self.no_improvement = 0

    def _diverged_metrics(self, train_loss: float) -> dict[str, float]:
        nan = math.nan
        scores = {"val_mse": nan, "val_r2": nan} if self.regression else {"val_accuracy": nan}
        return {
            "train_loss": train_loss if not math.isfinite(train_loss) else nan,
            "val_loss": nan,
            **scores,
            "lr": getattr(self.opt, "lr", nan),
            "diverged": 1.0,
        }
