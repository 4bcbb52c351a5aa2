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
from trainers.mlp._network import Network
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
}


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
    if c["init"] not in ("auto", "glorot", "he"):
        raise _bad("init", c["init"], "'auto', 'glorot' or 'he'")
    c["nesterovs_momentum"] = bool(c["nesterovs_momentum"])
    return c


class MLPTrainer:
    """Trains one MLP configuration an epoch at a time on a fixed data split.

    Args:
        dataset: a bundled name (``digits``, ``breast_cancer``, ``wine``, ``iris``), a CSV
            or Parquet path, or an already loaded :class:`~trainers.data.Dataset`.
        target: the label column of a file.
        dtype: ``"float32"`` (default, faster) or ``"float64"``.
        val_fraction, test_fraction, split_seed: the stratified split.
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
            )
        self.data = dataset.astype(dtype)
        self.dtype = np.dtype(dtype)
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
            d.n_classes,
            c["activation"],
            gamma=c["activation_gamma"],
            dtype=self.dtype,
            init=c["init"],
            rng=self.rng,
        )
        n = len(d.y_train)
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
        self._X = np.empty_like(d.X_train)
        self._y = np.empty_like(d.y_train)

    def step(self) -> dict[str, float]:
        """Train one epoch; returns ``train_loss``, ``val_loss``, ``val_accuracy`` and ``lr``.

        A diverged run (NaN or infinite loss) returns NaN metrics with ``diverged = 1``
        instead of raising, and stays diverged.
        """
        if self.config is None:
            raise RuntimeError("call setup(config, seed) or restore(state) before step()")
        if self.diverged:
            return self._diverged_metrics(math.nan)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            if isinstance(self.opt, LBFGS):
                train_loss = self.opt.iterate(self.net.theta, self._full_objective)
            else:
                train_loss = self._stochastic_epoch()
            self.epoch += 1
            if not math.isfinite(train_loss) or not np.isfinite(self.net.theta).all():
                self.diverged = True
                return self._diverged_metrics(train_loss)
            val_loss, val_acc = self.net.evaluate(self.data.X_val, self.data.y_val)
        self._end_of_epoch(train_loss)
        lr = getattr(self.opt, "lr", math.nan)
        return {"train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr}

    def save(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimiser, generator, counters."""
        if self.config is None:
            raise RuntimeError("nothing to save: call setup(config, seed) first")
        return {
            "config": dict(self.config),
            "seed": self.seed,
            "epoch": self.epoch,
            "theta": self.net.theta.copy(),
            "optimizer": self.opt.state(),
            "rng": self.rng.bit_generator.state,
            "samples_seen": self.samples_seen,
            "best_loss": self.best_loss,
            "no_improvement": self.no_improvement,
            "diverged": self.diverged,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`save`'s state; need not follow :meth:`setup`."""
        self.setup(state["config"], state["seed"])
        self.net.theta[...] = state["theta"]
        self.opt.load_state(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.epoch = state["epoch"]
        self.samples_seen = state["samples_seen"]
        self.best_loss = state["best_loss"]
        self.no_improvement = state["no_improvement"]
        self.diverged = state["diverged"]

    # -- evaluation helpers ------------------------------------------------------------------

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

    def _full_objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """R(W, b) and its gradient on the whole training set (for L-BFGS)."""
        net, alpha = self.net, self.config["alpha"]  # type: ignore[index]
        if theta is not net.theta:
            net.theta[...] = theta
        loss = net.loss_and_grad(self.data.X_train, self.data.y_train)
        if alpha:
            net.grad[: net.n_weights] += alpha * net.weights
        return loss + self._penalty(), net.grad

    def _stochastic_epoch(self) -> float:
        """One pass over shuffled mini-batches; returns the epoch's mean R(W, b)."""
        d, net, opt = self.data, self.net, self.opt
        alpha = self.config["alpha"]  # type: ignore[index]
        n, bs = len(d.y_train), self.batch_size
        order = self.rng.permutation(n)
        X, y = self._X, self._y
        np.take(d.X_train, order, axis=0, out=X)
        np.take(d.y_train, order, out=y)
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
        return {
            "train_loss": train_loss if not math.isfinite(train_loss) else nan,
            "val_loss": nan,
            "val_accuracy": nan,
            "lr": getattr(self.opt, "lr", nan),
            "diverged": 1.0,
        }
