"""Activation functions of the report's section 1.3.2, each with its derivative.

Every activation is a tiny object with two methods, vectorised over a batch:

* ``forward(z, out)`` writes ``a = f(z)`` into ``out`` and returns it;
* ``backward(z, a, grad_a)`` turns ``∂L/∂a`` into ``∂L/∂z = f'(z) ⊙ ∂L/∂a`` (the
  Hadamard factor of the δ recursion, report eq. in §2.2), in place in ``grad_a``.

Derivatives are taken from whichever of ``z`` or ``a`` is cheaper. PReLU is the one
activation with parameters: a slope ``γ_i`` per neuron, learned by backpropagation, so
it also accumulates ``∂L/∂γ``.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class Activation:
    """An elementwise activation ``a = f(z)``; subclasses set ``name``."""

    name: str = ""
    #: Learned parameters per neuron (only PReLU has one).
    params_per_unit: int = 0

    def forward(self, z: Array, out: Array) -> Array:
        raise NotImplementedError

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(Activation):
    """f(z) = z."""

    name = "identity"

    def forward(self, z: Array, out: Array) -> Array:
        # The network hands an identity layer its own net input as ``out``.
        if out is not z:
            out[...] = z
        return out

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a


class Logistic(Activation):
    """σ(z) = 1 / (1 + exp(−z)); σ'(z) = σ(z)(1 − σ(z))."""

    name = "logistic"

    def forward(self, z: Array, out: Array) -> Array:
        # exp(-z) overflows harmlessly to inf for very negative z, giving σ = 0.
        np.negative(z, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        return out

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= a
        grad_a *= 1.0 - a
        return grad_a


class Tanh(Activation):
    """tanh(z); tanh'(z) = 1 − tanh²(z)."""

    name = "tanh"

    def forward(self, z: Array, out: Array) -> Array:
        return np.tanh(z, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= 1.0 - a * a
        return grad_a


class HardLogistic(Activation):
    """hard-logistic(z) = max(min(0.25 z + 0.5, 1), 0), the first-order Taylor clip of σ."""

    name = "hard_logistic"

    def forward(self, z: Array, out: Array) -> Array:
        np.multiply(z, 0.25, out=out)
        out += 0.5
        return np.clip(out, 0.0, 1.0, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= 0.25 * ((a > 0.0) & (a < 1.0))
        return grad_a


class HardTanh(Activation):
    """hard-tanh(z) = max(min(z, 1), −1)."""

    name = "hard_tanh"

    def forward(self, z: Array, out: Array) -> Array:
        return np.clip(z, -1.0, 1.0, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= (a > -1.0) & (a < 1.0)
        return grad_a


class ReLU(Activation):
    """ReLU(z) = max(0, z); derivative 1 for z > 0, else 0."""

    name = "relu"

    def forward(self, z: Array, out: Array) -> Array:
        return np.maximum(z, 0.0, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= a > 0.0
        return grad_a


class LeakyReLU(Activation):
    """LeakyReLU(z) = max(0, z) + γ min(0, z), a small fixed slope γ for z ≤ 0."""

    name = "leaky_relu"

    def __init__(self, gamma: float = 0.01) -> None:
        self.gamma = float(gamma)

    def forward(self, z: Array, out: Array) -> Array:
        np.multiply(z, self.gamma, out=out)
        return np.maximum(z, out, out=out) if self.gamma <= 1.0 else np.minimum(z, out, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= np.where(z > 0.0, 1.0, self.gamma).astype(grad_a.dtype, copy=False)
        return grad_a

    def __repr__(self) -> str:
        return f"LeakyReLU(gamma={self.gamma})"


class PReLU(Activation):
    """PReLU_i(z) = max(0, z) + γ_i min(0, z), with a learned slope γ_i per neuron.

    ``gamma`` and ``grad_gamma`` are views into the network's flat parameter and
    gradient vectors, bound by :meth:`bind`; ∂L/∂γ_i = Σ_batch ∂L/∂a_i · min(0, z_i).
    """

    name = "prelu"
    params_per_unit = 1

    def __init__(self, gamma: float = 0.25) -> None:
        self.init_gamma = float(gamma)
        self.gamma: Array | None = None
        self.grad_gamma: Array | None = None

    def bind(self, gamma: Array, grad_gamma: Array) -> None:
        self.gamma, self.grad_gamma = gamma, grad_gamma

    def forward(self, z: Array, out: Array) -> Array:
        np.minimum(z, 0.0, out=out)
        out *= self.gamma
        out += np.maximum(z, 0.0)
        return out

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        neg = np.minimum(z, 0.0)
        np.einsum("ij,ij->j", grad_a, neg, out=self.grad_gamma)
        grad_a *= np.where(z > 0.0, 1.0, self.gamma).astype(grad_a.dtype, copy=False)
        return grad_a

    def __repr__(self) -> str:
        return f"PReLU(init_gamma={self.init_gamma})"


class ELU(Activation):
    """ELU(z) = z for z > 0, γ(exp(z) − 1) otherwise; derivative 1 or a + γ."""

    name = "elu"

    def __init__(self, gamma: float = 1.0) -> None:
        self.gamma = float(gamma)

    def forward(self, z: Array, out: Array) -> Array:
        np.minimum(z, 0.0, out=out)
        np.expm1(out, out=out)
        out *= self.gamma
        out += np.maximum(z, 0.0)
        return out

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= np.where(z > 0.0, 1.0, a + self.gamma).astype(grad_a.dtype, copy=False)
        return grad_a

    def __repr__(self) -> str:
        return f"ELU(gamma={self.gamma})"


class Softplus(Activation):
    """Softplus(z) = log(1 + exp(z)); its derivative is the logistic σ(z) = 1 − exp(−a)."""

    name = "softplus"

    def forward(self, z: Array, out: Array) -> Array:
        # log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}), stable for large |z|.
        np.abs(z, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        out += np.maximum(z, 0.0)
        return out

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        grad_a *= -np.expm1(-a)
        return grad_a


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (
        Identity,
        Logistic,
        Tanh,
        HardLogistic,
        HardTanh,
        ReLU,
        LeakyReLU,
        PReLU,
        ELU,
        Softplus,
    )
}

#: The default γ of each activation that has one (report §1.3.2.2).
DEFAULT_GAMMA = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0}


def make_activation(name: str, gamma: float | None = None) -> Activation:
    """The activation called ``name``; ``gamma`` sets γ of leaky ReLU, PReLU (initial) and ELU.

    >>> make_activation("elu", 0.5)
    ELU(gamma=0.5)
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation={name!r} is unknown; expected one of {', '.join(ACTIVATIONS)}"
        )
    cls = ACTIVATIONS[name]
    if name in DEFAULT_GAMMA:
        return cls(DEFAULT_GAMMA[name] if gamma is None else gamma)  # type: ignore[call-arg]
    return cls()
