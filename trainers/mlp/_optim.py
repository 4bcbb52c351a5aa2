"""Gradient methods that update the network's flat parameter vector in place.

``SGD`` (with momentum and Nesterov momentum) and ``Adam`` follow scikit-learn's
``_stochastic_optimizers`` formulas, so that the hyperparameters of ``MLPClassifier``
mean the same here; ``LBFGS`` is a full-batch limited-memory quasi-Newton method (two-loop
recursion, Nocedal & Wright Alg. 7.4, with a backtracking Armijo line search), whose
memory is part of its state so that a paused trial resumes exactly.

Each optimiser has ``state() -> dict`` and ``load_state(dict)`` for save/restore.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.linalg import blas

Array = np.ndarray


def axpy_for(x: Array) -> Callable[..., Array]:
    """BLAS ``y ← a·x + y`` for ``x``'s dtype: one pass, no temporary (in place on ``y``)."""
    return blas.get_blas_funcs("axpy", (x,))


class SGD:
    """Stochastic gradient descent with (Nesterov) momentum μ.

    v ← μ v − η g;  θ ← θ + v  (classical), or  θ ← θ + μ v − η g  (Nesterov).
    """

    def __init__(self, theta: Array, lr: float, momentum: float = 0.9, nesterov: bool = True):
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.velocity = np.zeros_like(theta)
        self._axpy = axpy_for(theta)

    def step(self, theta: Array, grad: Array) -> None:
        v, axpy = self.velocity, self._axpy
        v *= self.momentum
        axpy(grad, v, a=-self.lr)
        if self.nesterov:
            axpy(v, theta, a=self.momentum)
            axpy(grad, theta, a=-self.lr)
        else:
            theta += v

    def state(self) -> dict:
        return {"lr": self.lr, "velocity": self.velocity.copy()}

    def load_state(self, state: dict) -> None:
        self.lr = state["lr"]
        self.velocity[...] = state["velocity"]


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction folded into the step size.

    m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η √(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε).
    """

    def __init__(
        self,
        theta: Array,
        lr: float,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.lr, self.beta_1, self.beta_2, self.epsilon = lr, beta_1, beta_2, epsilon
        self.t = 0
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)
        self._tmp = np.empty_like(theta)
        self._axpy = axpy_for(theta)

    def step(self, theta: Array, grad: Array) -> None:
        self.t += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta_2**self.t) / (1.0 - self.beta_1**self.t)
        m, v, tmp, axpy = self.m, self.v, self._tmp, self._axpy
        m *= self.beta_1
        axpy(grad, m, a=1.0 - self.beta_1)
        v *= self.beta_2
        np.multiply(grad, grad, out=tmp)
        axpy(tmp, v, a=1.0 - self.beta_2)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        axpy(tmp, theta, a=-lr_t)

    def state(self) -> dict:
        return {"lr": self.lr, "t": self.t, "m": self.m.copy(), "v": self.v.copy()}

    def load_state(self, state: dict) -> None:
        self.lr, self.t = state["lr"], state["t"]
        self.m[...] = state["m"]
        self.v[...] = state["v"]


Objective = Callable[[Array], tuple[float, Array]]


class LBFGS:
    """Limited-memory BFGS; one call of :meth:`iterate` is one iteration (one epoch).

    Like scikit-learn's ``MLPClassifier(solver="lbfgs")`` (scipy's L-BFGS-B), it stops
    once converged: when the largest gradient component is at most ``gtol`` (the
    classifier's ``tol``), when an iteration lowers the objective by at most ``ftol``
    relative to its size (scipy's ``factr = 1e7``), or when the line search finds no
    lower point even along the gradient (with curvature pairs, a failed search first drops
    them, as scipy does). Later iterations then change nothing and cost nothing: the curve stays
    flat, as scikit-learn's model stays where it stopped. (Without this a collapsed
    float32 network keeps backtracking through subnormal numbers at ten times the cost
    of an ordinary iteration.)

    Args:
        memory: number of (s, y) curvature pairs kept (scipy's default, 10).
        c1: Armijo sufficient-decrease constant.
        max_backtracks: halvings of the step before the iteration gives up.
        gtol: convergence when max |∇R| ≤ gtol.
        ftol: convergence when (f_old − f_new) ≤ ftol · max(|f_old|, |f_new|, 1).
    """

    def __init__(
        self,
        memory: int = 10,
        c1: float = 1e-4,
        max_backtracks: int = 30,
        gtol: float = 1e-4,
        ftol: float = 1e7 * float(np.finfo(float).eps),
    ) -> None:
        self.memory, self.c1, self.max_backtracks = memory, c1, max_backtracks
        self.gtol, self.ftol = gtol, ftol
        self.s: list[Array] = []
        self.y: list[Array] = []
        self.f: float | None = None
        self.g: Array | None = None
        self.converged = False

    def _direction(self, g: Array) -> Array:
        """−H g by the two-loop recursion, H₀ = (sᵀy / yᵀy) I."""
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(self.s), reversed(self.y), strict=True):
            rho = 1.0 / float(y @ s)
            a = rho * float(s @ q)
            q -= a * y
            alphas.append((rho, a))
        if self.s:
            q *= float(self.s[-1] @ self.y[-1]) / float(self.y[-1] @ self.y[-1])
        for (s, y), (rho, a) in zip(
            zip(self.s, self.y, strict=True), reversed(alphas), strict=True
        ):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -q

    def iterate(self, theta: Array, objective: Objective) -> float:
        """Move ``theta`` one quasi-Newton step downhill; returns the new objective value."""
        if self.converged and self.f is not None:
            return self.f
        if self.f is None or self.g is None:
            self.f, g = objective(theta)
            self.g = g.copy()
            if float(np.abs(g).max()) <= self.gtol:
                self.converged = True
                return self.f
        f, g = self.f, self.g
        d = self._direction(g)
        slope = float(g @ d)
        if not slope < 0.0:  # lost descent (numerical trouble): restart from steepest descent
            self.s.clear()
            self.y.clear()
            d, slope = -g, -float(g @ g)
        step = 1.0 if self.s else min(1.0, 1.0 / max(float(np.abs(g).sum()), 1e-12))
        start = theta.copy()
        for _ in range(self.max_backtracks):
            theta[...] = start + step * d
            f_new, g_new = objective(theta)
            if np.isfinite(f_new) and f_new <= f + self.c1 * step * slope:
                break
            step *= 0.5
        else:
            if not np.isfinite(f_new) or f_new > f:
                theta[...] = start
                if self.s:  # as scipy does: forget the curvature pairs, retry steepest descent
                    self.s.clear()
                    self.y.clear()
                else:  # no lower point even along the gradient
                    self.converged = True
                return f
        s = theta - start
        y = g_new - g
        if float(s @ y) > 1e-10 * float(y @ y):  # keep H positive definite
            self.s.append(s)
            self.y.append(y)
            if len(self.s) > self.memory:
                del self.s[0], self.y[0]
        decrease = f - float(f_new)
        self.f, self.g = float(f_new), g_new.copy()
        if (
            decrease <= self.ftol * max(abs(f), abs(self.f), 1.0)
            or float(np.abs(g_new).max()) <= self.gtol
        ):
            self.converged = True
        return self.f

    def state(self) -> dict:
        return {
            "s": [s.copy() for s in self.s],
            "y": [y.copy() for y in self.y],
            "f": self.f,
            "g": None if self.g is None else self.g.copy(),
            "converged": self.converged,
        }

    def load_state(self, state: dict) -> None:
        self.s = [s.copy() for s in state["s"]]
        self.y = [y.copy() for y in state["y"]]
        self.f = state["f"]
        self.g = None if state["g"] is None else state["g"].copy()
        self.converged = bool(state.get("converged", False))
