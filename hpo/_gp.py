"""A multi-fidelity Gaussian-process sampler (MOBSTER-style; Klein et al. 2020), in numpy.

One GP models the score of a configuration *and* the epochs it was trained for: the
input is the encoded configuration (numbers scaled to [0, 1], log where the space says
log; categories one-hot) plus ``t = log(epochs) / log(R)``. Every rung of every bracket
feeds it, so the model learns early from cheap, short trials, and how scores grow with
epochs. New configurations maximise expected improvement of the *full-budget* score
(``t = 1``) over the best prediction there among those already tried.

Kernel: Matérn 5/2 with a length scale per hyperparameter (a category's one-hot columns
share theirs) and one for the epochs, times a signal variance, plus noise; its
hyperparameters maximise the log marginal likelihood (L-BFGS-B with the analytic
gradient, a few restarts), refitted as data arrives. Candidates: random configurations and perturbations of the
best ones. Scores are minimised (the schedulers' convention).

**Inactive dimensions** (a conditional space's ``when:``): an inactive hyperparameter
is encoded at a fixed imputed value (0.5, the middle of its scaled range; all zeros for
a category's one-hot columns) plus, for every conditional hyperparameter, an *active*
indicator column (1 active, 0 not) that shares the hyperparameter's length scale. Two
configurations where momentum is inactive are then equal in that dimension (they differ
only where both have values), and "inactive" is never mistaken for a real value: an
imputed value alone would make ``solver: adam`` look like ``sgd`` with momentum 0.5,
and zeroing alone like momentum at its lower bound; the indicator keeps them apart by a
distance the length scale learns. A space without conditions has no indicator columns,
so its encoding (and so its proposals) is exactly what it was. Candidates and their
perturbations are made valid (inactive values dropped, newly active ones drawn) by
:meth:`hpo.space.SearchSpace.conform`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize
from scipy.special import erf

from hpo.space import Categorical, Float, Int, SearchSpace

SQRT5 = math.sqrt(5.0)


class GPSampler:
    """Proposes configurations by GP expected improvement at the full budget.

    Args:
        space: the search space.
        seed: the generator for candidates and the random start.
        min_observations: random proposals until this many distinct (configuration,
            epochs) scores are in (default: 2 × inputs + 2).
        max_observations: the GP is fitted on at most this many, the most recent first
            kept, always with the highest-fidelity ones (keeps each fit O(n³) small).
        n_candidates: random configurations scored by EI per proposal.
    """

    #: The hyperparameters with an "active" indicator column (a sampler pickled before
    #: conditions existed has none).
    conditional: tuple[str, ...] = ()

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        *,
        min_observations: int | None = None,
        max_observations: int = 200,
        n_candidates: int = 512,
    ) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)
        self.names = list(space.params)
        # The hyperparameters that may be inactive get an "active" indicator column each.
        self.conditional = tuple(n for n in self.names if space.conditions.get(n))
        self.width = sum(
            len(p.values) if isinstance(p, Categorical) else 1 for p in space.params.values()
        ) + len(self.conditional)
        # Which length scale each input column uses: one per hyperparameter (shared by its
        # one-hot and indicator columns), then the epochs.
        groups = [g for g, p in enumerate(space.params.values())
                  for _ in range(len(p.values) if isinstance(p, Categorical) else 1)]  # fmt: skip
        groups += [self.names.index(n) for n in self.conditional]
        self.groups = np.asarray([*groups, len(space.params)])
        self.n_scales = len(space.params) + 1
        self._index = {name: {_key(v): i for i, v in enumerate(p.values)}
                       for name, p in space.params.items() if isinstance(p, Categorical)}  # fmt: skip
        self.min_observations = min_observations or 2 * (self.width + 1) + 2
        self.max_observations = max_observations
        self.n_candidates = n_candidates
        self._X: list[np.ndarray] = []
        self._epochs: list[int] = []
        self._y: list[float] = []
        self._seen: set[tuple] = set()
        self._theta: np.ndarray | None = None  # log length scales, log signal, log noise
        self._fitted_at = 0

    # -- the sampler protocol -------------------------------------------------------------------

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        if not math.isfinite(score):
            return
        x = self.encode(config)
        key = (tuple(np.round(x, 9)), int(epochs))
        if key in self._seen:
            return
        self._seen.add(key)
        self._X.append(x)
        self._epochs.append(int(epochs))
        self._y.append(float(score))

    def sample(self) -> dict[str, Any]:
        if len(self._y) < self.min_observations:
            return self.space.sample(self.rng)
        X, y = self._training_set()
        if self._theta is None or len(self._y) >= self._fitted_at * 1.5 + 5:
            self._theta = self._fit(X, y, self._theta)
            self._fitted_at = len(self._y)
        candidates = self._candidates(X, y)
        Xc = np.hstack(
            [np.array([self.encode(c) for c in candidates]), np.ones((len(candidates), 1))]
        )
        mean, var = self._predict(X, y, Xc)
        # The incumbent: the best mean at the full budget among configurations tried.
        tried = np.unique(X[:, :-1], axis=0)
        best, _ = self._predict(X, y, np.hstack([tried, np.ones((len(tried), 1))]))
        return candidates[int(np.argmax(_expected_improvement(mean, var, float(best.min()))))]

    # -- encoding ---------------------------------------------------------------------------------

    def encode(self, config: dict[str, Any]) -> np.ndarray:
        parts: list[float] = []
        for name, p in self.space.params.items():
            if name not in config:  # inactive: the imputed value (see the module's docstring)
                parts += [0.0] * len(p.values) if isinstance(p, Categorical) else [0.5]
                continue
            v = config[name]
            if isinstance(p, Categorical):
                one_hot = [0.0] * len(p.values)
                index = self._index[name].get(_key(v))
                if index is not None:
                    one_hot[index] = 1.0
                parts += one_hot
            elif isinstance(p, (Float, Int)):
                low, high, value = float(p.low), float(p.high), float(v)
                if p.log:
                    low, high, value = math.log(low), math.log(high), math.log(max(value, p.low))
                parts.append(
                    0.0 if high == low else min(max((value - low) / (high - low), 0.0), 1.0)
                )
        parts += [1.0 if name in config else 0.0 for name in self.conditional]
        return np.asarray(parts)

    # -- the Gaussian process -----------------------------------------------------------------------

    def _training_set(self) -> tuple[np.ndarray, np.ndarray]:
        epochs = np.asarray(self._epochs, dtype=float)
        top = max(epochs.max(), 2.0)
        t = np.log(epochs) / np.log(top)
        X = np.hstack([np.asarray(self._X), t[:, None]])
        y = np.asarray(self._y)
        if len(y) > self.max_observations:  # the most informative: highest fidelity, then recent
            order = np.lexsort((np.arange(len(y)), epochs))[::-1][: self.max_observations]
            X, y = X[order], y[order]
        return X, y

    def _fit(self, X: np.ndarray, y: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        yn = (y - y.mean()) / (y.std() or 1.0)
        d = self.n_scales
        start = np.concatenate([np.full(d, math.log(0.5)), [0.0, math.log(0.1)]])
        if previous is not None:  # warm: the last fit is the first guess
            start = previous
        bounds = [(math.log(0.02), math.log(20.0))] * d + [(math.log(0.05), math.log(20.0)),
                                                         (math.log(1e-4), math.log(1.0))]  # fmt: skip
        # The squared differences of the inputs of each length scale, once: every
        # evaluation of the likelihood reuses them.
        grouped = np.stack([
            ((X[:, None, cols] - X[None, :, cols]) ** 2).sum(-1)
            for cols in (self.groups == g for g in range(d))
        ])  # fmt: skip
        best = None
        for attempt in range(2):
            x0 = start if attempt == 0 else start + self.rng.normal(0, 0.5, start.shape)
            x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
            res = minimize(_neg_log_likelihood, x0, args=(grouped, yn), jac=True,
                           method="L-BFGS-B", bounds=bounds, options={"maxiter": 50})  # fmt: skip
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        return best.x

    def _predict(
        self, X: np.ndarray, y: np.ndarray, Xs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self._theta is not None
        mu, sd = y.mean(), y.std() or 1.0
        yn = (y - mu) / sd
        K = self._kernel(X, X) + np.exp(2 * self._theta[-1]) * np.eye(len(X))
        L = _cholesky(K)
        alpha = _solve(L, yn)
        Ks = self._kernel(Xs, X)
        mean = Ks @ alpha
        v = solve_triangular(L, Ks.T, lower=True, check_finite=False)
        var = np.exp(2 * self._theta[-2]) - np.einsum("ij,ij->j", v, v)
        return mu + sd * mean, np.maximum(var, 1e-12) * sd**2

    def _candidates(self, X: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
        out = [self.space.sample(self.rng) for _ in range(self.n_candidates)]
        # Local moves around the best few at the highest fidelity seen.
        top = X[:, -1] >= X[:, -1].max() - 1e-9
        best = np.argsort(np.where(top, y, np.inf))[:5]
        for i in best:
            if not np.isfinite(y[i]):
                continue
            base = self._decode_nearest(X[i, :-1])
            for _ in range(self.n_candidates // 20):
                out.append(self._perturb(base))
        return out

    def _decode_nearest(self, x: np.ndarray) -> dict[str, Any]:
        config, at = dict(self.space.fixed), 0
        for name, p in self.space.params.items():
            if isinstance(p, Categorical):
                k = len(p.values)
                config[name] = p.values[int(np.argmax(x[at : at + k]))]
                at += k
            else:
                low, high = float(p.low), float(p.high)
                if p.log:
                    value = math.exp(math.log(low) + x[at] * (math.log(high) - math.log(low)))
                else:
                    value = low + x[at] * (high - low)
                config[name] = round(value) if isinstance(p, Int) else float(value)
                at += 1
        if self.conditional:  # drop what is inactive (every active value was decoded)
            config = self.space.conform(config, self.rng)
        return config

    def _perturb(self, config: dict[str, Any]) -> dict[str, Any]:
        out = dict(config)
        names = [n for n in self.names if n in out] if self.conditional else self.names
        name = names[int(self.rng.integers(len(names)))]
        p = self.space.params[name]
        if isinstance(p, Categorical):
            out[name] = p.values[int(self.rng.integers(len(p.values)))]
            # A new parent value may switch children on (drawn) or off (dropped).
            return self.space.conform(out, self.rng) if self.conditional else out
        x = self.encode(out)
        at = sum(len(q.values) if isinstance(q, Categorical) else 1
                 for q in list(self.space.params.values())[: self.names.index(name)])  # fmt: skip
        x[at] = min(max(x[at] + self.rng.normal(0, 0.1), 0.0), 1.0)
        moved = self._decode_nearest(x) | {
            k: v for k, v in out.items() if k != name and k in self.names
        }
        if not self.conditional:
            return moved
        # What was inactive decodes to its imputed value; one that the move switches on is
        # drawn afresh by conform, not handed that value.
        return self.space.conform({k: v for k, v in moved.items() if k in out}, self.rng)

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        assert self._theta is not None
        d = self.n_scales
        scale = np.exp(self._theta[:d])[self.groups]
        a, b = A / scale, B / scale
        sq = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        return _matern(sq, self._theta[d])


def _key(value: Any) -> Any:
    """A category as a dictionary key (lists and tuples alike)."""
    return tuple(_key(v) for v in value) if isinstance(value, (list, tuple)) else value


def _matern(sq: np.ndarray, log_signal: float) -> np.ndarray:
    """Matérn 5/2 of squared scaled distances, times the signal variance."""
    r = np.sqrt(sq)
    return np.exp(2 * log_signal) * (1 + SQRT5 * r + 5.0 / 3.0 * sq) * np.exp(-SQRT5 * r)


def _cholesky(K: np.ndarray) -> np.ndarray:
    jitter = 1e-8
    for _ in range(6):
        try:
            return np.linalg.cholesky(K + jitter * np.eye(len(K)))
        except np.linalg.LinAlgError:
            jitter *= 10
    return np.linalg.cholesky(K + jitter * np.eye(len(K)))


def _solve(L: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``K⁻¹ y`` from the lower Cholesky factor of ``K`` (two triangular solves)."""
    return cho_solve((L, True), y, check_finite=False)


