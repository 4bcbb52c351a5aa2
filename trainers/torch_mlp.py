"""``TorchMLPTrainer``: the report's MLP in PyTorch, behind the same trainer contract.

The same network, hyperparameters and defaults as the numpy
:class:`~trainers.mlp.MLPTrainer` (scikit-learn's ``MLPClassifier`` names, checked by
:func:`~trainers.mlp.resolve_config`), written with ``torch.nn`` and ``torch.optim``: a
second implementation to compare against (the report's §4.3 comparison, in
``bench/trainer_speed.py``) and a way onto a GPU. What carries over exactly:

* the risk ``R(W, b) = (1/N) Σ L(y⁽ⁿ⁾, ŷ⁽ⁿ⁾) + ½ λ ‖W‖²_F`` with ``λ = alpha``, the
  penalty on the weights only (not biases, PReLU slopes or normalisation parameters):
  the optimisers' ``weight_decay`` on the weights' parameter group adds ``λW`` to the
  gradient, as the numpy trainer does;
* softmax with cross-entropy (or, for a numeric target, the identity with ``½‖ŷ − y‖²``);
* the initialisations with the numpy trainer's bounds (Glorot uniform with scikit-learn's
  factor 2 for logistic, He, LeCun, the normal variants, orthogonal);
* scikit-learn's ``learning_rate`` schedules for ``sgd`` (``invscaling``, ``adaptive``),
  and its velocity ``v ← μv − ηg``: ``torch.optim.SGD`` keeps ``b`` with ``v = −ηb``, so
  when the schedule changes η its buffer is rescaled by η_old/η_new;
* the §4 aids: dropout, batch or layer normalisation, residual connections, and
  scikit-learn's ``early_stopping``.

Started from the numpy network's weights on full batches, the two trainers' curves agree
to rounding (1e-12 in float64) for sgd. ``torch.optim.Adam`` adds ε to ``√v̂`` after the
bias correction, where scikit-learn adds it to ``√v`` before (an effective
ε·√(1−β₂ᵗ)), so adam's curves agree to about 1e-7. ``lbfgs`` is ``torch.optim.LBFGS``,
one iteration per epoch as in the numpy trainer, with a strong Wolfe line search: the
curves agree while both accept the first trial step, and part when torch's search
extrapolates where the numpy trainer's Armijo backtracking stops.

Every random draw (initial weights, shuffling, dropout masks) comes from a
``torch.Generator`` that the trainer owns, seeded with the trial's seed; the global RNG is
never touched. :meth:`~TorchTrainer.save` holds the model's and the optimiser's
``state_dict``, the generator state, the schedule and the counters, all on the CPU, so
that a restored trainer continues bit for bit as an uninterrupted one (on the CPU).
"""

from __future__ import annotations

try:
    import torch
except ImportError:  # one line for the CLI's `--trainer trainers.torch_mlp:TorchMLPTrainer`
    raise ImportError("trainers.torch_mlp needs PyTorch: pip install -e '.[torch]'") from None

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import skip_init

from trainers.data import Dataset, load_dataset
from trainers.mlp import DEFAULTS, resolve_config
from trainers.mlp._activations import DEFAULT_GAMMA

__all__ = [
    "MLP",
    "TORCH_ACTIVATIONS",
    "TorchMLPTrainer",
    "TorchTrainer",
    "init_layer",
    "make_activation",
]

#: Activations that get He initialisation under ``init="auto"`` (as the numpy network).
RELU_FAMILY = frozenset({"relu", "leaky_relu", "prelu", "elu"})

#: The hyperparameters this trainer implements; any other key of the numpy trainer's
#: DEFAULTS (one added there later) is refused unless left at its default.
HANDLED = frozenset(
    {
        "hidden_layer_sizes", "activation", "solver", "alpha", "batch_size",
        "learning_rate", "learning_rate_init", "power_t", "momentum", "nesterovs_momentum",
        "beta_1", "beta_2", "epsilon", "tol", "n_iter_no_change", "activation_gamma", "init",
        "dropout", "normalization", "residual", "early_stopping", "validation_fraction",
        "depth", "width", *(f"width_{i}" for i in range(1, 9)),
    }
)  # fmt: skip


