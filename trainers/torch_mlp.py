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
never touched. :meth:`~trainers._torch.TorchTrainer.save` holds the model's and the
optimiser's ``state_dict``, the generator states and the epoch loop's counters, all on
the CPU, in the numpy trainer's layout (:mod:`trainers._epochs`), so that a restored
trainer continues bit for bit as an uninterrupted one (on the CPU). The epoch loop is
the numpy trainer's; the PyTorch base is :mod:`trainers._torch`.
"""

from __future__ import annotations

try:
    import torch
except ImportError:  # one line for the CLI's `--trainer trainers.torch_mlp:TorchMLPTrainer`
    raise ImportError("trainers.torch_mlp needs PyTorch: pip install -e '.[torch]'") from None

from collections.abc import Mapping
from typing import Any

from torch import nn
from torch.nn.utils import skip_init

from trainers._checks import bad_value, with_defaults
from trainers._torch import TorchTrainer
from trainers._torch_layers import TORCH_ACTIVATIONS, dropout, init_layer, make_activation
from trainers.mlp import DEFAULTS, resolve_config

__all__ = [
    "MLP",
    "TORCH_ACTIVATIONS",
    "TorchMLPTrainer",
    "TorchTrainer",
    "init_layer",
    "make_activation",
]

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
        with_defaults(config, DEFAULTS, self.name)  # an unknown key: refused in this name
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
