"""``TorchTrainer``: the PyTorch trainers' base (the MLP's and the CNN's).

What a PyTorch model needs beyond the shared epoch loop (:class:`~trainers._epochs.
EpochTrainer`): the device (CUDA when available), the data as tensors on it, the
optimisers (``torch.optim``'s SGD, Adam and L-BFGS, the L2 penalty ½λ‖W‖²_F as the
weights' ``weight_decay``), one epoch of mini-batches or one L-BFGS iteration,
evaluation, and the states of the model, the optimiser and the generators on the CPU.

Every random draw comes from a ``torch.Generator`` the trainer owns, seeded with the
trial's seed (and one on the device for dropout masks drawn there); the global RNG is
never touched. A subclass builds the ``nn.Module`` (see :class:`TorchTrainer`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from trainers._checks import batch_size, check_dtype
from trainers._epochs import EpochTrainer
from trainers.data import Dataset
from trainers.mlp import DEFAULTS


def _to_cpu(value: Any) -> Any:
    """A deep copy with every tensor on the CPU (a state that pickles anywhere)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _check_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is unknown; expected e.g. 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} is not available: PyTorch sees no CUDA device")
    return dev


class TorchTrainer(EpochTrainer):
    """What the PyTorch trainers share: data on the device, the optimisers, one epoch's
    training and evaluation, and the states that the epoch loop saves and restores.

    A subclass sets ``name``, and implements ``_resolve(config)`` (defaults filled in,
    values checked) and ``_build(config)`` (the initialised ``nn.Module``, with a
    ``penalised()`` list of the weights ``W`` and a ``generator`` attribute for dropout),
    and may refuse a dataset with ``_check_data`` and reshape the inputs with ``_inputs``.

    Args:
        dataset: a bundled name (``digits``, ``breast_cancer``, ``wine``, ``iris``), a CSV
            or Parquet path, or an already loaded :class:`~trainers.data.Dataset`.
        target: the label column of a file.
        dtype: ``"float32"`` (default) or ``"float64"``.
        val_fraction, test_fraction, split_seed: the split (stratified for classes).
        threads: ``torch.set_num_threads`` for the process (None leaves it); the tensors
            here are small, and one thread per trial is what a parallel search wants.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; default CUDA when available.
        task, preprocess: see :func:`~trainers.data.load_dataset`.
    """

    name: ClassVar[str] = "TorchTrainer"

    def __init__(
        self,
        dataset: str | Dataset = "digits",
        target: str | None = None,
        *,
        dtype: str = "float32",
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        threads: int | None = 1,
        device: str | torch.device | None = None,
        task: str = "auto",
        preprocess: bool = True,
    ) -> None:
        check_dtype(dtype)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):  # fmt: skip
            raise ValueError(f"threads={threads!r} is invalid; expected a positive integer or None")
        self.device = _check_device(device)
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        self._load(dataset, target, dtype, val_fraction=val_fraction, test_fraction=test_fraction,
                   split_seed=split_seed, task=task, preprocess=preprocess)  # fmt: skip
        self.dtype = getattr(torch, dtype)
        self._check_data(self.data)
        self.X_val, self.y_val = self._tensors(self.data.X_val, self.data.y_val)

    def setup(self, config: Mapping[str, Any], seed: int) -> None:
        """Build the network and optimiser for ``config``; every draw comes from ``seed``."""
        self.config = None  # until the trial is fully set up
        c = self._resolve(config)
        try:
            self._setup(c, int(seed))
        except BaseException:
            self.config = None
            raise

    def _setup(self, c: dict[str, Any], seed: int) -> None:
        self.config, self.seed = c, seed
        self.gen = torch.Generator().manual_seed(self.seed)
        # Dropout masks are drawn where the activations live; on the CPU that is ``gen``.
        self.device_gen = self.gen
        if self.device.type != "cpu":
            self.device_gen = torch.Generator(self.device).manual_seed(self.seed)
        self.model = self._build(c)
        self.model.generator = self.device_gen
        X_fit, y_fit, X_hold, y_hold = self._hold_out()
        self.X_hold = self.y_hold = None
        if X_hold is not None:
            self.X_hold, self.y_hold = self._tensors(X_hold, y_hold)
        self.X_fit, self.y_fit = self._tensors(X_fit, y_fit)
        self.batch_size = batch_size(c["batch_size"], len(y_fit))
        self.opt = self._optimizer(c)
        self._start_loop()

    @property
    def best_state(self) -> dict[str, torch.Tensor] | None:
        """Early stopping's best ``state_dict`` so far (None before its first epoch)."""
        return self.best_weights

    # -- evaluation helpers -----------------------------------------------------------------------

    @torch.no_grad()
    def _outputs(self, X: np.ndarray) -> torch.Tensor:
        self.model.eval()
        x = torch.as_tensor(self._inputs(np.asarray(X, dtype=self.data.X_train.dtype)))
        return self.model(x.to(self.device))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ŷ for standardised rows ``X``."""
        return torch.softmax(self._outputs(X), dim=1).cpu().numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (0 … C−1) for standardised rows ``X``."""
        return self._outputs(X).argmax(dim=1).cpu().numpy()

    def predict_values(self, X: np.ndarray) -> np.ndarray:
        """A regression's predictions, in the target's units, for preprocessed rows ``X``."""
        out = self._outputs(X)[:, 0].cpu().numpy()
        return out * self.data.y_scale + self.data.y_mean

    # -- what a subclass builds ------------------------------------------------------------------

    def _resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, c: dict[str, Any]) -> nn.Module:
        raise NotImplementedError

    def _check_data(self, data: Dataset) -> None:
        """Refuse a dataset this model cannot take (ValueError)."""

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        """Rows as the model takes them (the MLP: as they are)."""
        return X

    # -- what the epoch loop asks -------------------------------------------------------------

    def _train_epoch(self) -> float:
        self.model.train()
        if isinstance(self.opt, torch.optim.LBFGS):
            return self._lbfgs_epoch()
        return self._stochastic_epoch()

    def _sgd(self) -> bool:
        return isinstance(self.opt, torch.optim.SGD)

    def _weights(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _load_weights(self, weights: Mapping[str, torch.Tensor]) -> None:
        self.model.load_state_dict(weights)

    def _portable(self, weights: Any) -> Any:
        return _to_cpu(weights)

    def _local(self, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in weights.items()}

    def _optimizer_state(self) -> dict[str, Any]:
        return _to_cpu(self.opt.state_dict())

    def _load_optimizer_state(self, state: dict[str, Any]) -> None:
        # load_state_dict keeps CPU tensors of the right dtype as they are: copy, so that
        # training on never changes the saved state.
        self.opt.load_state_dict(_to_cpu(state))

    def _rng_state(self) -> dict[str, torch.Tensor | None]:
        device = None if self.device_gen is self.gen else self.device_gen.get_state()
        return {"generator": self.gen.get_state(), "device": device}

    def _load_rng_state(self, state: Mapping[str, torch.Tensor | None]) -> None:
        self.gen.set_state(state["generator"])  # type: ignore[arg-type]
        if state.get("device") is not None:
            self.device_gen.set_state(state["device"])  # type: ignore[arg-type]

    def _get(self, key: str) -> Any:
        """A setting of the resolved config, or the numpy trainer's default (a model that
        does not offer it, such as the CNN's schedules, runs with the default)."""
        return self.config.get(key, DEFAULTS[key])  # type: ignore[union-attr]

    # -- internals ------------------------------------------------------------------------------

    def _factory(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "device": self.device}

    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(np.ascontiguousarray(self._inputs(X)), dtype=self.dtype)
        if self.regression:
            t = torch.as_tensor(np.asarray(y).reshape(len(y), -1), dtype=self.dtype)
        else:
            t = torch.as_tensor(np.asarray(y), dtype=torch.int64)
        return x.to(self.device), t.to(self.device)

    def _optimizer(self, c: dict[str, Any]) -> torch.optim.Optimizer:
        """SGD, Adam or L-BFGS; ``weight_decay`` λ on the weights' group adds ∂(½λ‖W‖²)/∂W."""
        lr = c["learning_rate_init"]
        if c["solver"] == "lbfgs":
            # One iteration per epoch, as the numpy trainer; converged at max|∇R| ≤ tol.
            # LBFGS takes one parameter group, so the penalty is in its objective instead.
            return torch.optim.LBFGS(
                self.model.parameters(), lr=1.0, max_iter=1, max_eval=25,
                tolerance_grad=self._get("tol"), line_search_fn="strong_wolfe",
            )  # fmt: skip
        penalised = {id(p) for p in self.model.penalised()}
        groups = [
            {"params": self.model.penalised(), "weight_decay": c["alpha"]},
            {"params": [p for p in self.model.parameters() if id(p) not in penalised],
             "weight_decay": 0.0},
        ]  # fmt: skip
        groups = [g for g in groups if g["params"]]
        # The fused kernels: one call per step instead of a Python loop over tensors (on
        # the CPU, a quarter of a small network's epoch went to the optimiser's loop).
        fused = self.device.type in ("cpu", "cuda")
        if c["solver"] == "sgd":
            mu = c["momentum"]
            nesterov = bool(mu) and self._get("nesterovs_momentum")
            return torch.optim.SGD(groups, lr=lr, momentum=mu, nesterov=nesterov, fused=fused)
        betas = (self._get("beta_1"), self._get("beta_2"))
        return torch.optim.Adam(groups, lr=lr, betas=betas, eps=self._get("epsilon"), fused=fused)

    def _loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of softmax(outputs), or mean ½‖ŷ − y‖² for a regression."""
        if self.regression:
            return 0.5 * (outputs - y).square().sum(dim=1).mean()
        return F.cross_entropy(outputs, y)

    def _penalty_tensor(self) -> torch.Tensor:
        """½ λ ‖W‖²_F over the weights of every layer (biases and slopes excluded)."""
        alpha = self.config["alpha"]  # type: ignore[index]
        return 0.5 * alpha * sum(w.square().sum() for w in self.model.penalised())  # type: ignore[return-value]

    def _penalty(self) -> float:
        if not self.config["alpha"]:  # type: ignore[index]
            return 0.0
        with torch.no_grad():
            return float(self._penalty_tensor())

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled mini-batches of the training part (the permutation from ``gen``)."""
        n, bs = len(self.y_fit), self.batch_size
        order = torch.randperm(n, generator=self.gen).to(self.device)
        X, y = self.X_fit[order], self.y_fit[order]
        for start in range(0, n, bs):
            yield X[start : start + bs], y[start : start + bs]

    def _stochastic_epoch(self) -> float:
        """One pass over shuffled mini-batches; returns the epoch's mean R(W, b)."""
        model, opt = self.model, self.opt
        losses = []
        for xb, yb in self._batches():
            opt.zero_grad()
            loss = self._loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append((loss.detach(), len(yb)))
        n = len(self.y_fit)
        self.samples_seen += n
        # Summed in float64 after the loop: one synchronisation per epoch on a GPU.
        return sum(float(loss) * size for loss, size in losses) / n + self._penalty()

    def _lbfgs_epoch(self) -> float:
        """One L-BFGS iteration on the whole training part; returns R(W, b) after it."""

        def objective() -> torch.Tensor:
            self.opt.zero_grad()
            risk = self._loss(self.model(self.X_fit), self.y_fit) + self._penalty_tensor()
            risk.backward()
            return risk

        self.opt.step(objective)  # type: ignore[arg-type]
        # LBFGS.step returns the objective before its update; the numpy trainer reports it
        # after. One more evaluation, leaving batch normalisation's running statistics as
        # the line search left them (as the numpy trainer's).
        with torch.no_grad():
            saved = [b.clone() for b in self.model.buffers()]
            risk = self._loss(self.model(self.X_fit), self.y_fit) + self._penalty_tensor()
            for buffer, value in zip(self.model.buffers(), saved, strict=True):
                buffer.copy_(value)
        return float(risk)

    def _finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    def _lr(self) -> float:
        return (
            math.nan if isinstance(self.opt, torch.optim.LBFGS) else self.opt.param_groups[0]["lr"]
        )

    @torch.no_grad()
    def _evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Classification: mean cross-entropy and accuracy; regression: mean ½‖ŷ − y‖²
        and the mean squared error. In evaluation mode (no dropout, running statistics)."""
        self.model.eval()
        try:
            out = self.model(X)
            loss = float(self._loss(out, y))
            if self.regression:
                return loss, float((out - y).square().mean())
            return loss, int((out.argmax(dim=1) == y).sum()) / len(y)
        finally:
            self.model.train()

    def _set_lr(self, old: float, new: float) -> None:
        """η_old → η_new, keeping scikit-learn's velocity v = −η·b: b ← b·η_old/η_new."""
        for group in self.opt.param_groups:
            group["lr"] = new
            for p in group["params"]:
                buf = self.opt.state.get(p, {}).get("momentum_buffer")
                if buf is not None:
                    buf.mul_(old / new)