def bad_value(key: str, value: Any, expected: str) -> ValueError:
    """The one message shape of a rejected hyperparameter (as the numpy trainer's)."""
    return ValueError(f"hyperparameter {key}={value!r} is invalid; expected {expected}")


# -- layers -------------------------------------------------------------------------------------


class HardLogistic(nn.Module):
    """hard-logistic(z) = max(min(0.25 z + 0.5, 1), 0) (torch's Hardsigmoid is z/6 + ½)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.25 * z + 0.5, 0.0, 1.0)


#: The activations of the report's §1.3.2 (every name of ``trainers.mlp.ACTIVATIONS``),
#: each built from γ (None: the numpy trainer's default), the layer's width and the
#: parameters' dtype and device.
TORCH_ACTIVATIONS: dict[str, Callable[[float | None, int, Mapping[str, Any]], nn.Module]] = {
    "identity": lambda g, w, f: nn.Identity(),
    "logistic": lambda g, w, f: nn.Sigmoid(),
    "tanh": lambda g, w, f: nn.Tanh(),
    "hard_logistic": lambda g, w, f: HardLogistic(),
    "hard_tanh": lambda g, w, f: nn.Hardtanh(),
    "relu": lambda g, w, f: nn.ReLU(),
    "leaky_relu": lambda g, w, f: nn.LeakyReLU(_gamma("leaky_relu", g)),
    "prelu": lambda g, w, f: nn.PReLU(w, init=_gamma("prelu", g), **f),  # a slope per unit
    "elu": lambda g, w, f: nn.ELU(alpha=_gamma("elu", g)),
    "softplus": lambda g, w, f: nn.Softplus(),
}


def _gamma(name: str, gamma: float | None) -> float:
    return DEFAULT_GAMMA[name] if gamma is None else float(gamma)


def make_activation(
    name: str, gamma: float | None = None, width: int = 1, factory: Mapping[str, Any] | None = None
) -> nn.Module:
    """The activation called ``name``; ``gamma`` sets γ of leaky ReLU, ELU and PReLU's
    initial slopes (one per unit of a layer ``width`` wide).

    >>> make_activation("elu", 0.5)
    ELU(alpha=0.5)
    """
    if name not in TORCH_ACTIVATIONS:
        raise bad_value("activation", name, f"one of {', '.join(TORCH_ACTIVATIONS)}")
    return TORCH_ACTIVATIONS[name](gamma, width, factory or {})


class BatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that, like the numpy network, accepts a training batch of one row
    (a last short batch): ẑ = 0, so the output is β, and the gradients of the layers below
    and of γ are zero (zero, not absent: the optimiser still applies momentum and the
    L2 penalty to them, as the numpy trainer does)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and x.shape[0] == 1):
            return super().forward(x)
        with torch.no_grad():
            m = self.momentum
            self.running_mean.mul_(1.0 - m).add_(x[0], alpha=m)
            self.running_var.mul_(1.0 - m)  # the variance of one row is 0
            self.num_batches_tracked.add_(1)
        return x * 0.0 * self.weight + self.bias


def dropout(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout with the trainer's generator (``F.dropout`` takes none): a unit is
    kept where u ≥ p, u ~ U[0, 1), and scaled by 1/(1 − p), as in the numpy network."""
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x * (u >= p) * (1.0 / (1.0 - p))


