"""The layers and initialisations that the PyTorch MLP and CNN share, as the numpy network
has them.

The activations of the report's §1.3.2 (:data:`TORCH_ACTIVATIONS`, every name of
``trainers.mlp.ACTIVATIONS``), inverted dropout drawn from the trainer's own generator
(:func:`dropout`), and the numpy network's initialisations (:func:`init_layer`), so that
a PyTorch model starts where the numpy one would and never touches the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from trainers._checks import bad_value
from trainers.mlp._activations import DEFAULT_GAMMA

#: Activations that get He initialisation under ``init="auto"`` (as the numpy network).
RELU_FAMILY = frozenset({"relu", "leaky_relu", "prelu", "elu"})


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
