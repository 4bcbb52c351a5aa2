"""Learning-curve stopping rules that compose with any scheduler.

A rule sees every epoch's score of every trial (``observe``) and, at check points, may
end a trial early (``should_stop`` returns the reason). Check points are the
scheduler's own milestones, plus every ``check_every`` epochs when that is set (the
scheduler then splits assignments so the rule can look in between).

* :class:`Patience`: inside a trial, no improvement of more than ``tol`` for
  ``patience`` epochs (scikit-learn's ``n_iter_no_change`` / ``tol``).
* :class:`MedianStopping`: across trials, the median stopping rule (Golovin et al.,
  Google Vizier, KDD 2017).
* :class:`CurveExtrapolation`: fits the partial curve with a power law
  ``s(t) = c + a·t^(−α)``, predicts its value at ``max_epochs``, and stops the trial if
  even an optimistic prediction cannot beat the best score of the other trials
  (a light form of Domhan et al., IJCAI 2015).

Scores are losses (lower is better): the scheduler has already turned "max" into "min".
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from hpo.schedulers._base import TrialRecord, _check_positive_int


class StoppingRule:
    """Base of the rules: no state, never stops."""

    check_every: int | None = None

    def bind(self, scheduler: Any) -> None:
        self.max_epochs = scheduler.max_epochs

    def observe(self, trial: TrialRecord, epoch: int, score: float) -> None:
        """One more epoch of one trial."""

    def should_stop(self, trial: TrialRecord, epoch: int, score: float) -> str | None:
        return None


class Patience(StoppingRule):
    """Stop a trial whose score has not improved by more than ``tol`` for ``patience`` epochs.

    >>> rule = Patience(patience=2)
    >>> rule.bind(type("S", (), {"max_epochs": 10}))
    >>> t = TrialRecord(0, {}, 0)
    >>> for epoch, score in enumerate([1.0, 0.5, 0.5, 0.5], start=1):
    ...     rule.observe(t, epoch, score)
    >>> rule.should_stop(t, 4, 0.5)
    'no improvement above tol=0.0001 for 2 epochs (best 0.5 at epoch 2)'
    """

    def __init__(self, patience: int = 10, tol: float = 1e-4, check_every: int | None = None):
        self.patience = _check_positive_int("patience", patience)
        if not (isinstance(tol, (int, float)) and tol >= 0):
            raise ValueError(f"tol={tol!r} is invalid; expected a number >= 0")
        self.tol = float(tol)
        self.check_every = check_every
        self._best: dict[int, tuple[float, int]] = {}

    def observe(self, trial: TrialRecord, epoch: int, score: float) -> None:
        best = self._best.get(trial.trial_id)
        if best is None or score < best[0] - self.tol:
            self._best[trial.trial_id] = (score, epoch)

    def should_stop(self, trial: TrialRecord, epoch: int, score: float) -> str | None:
        best, at = self._best.get(trial.trial_id, (score, epoch))
        if epoch - at >= self.patience:
            return (
                f"no improvement above tol={self.tol:g} for {epoch - at} epochs "
                f"(best {best:.4g} at epoch {at})"
            )
        return None


def median_without(values: list[float], x: float) -> float:
    """The median of sorted ``values`` with one occurrence of ``x`` left out (O(log n)).

    >>> median_without([1.0, 2.0, 3.0, 10.0], 10.0), median_without([1.0, 2.0, 3.0], 2.0)
    (2.0, 2.0)
    """
    j = bisect.bisect_left(values, x)
    m = len(values) - 1

    def at(k: int) -> float:  # k-th smallest of the others
        return values[k] if k < j else values[k + 1]

    if m % 2:
        return at(m // 2)
    return (at(m // 2 - 1) + at(m // 2)) / 2.0


class MedianStopping(StoppingRule):
    """Stop a trial whose best score by epoch t is worse than the median of the others'
    running means at epoch t (Golovin et al. 2017).

    Args:
        grace_epochs: never stop before this epoch.
        min_trials: other trials that must have reached epoch t before the rule acts.
        check_every: also check every this many epochs (default: at milestones only).
    """

    def __init__(self, grace_epochs: int = 1, min_trials: int = 5, check_every: int | None = None):
        self.grace_epochs = _check_positive_int("grace_epochs", grace_epochs)
        self.min_trials = _check_positive_int("min_trials", min_trials)
        self.check_every = check_every
        self._sums: dict[int, float] = {}
        self._means: dict[int, list[float]] = {}  # epoch -> sorted running means there

    def observe(self, trial: TrialRecord, epoch: int, score: float) -> None:
        total = self._sums.get(trial.trial_id, 0.0) + score
        self._sums[trial.trial_id] = total
        bisect.insort(self._means.setdefault(epoch, []), total / epoch)

    def should_stop(self, trial: TrialRecord, epoch: int, score: float) -> str | None:
        if epoch < self.grace_epochs:
            return None
        means = self._means.get(epoch)
        if means is None or len(means) - 1 < self.min_trials:
            return None
        # Compared with the other trials, as Golovin et al. do: its own mean is left out.
        median = median_without(means, self._sums[trial.trial_id] / epoch)
        if trial.best_score > median:
            return (
                f"median stopping at epoch {epoch}: best score {trial.best_score:.4g} is worse "
                f"than the median running mean {median:.4g} of {len(means) - 1} other trials"
            )
        return None


#: Exponents tried for the power law s(t) = c + a·t^(−α).
_ALPHAS = (0.25, 0.5, 1.0, 1.5, 2.0)


def extrapolate(scores: np.ndarray, horizon: int) -> tuple[float, float]:
    """Fit ``c + a·t^(−α)`` to ``scores`` at t = 1…n; return (prediction at ``horizon``, σ).

    σ is the residual standard deviation of the best fit.

    >>> t = np.arange(1, 11)
    >>> pred, sigma = extrapolate(0.1 + 0.8 * t**-1.0, 100)
    >>> round(pred, 4), round(sigma, 6)
    (0.108, 0.0)
    """
    n = len(scores)
    t = np.arange(1, n + 1, dtype=float)
    best: tuple[float, float, float] | None = None
    for alpha in _ALPHAS:
        design = np.column_stack([np.ones(n), t**-alpha])
        coef, *_ = np.linalg.lstsq(design, scores, rcond=None)
        residual = scores - design @ coef
        sse = float(residual @ residual)
        if best is None or sse < best[0]:
            best = (sse, float(coef[0] + coef[1] * horizon**-alpha), alpha)
    assert best is not None
    sigma = math.sqrt(best[0] / max(n - 2, 1))
    return best[1], sigma


class CurveExtrapolation(StoppingRule):
    """Stop a trial whose extrapolated final score cannot plausibly beat the best other trial.

    Args:
        min_points: epochs needed before extrapolating.
        confidence: how many residual standard deviations of optimism to allow.
        margin: extra optimism in score units (a floor under the uncertainty).
        check_every: also check every this many epochs (default: at milestones only).
    """

    def __init__(
        self,
        min_points: int = 5,
        confidence: float = 2.0,
        margin: float = 0.01,
        check_every: int | None = None,
    ) -> None:
        self.min_points = _check_positive_int("min_points", min_points, 3)
        self.confidence, self.margin, self.check_every = (
            float(confidence),
            float(margin),
            check_every,
        )
        self._top: list[tuple[float, int]] = []  # the two best (score, trial id)

    def observe(self, trial: TrialRecord, epoch: int, score: float) -> None:
        top = [(s, t) for s, t in self._top if t != trial.trial_id]
        top.append((min(score, trial.best_score), trial.trial_id))
        self._top = sorted(top)[:2]

    def _best_other(self, trial_id: int) -> float:
        for score, t in self._top:
            if t != trial_id:
                return score
        return math.inf

    def should_stop(self, trial: TrialRecord, epoch: int, score: float) -> str | None:
        if epoch < self.min_points or epoch >= self.max_epochs:
            return None
        best_other = self._best_other(trial.trial_id)
        if not math.isfinite(best_other):
            return None
        prediction, sigma = extrapolate(np.asarray(trial.scores[:epoch]), self.max_epochs)
        optimistic = min(prediction, trial.best_score) - self.confidence * sigma - self.margin
        if optimistic > best_other:
            return (
                f"extrapolated score at epoch {self.max_epochs} is {prediction:.4g} "
                f"(optimistic {optimistic:.4g}), cannot beat the best {best_other:.4g}"
            )
        return None