def init_layer(
    weight: torch.Tensor,
    bias: torch.Tensor,
    scheme: str,
    activation: str,
    last: bool,
    generator: torch.Generator,
) -> None:
    """Initialise one layer as the numpy network does (its ``_initialise``).

    Glorot uniform ``U(±√(f/(fan_in+fan_out)))`` with scikit-learn's ``f = 2`` for
    logistic and 6 otherwise, for weights and biases; for hidden layers He
    ``U(±√(6/fan_in))``, He normal ``N(0, 2/fan_in)``, LeCun ``U(±√(3/fan_in))`` or Glorot
    normal ``N(0, 2/(fan_in+fan_out))`` with zero biases; or orthogonal (gain √2 for the
    ReLU family's hidden layers). ``auto`` is He for the ReLU family, else Glorot; the
    output layer is Glorot unless orthogonal. For a convolution the fans count the
    kernel's receptive field, as ``torch.nn.init`` does. Draws are float64 on the CPU
    from ``generator``, so float32 and float64 and every device start alike.
    """
    shape = tuple(weight.shape)
    receptive = math.prod(shape[2:])
    fan_out, fan_in = shape[0] * receptive, shape[1] * receptive
    if scheme == "auto":
        scheme = "he" if activation in RELU_FAMILY else "glorot"
    f64: dict[str, Any] = {"generator": generator, "dtype": torch.float64}

    def uniform(size: tuple[int, ...], bound: float) -> torch.Tensor:
        return (torch.rand(size, **f64) * 2.0 - 1.0) * bound

    b = torch.zeros(bias.shape, dtype=torch.float64)
    if scheme == "orthogonal":
        rows, cols = shape[0], math.prod(shape[1:])
        gain = math.sqrt(2.0) if activation in RELU_FAMILY and not last else 1.0
        q, r = torch.linalg.qr(torch.randn(max(rows, cols), min(rows, cols), **f64))
        q *= torch.sign(torch.diagonal(r))
        w = gain * (q if rows >= cols else q.T)[:rows, :cols]
    elif not last and scheme == "he":
        w = uniform(shape, math.sqrt(6.0 / fan_in))
    elif not last and scheme == "he_normal":
        w = torch.randn(shape, **f64) * math.sqrt(2.0 / fan_in)
    elif not last and scheme == "lecun":
        w = uniform(shape, math.sqrt(3.0 / fan_in))
    elif not last and scheme == "glorot_normal":
        w = torch.randn(shape, **f64) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        bound = math.sqrt((2.0 if activation == "logistic" else 6.0) / (fan_in + fan_out))
        w = uniform(shape, bound)
        b = uniform(tuple(bias.shape), bound)
    with torch.no_grad():
        weight.copy_(w.reshape(shape))
        bias.copy_(b)


