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

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from trainers._checks import batch_size, check_dtype
from trainers._epochs import EpochTrainer
from trainers.data import Dataset
from trainers.mlp._config import resolve_config
from trainers.mlp._network import Network
from trainers.mlp._optim import LBFGS, SGD, Adam, axpy_for

_blas_threads: dict[str, int] = {}


def limit_blas_threads(n: int) -> None:
    """Limit BLAS to ``n`` threads for the whole process; a no-op when already so."""
    if _blas_threads.get("limit") == n:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    _blas_threads["limit"] = n


class MLPTrainer(EpochTrainer):
    """Trains one MLP configuration an epoch at a time on a fixed data split; the epoch
    loop, early stopping and the saved state are :class:`~trainers._epochs.EpochTrainer`'s.

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

    name = "MLPTrainer"

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
        check_dtype(dtype)
        self._load(dataset, target, dtype, val_fraction=val_fraction, test_fraction=test_fraction,
                   split_seed=split_seed, task=task, preprocess=preprocess)  # fmt: skip
        self.dtype = np.dtype(dtype)
        self.X_val, self.y_val = self.data.X_val, self.data.y_val

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
        self.X_fit, self.y_fit, self.X_hold, self.y_hold = self._hold_out()
        self.batch_size = batch_size(c["batch_size"], len(self.y_fit))
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
        self._start_loop()
        self._X = np.empty_like(self.X_fit)
        self._y = np.empty_like(self.y_fit)

    @property
    def best_theta(self) -> np.ndarray | None:
        """Early stopping's best weights θ so far (None before its first epoch)."""
        return None if self.best_weights is None else self.best_weights["theta"]

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

    # -- what the epoch loop asks -------------------------------------------------------------

    def _numerics(self) -> contextlib.AbstractContextManager[Any]:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")

    def _train_epoch(self) -> float:
        if isinstance(self.opt, LBFGS):
            return self.opt.iterate(self.net.theta, self._full_objective)
        return self._stochastic_epoch()

    def _evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return self.net.evaluate(X, y)

    def _finite(self) -> bool:
        return bool(np.isfinite(self.net.theta).all())

    def _lr(self) -> float:
        return getattr(self.opt, "lr", math.nan)

    def _sgd(self) -> bool:
        return isinstance(self.opt, SGD)

    def _set_lr(self, old: float, new: float) -> None:
        self.opt.lr = new  # type: ignore[union-attr]  # the velocity v holds η already

    def _weights(self) -> dict[str, Any]:
        """θ and batch normalisation's running statistics, copied."""
        return {"theta": self.net.theta.copy(), "running_stats": self.net.running_stats()}

    def _load_weights(self, weights: Mapping[str, Any]) -> None:
        self.net.theta[...] = weights["theta"]
        if weights["running_stats"] is not None:  # None in a state saved before they were
            self.net.load_running_stats(weights["running_stats"])

    def _optimizer_state(self) -> dict[str, Any]:
        return self.opt.state()

    def _load_optimizer_state(self, state: dict[str, Any]) -> None:
        self.opt.load_state(state)

    def _rng_state(self) -> dict[str, Any]:
        return self.rng.bit_generator.state

    def _load_rng_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state

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