def _neg_log_likelihood(
    theta: np.ndarray, grouped: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """−log p(y | θ) and its gradient; ``grouped[g]`` holds the squared differences of the
    inputs of length scale ``g``. With ``A = K⁻¹``, ``∂/∂θ = ½ tr((A − ααᵀ) ∂K/∂θ)``."""
    d = len(grouped)
    inv_sq = np.exp(-2 * theta[:d])
    sq = np.tensordot(inv_sq, grouped, axes=1)
    r = np.sqrt(sq)
    signal = np.exp(2 * theta[d])
    decay = np.exp(-SQRT5 * r)
    Kf = signal * (1 + SQRT5 * r + 5.0 / 3.0 * sq) * decay
    n = len(y)
    K = Kf + (np.exp(2 * theta[-1]) + 1e-8) * np.eye(n)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = _solve(L, y)
    nll = float(0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * math.log(2 * math.pi))
    inner = _solve(L, np.eye(n)) - np.outer(alpha, alpha)
    # ∂K/∂log ℓ_g = (5/3) σ² (1 + √5 r) e^{−√5 r} · D_g / ℓ_g²
    common = (5.0 / 3.0) * signal * (1 + SQRT5 * r) * decay
    grad = np.empty_like(theta)
    for g in range(d):
        grad[g] = 0.5 * np.sum(inner * common * grouped[g] * inv_sq[g])
    grad[d] = 0.5 * np.sum(inner * 2 * Kf)
    grad[d + 1] = 0.5 * np.trace(inner) * 2 * np.exp(2 * theta[-1])
    return nll, grad


def _expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """E[max(best − f, 0)] for f ~ N(mean, var): lower scores are better."""
    sd = np.sqrt(var)
    z = (best - mean) / sd
    cdf = 0.5 * (1 + erf(z / math.sqrt(2)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return sd * (z * cdf + pdf)