class MLP(nn.Module):
    """The feed-forward network of the report's §1.3.3 with §4's optional aids.

    A hidden layer computes ``Z = A Wᵀ + b``, normalises it (batch or layer), applies the
    activation, drops out (inverted) and adds its input when ``residual`` and the widths
    match; the output layer is affine (softmax is in the loss).

    Args:
        sizes: ``(M_0, M_1, …, M_L)``: inputs, hidden widths, outputs.
        activation, gamma: the hidden activation and its γ.
        rates: the dropout rate of each hidden layer.
        normalization: ``none``, ``batch`` or ``layer``.
        residual: skip connections between consecutive hidden layers of equal width.
        factory: ``dtype`` and ``device`` of the parameters.
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        activation: str,
        gamma: float | None,
        rates: tuple[float, ...],
        normalization: str,
        residual: bool,
        factory: Mapping[str, Any],
    ) -> None:
        super().__init__()
        hidden = sizes[1:-1]
        # skip_init: nn.Linear's own initialisation would draw from the global RNG.
        self.linears = nn.ModuleList(
            skip_init(nn.Linear, sizes[i], sizes[i + 1], **factory) for i in range(len(sizes) - 1)
        )
        self.acts = nn.ModuleList(make_activation(activation, gamma, w, factory) for w in hidden)
        norm = {"batch": BatchNorm, "layer": nn.LayerNorm}.get(normalization)
        self.norms = nn.ModuleList(nn.Identity() if norm is None else norm(w, eps=1e-5, **factory)
                                   for w in hidden)  # fmt: skip
        self.rates = tuple(rates)
        self.residual = tuple(
            residual and i > 0 and hidden[i] == hidden[i - 1] for i in range(len(hidden))
        )
        self.generator: torch.Generator | None = None  # the trainer's, for dropout masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x
        for i in range(len(self.acts)):
            f = self.acts[i](self.norms[i](self.linears[i](a)))
            if self.rates[i] and self.training:
                f = dropout(f, self.rates[i], self.generator)  # type: ignore[arg-type]
            a = f + a if self.residual[i] else f
        return self.linears[-1](a)

    def initialise(self, init: str, activation: str, generator: torch.Generator) -> None:
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            init_layer(layer.weight, layer.bias, init, activation, i == last, generator)

    def penalised(self) -> list[nn.Parameter]:
        """The weights ``W`` of every layer: what ``½λ‖W‖²_F`` acts on."""
        return [layer.weight for layer in self.linears]


# -- the trainer ---------------------------------------------------------------------------------


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


class TorchTrainer:
    """What the PyTorch trainers share: data on the device, the epoch loop, the optimisers,
    scikit-learn's schedules and early stopping, divergence, and exact save/restore.

    A subclass sets ``name``, and implements ``_resolve(config)`` (defaults filled in,
    values checked) and ``_build(config)`` (the initialised ``nn.Module``), and may reshape
    the inputs with ``_inputs``.

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
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={dtype!r} is unknown; expected 'float32' or 'float64'")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):  # fmt: skip
            raise ValueError(f"threads={threads!r} is invalid; expected a positive integer or None")
        self.device = _check_device(device)
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(
                dataset, target, val_fraction=val_fraction, test_fraction=test_fraction,
                split_seed=split_seed, task=task, preprocess=preprocess,
            )  # fmt: skip
        self.data = dataset.astype(dtype)
        self.dtype = getattr(torch, dtype)
        self.regression = self.data.task == "regression"
        self._check_data(self.data)
        self.X_val, self.y_val = self._tensors(self.data.X_val, self.data.y_val)
        self.config: dict[str, Any] | None = None

    # -- the contract -------------------------------------------------------------------------

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
        d = self.data
        X_fit, y_fit = d.X_train, d.y_train
        self.hold: tuple[torch.Tensor, torch.Tensor, np.ndarray] | None = None
        if self._get("early_stopping"):
            # scikit-learn's early_stopping, exactly as the numpy trainer holds it out.
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
            self.hold = (*self._tensors(X_hold, y_hold), y_hold)
        self.X_fit, self.y_fit = self._tensors(X_fit, y_fit)
        n = len(y_fit)
        bs = c["batch_size"]
        self.batch_size = min(200, n) if bs == "auto" else min(int(bs), n)
        self.opt = self._optimizer(c)
        self.epoch = 0
        self.samples_seen = 0
        self.best_loss = math.inf
        self.no_improvement = 0
        self.diverged = False
        self.best_score = -math.inf
        self.es_no_improvement = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stopped_early = False
        self._stopped_metrics: dict[str, float] | None = None

    def step(self) -> dict[str, float]:
        """Train one epoch; returns ``train_loss``, ``val_loss``, ``lr`` and ``val_accuracy``
        (classes) or ``val_mse`` and ``val_r2`` (regression).

        A diverged run (NaN or infinite loss) returns NaN metrics with ``diverged = 1``
        instead of raising, and stays diverged; a run stopped early (``early_stopping``)
        keeps its best weights and reports them, with ``stopped_early = 1``.
        """
        if self.config is None:
            raise RuntimeError("call setup(config, seed) or restore(state) before step()")
        if self.diverged:
            return self._diverged_metrics(math.nan)
        if self.stopped_early:
            self.epoch += 1
            return dict(self._stopped_metrics or {})
        self.model.train()
        if isinstance(self.opt, torch.optim.LBFGS):
            train_loss = self._lbfgs_epoch()
        else:
            train_loss = self._stochastic_epoch()
        self.epoch += 1
        if not math.isfinite(train_loss) or not self._finite():
            self.diverged = True
            return self._diverged_metrics(train_loss)
        metrics = {"train_loss": train_loss, **self._validation_metrics()}
        self._end_of_epoch(train_loss)
        metrics["lr"] = self._lr()
        if self._get("early_stopping") and self._early_stop():
            metrics = {**self._validation_metrics(), "train_loss": train_loss,
                       "lr": metrics["lr"], "stopped_early": 1.0}  # fmt: skip
            self._stopped_metrics = metrics
        return metrics

    def save(self) -> dict[str, Any]:
        """Everything needed to continue exactly, on the CPU: the model's and optimiser's
        ``state_dict``, the generator states, the schedule and the counters."""
        if self.config is None:
            raise RuntimeError("nothing to save: call setup(config, seed) first")
        device_state = None if self.device_gen is self.gen else self.device_gen.get_state()
        return {
            "trainer": self.name,
            "config": dict(self.config),
            "seed": self.seed,
            "epoch": self.epoch,
            "model": _to_cpu(self.model.state_dict()),
            "optimizer": _to_cpu(self.opt.state_dict()),
            "generator": self.gen.get_state(),
            "device_generator": device_state,
            "schedule": {
                "samples_seen": self.samples_seen,
                "best_loss": self.best_loss,
                "no_improvement": self.no_improvement,
            },
            "diverged": self.diverged,
            "early_stopping": {
                "best_score": self.best_score,
                "es_no_improvement": self.es_no_improvement,
                "best_state": _to_cpu(self.best_state),
                "stopped_early": self.stopped_early,
                "_stopped_metrics": self._stopped_metrics,
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`save`'s state (from any device); need not follow setup."""
        if state.get("trainer", self.name) != self.name:
            raise ValueError(f"a state of {state['trainer']} cannot restore a {self.name}")
        self.setup(state["config"], state["seed"])
        self.model.load_state_dict(state["model"])
        # load_state_dict keeps CPU tensors of the right dtype as they are: copy, so that
        # training on never changes the saved state.
        self.opt.load_state_dict(_to_cpu(state["optimizer"]))
        self.gen.set_state(state["generator"])
        if state.get("device_generator") is not None:
            self.device_gen.set_state(state["device_generator"])
        self.epoch = state["epoch"]
        for key, value in state["schedule"].items():
            setattr(self, key, value)
        self.diverged = state["diverged"]
        es = dict(state["early_stopping"])
        best = es.pop("best_state")
        self.best_state = None if best is None else {k: v.to(self.device) for k, v in best.items()}
        for key, value in es.items():
            setattr(self, key, value)

    # -- evaluation helpers -----------------------------------------------------------------

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

    # -- for subclasses -----------------------------------------------------------------------

    def _resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, c: dict[str, Any]) -> nn.Module:
        raise NotImplementedError

    def _check_data(self, data: Dataset) -> None:
        """Refuse a dataset this model cannot take (ValueError)."""

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        """Rows as the model takes them (the MLP: as they are)."""
        return X

    # -- internals ------------------------------------------------------------------------------

    def _get(self, key: str) -> Any:
        """A setting of the resolved config, or the numpy trainer's default (a model that
        does not offer it, such as the CNN's schedules, runs with the default)."""
        return self.config.get(key, DEFAULTS[key])  # type: ignore[union-attr]

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

    def _validation_metrics(self) -> dict[str, float]:
        """The scheduler's view: loss and accuracy, or loss, MSE and R², on validation."""
        val_loss, score = self._evaluate(self.X_val, self.y_val)
        if not self.regression:
            return {"val_loss": val_loss, "val_accuracy": score}
        d = self.data
        variance = float(np.var(d.y_val)) or 1.0
        return {"val_loss": val_loss, "val_mse": score * d.y_scale**2,
                "val_r2": 1.0 - score / variance}  # fmt: skip

    def _early_stop(self) -> bool:
        """scikit-learn's rule, as the numpy trainer: the held-out score must beat its best
        by ``tol``; after more than ``n_iter_no_change`` epochs without, keep the best."""
        assert self.hold is not None
        X_hold, y_hold, y_np = self.hold
        _, score = self._evaluate(X_hold, y_hold)
        if self.regression:
            score = 1.0 - score / (float(np.var(y_np)) or 1.0)
        gained = score >= self.best_score + self._get("tol")
        self.es_no_improvement = 0 if gained else self.es_no_improvement + 1
        if score > self.best_score:
            self.best_score = score
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.es_no_improvement > self._get("n_iter_no_change") and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            self.stopped_early = True
        return self.stopped_early

    def _end_of_epoch(self, train_loss: float) -> None:
        """scikit-learn's schedules for sgd: invscaling decay, adaptive division by 5."""
        tol = self._get("tol")
        if train_loss > self.best_loss - tol:
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        self.best_loss = min(self.best_loss, train_loss)
        if not isinstance(self.opt, torch.optim.SGD):
            return
        lr = old = self.opt.param_groups[0]["lr"]
        schedule = self._get("learning_rate")
        if schedule == "invscaling":
            lr = self._get("learning_rate_init") / (self.samples_seen + 1) ** self._get("power_t")
        elif schedule == "adaptive" and self.no_improvement > self._get("n_iter_no_change"):
            if lr > 1e-6:
                lr /= 5.0
            self.no_improvement = 0
        if lr != old:
            self._set_lr(old, lr)

    def _set_lr(self, old: float, new: float) -> None:
        """η_old → η_new, keeping scikit-learn's velocity v = −η·b: b ← b·η_old/η_new."""
        for group in self.opt.param_groups:
            group["lr"] = new
            for p in group["params"]:
                buf = self.opt.state.get(p, {}).get("momentum_buffer")
                if buf is not None:
                    buf.mul_(old / new)

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


class TorchMLPTrainer(TorchTrainer):
    """The numpy :class:`~trainers.mlp.MLPTrainer`'s MLP in PyTorch, an epoch at a time.

    Hyperparameters, defaults and checks are the numpy trainer's
    (:data:`trainers.mlp.DEFAULTS`); see the module docstring for what carries over.

    >>> t = TorchMLPTrainer("iris", device="cpu")
    >>> t.setup({"hidden_layer_sizes": [8], "solver": "adam"}, seed=0)
    >>> sorted(t.step())
    ['lr', 'train_loss', 'val_accuracy', 'val_loss']
    """

    name = "TorchMLPTrainer"

    def _resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter {unknown[0]!r} for {self.name}; expected some of "
                f"{', '.join(DEFAULTS)}"
            )
        c = resolve_config(config)
        for key in sorted(set(DEFAULTS) - HANDLED):
            if key in config and config[key] != DEFAULTS[key]:
                raise bad_value(key, config[key], f"{DEFAULTS[key]!r}: {self.name} lacks it")
        if c["activation"] not in TORCH_ACTIVATIONS:  # one added to the numpy MLP since
            raise bad_value("activation", c["activation"], f"one of {', '.join(TORCH_ACTIVATIONS)}")
        return c

    def _build(self, c: dict[str, Any]) -> nn.Module:
        d = self.data
        model = MLP(
            (d.n_features, *c["hidden_layer_sizes"], d.n_outputs),
            c["activation"], c["activation_gamma"], c["dropout"], c["normalization"],
            c["residual"], self._factory(),
        )  # fmt: skip
        model.initialise(c["init"], c["activation"], self.gen)
        return model
