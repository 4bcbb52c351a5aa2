"""Asynchronous successive halving (ASHA; Li et al., MLSys 2020).

When a worker frees up, promote the highest-rung trial that is in the top ``⌊|rung|/η⌋``
of its rung and not yet promoted; otherwise start a new trial at the bottom rung. No
worker ever waits for a rung to fill. Promotion resumes the paused trial.

The stop-only form (as Ray Tune's ``ASHAScheduler``) never pauses: at each rung a trial
continues at once if it is in the top ``1/η`` of the results recorded there so far,
otherwise it stops.

Each rung keeps its scores in a sorted list (rank queries by bisection) and its paused,
unpromoted trials in a heap, so a decision costs ``O(rungs · log n)`` plus one list
insertion, even with 100,000 trials.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from typing import Any

from hpo.budgets import Bracket, Rung, asha_rungs, eta_configs, hyperband_brackets
from hpo.samplers import Sampler
from hpo.schedulers._base import Scheduler, TrialRecord, TrialStatus, _check_positive_int
from hpo.types import Decision, EventKind, Mode, Suggestion


def in_top_fraction(rank: int, n: int, eta: int) -> bool:
    """ASHA's promotion test: 0-based ``rank`` among ``n`` recorded is in the top ⌊n/η⌋.

    >>> [in_top_fraction(r, 9, 3) for r in range(4)]
    [True, True, True, False]
    >>> in_top_fraction(0, 2, 3)
    False
    """
    return rank < n // eta


def default_trials(max_epochs: int, eta: int, min_epochs: int) -> int:
    """ASHA's trials when given neither n_configs nor a budget: as many as HyperBand would
    start, and at least the η^k that carry one trial up the k promotions of the rungs
    r, rη, …, R (more than HyperBand starts when R is not r times a power of η: r = 2,
    R = 81, η = 3 needs 81)."""
    starts = sum(b.n_trials for b in hyperband_brackets(max_epochs, eta, min_epochs))
    return max(starts, eta_configs(max_epochs, eta, min_epochs))


class ASHA(Scheduler):
    """Asynchronous successive halving with promotion (pause/resume) or stop-only.

    Args:
        sampler: proposes configurations; None for a declaration that :func:`hpo.search`
            gives the search's sampler (``hpo.search(train, space, scheduler=ASHA(max_epochs=81))``).
        max_epochs: R. eta: η ≥ 2. min_epochs: r, the first rung. Rungs are ``r, rη, rη², …``
            below ``R``, then ``R`` (:func:`hpo.budgets.geometric_rungs`, as the ASHA paper,
            Optuna, Syne Tune and Ray Tune place them: ``r=2, R=81, η=3``: 2, 6, 18, 54, 81).
        n_configs: start at most this many trials (neither it nor a budget:
            :func:`default_trials`).
        budget: spend at most this many epochs (promotions included). With a budget, ASHA is *budget-aware*: it
            starts no more trials than the budget can carry up the rungs at ASHA's own
            promotion rate (the plan's ``n``), so that new trials at the bottom rung do
            not starve the top one. ``budget_aware=False`` is the greedy form (new trials
            while the budget lasts), kept to measure the difference.
        stop_only: the stop-only form instead of promotion.
        mode, seed, stopping: as for every scheduler.
    """

    name = "asha"

    def __init__(
        self,
        sampler: Sampler | None = None,
        max_epochs: int | None = None,
        *,
        eta: int = 3,
        min_epochs: int = 1,
        n_configs: int | None = None,
        budget: int | None = None,
        stop_only: bool = False,
        budget_aware: bool = True,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        super().__init__(
            sampler, max_epochs, mode=mode, seed=seed, stopping=stopping, resource=resource
        )
        self.rung_epochs = asha_rungs(max_epochs, eta, min_epochs, resource=resource)
        if n_configs is None and budget is None:
            n_configs = default_trials(self.max_epochs, eta, min_epochs)
        if n_configs is not None:
            _check_positive_int("n_configs", n_configs)
        if budget is not None:
            _check_positive_int("budget", budget, self.rung_epochs[0])
        self.eta, self.min_epochs = eta, min_epochs
        self.n_configs, self.budget, self.stop_only = n_configs, budget, stop_only
        self.pauses_trials = not stop_only  # the stop-only form continues or stops, never pauses
        n = len(self.rung_epochs)
        # Per rung, sorted (score, trial id): ties rank by trial id, so that n tied trials
        # still promote exactly the top ⌊n/η⌋ (with bare scores, all would rank first).
        self._scores: list[list[tuple[float, int]]] = [[] for _ in range(n)]
        self._waiting: list[list[tuple[float, int]]] = [[] for _ in range(n)]  # heaps
        self._committed = 0  # epochs handed out in suggestions, including unfinished ones
        # The trials a budget carries through the rungs (every 1/η promoted): beyond them, a
        # new trial would take epochs that the promotions need.
        self._carried = self._budget_trials() if budget is not None and budget_aware else 0

    def planned_brackets(self) -> tuple[Bracket, ...]:
        """The rung sizes ASHA reaches if every rung fills: ``n, n/η, …``."""
        n = self.n_configs if self.budget is None else self._budget_trials()
        rungs = tuple(Rung(n // self.eta**i, e) for i, e in enumerate(self.rung_epochs))
        return (Bracket(len(rungs) - 1, rungs),)

    def _budget_trials(self) -> int:
        """The trials the budget carries up the rungs when every 1/η is promoted:
        ``B / Σ_i (e_i − e_{i−1}) / η^i`` (at most ``n_configs``)."""
        assert self.budget is not None
        per_trial = sum(
            (e if self.refits else e - p) / self.eta**i
            for i, (p, e) in enumerate(zip((0, *self.rung_epochs), self.rung_epochs, strict=False))
        )
        n = max(1, int(self.budget / per_trial))
        return n if self.n_configs is None else min(n, self.n_configs)

    def planned_budget(self) -> int:
        if self.budget is not None:
            return self.budget
        return super().planned_budget()

    def _affordable(self, epochs: int) -> bool:
        return self.budget is None or self._committed + epochs <= self.budget

    def _top_rung(self) -> int:
        """The highest rung a trial may be promoted to (PASHA grows it; ASHA's is R's)."""
        return len(self.rung_epochs) - 1

    def _promotable(self) -> tuple[int, int, int] | None:
        """(rung, trial id, rank) of the highest-rung paused trial that may be promoted."""
        for rung in range(self._top_rung() - 1, -1, -1):
            waiting = self._waiting[rung]
            while waiting and self.trials[waiting[0][1]].status.is_over:
                heapq.heappop(waiting)  # failed while paused: nothing to promote
            if not waiting:
                continue
            entry = waiting[0]
            trial_id = entry[1]
            scores = self._scores[rung]
            rank = bisect.bisect_left(scores, entry)
            if not in_top_fraction(rank, len(scores), self.eta):
                continue
            if self._affordable(self._cost(self.trials[trial_id], self.rung_epochs[rung + 1])):
                return rung, trial_id, rank
        return None

    def _may_start(self) -> bool:
        if self.n_configs is not None and len(self.trials) >= self.n_configs:
            return False
        if self._carried and len(self.trials) >= self._carried:
            return False  # the rest of the budget is for promotions
        return not self._sampler_exhausted and self._affordable(self.rung_epochs[0])

    def _next(self) -> Suggestion | None:
        found = None if self.stop_only else self._promotable()
        if found is not None:
            rung, trial_id, rank = found
            heapq.heappop(self._waiting[rung])
            trial = self.trials[trial_id]
            target = self.rung_epochs[rung + 1]
            self._committed += self._cost(trial, target)
            n = len(self._scores[rung])
            reason = (
                f"rung {rung} ({self.rung_epochs[rung]} epochs): rank {rank + 1} of {n}, "
                f"in the top {n // self.eta}"
            )
            return self._promote(trial, rung + 1, target, reason)
        config = self._sample() if self._may_start() else None
        if config is None:  # nothing new may start, or the sampler has just run out
            leftover = self._leftover()
            if leftover is None:
                return None
            rung, trial_id = leftover
            heapq.heappop(self._waiting[rung])
            trial, target = self.trials[trial_id], self.rung_epochs[rung + 1]
            self._committed += self._cost(trial, target)
            reason = (f"rung {rung} ({self.rung_epochs[rung]} epochs): no new trial can start and "
                      "the budget is not spent: the best paused trial of the highest rung goes on")  # fmt: skip
            return self._promote(trial, rung + 1, target, reason)
        first = self.rung_epochs[0]
        self._committed += first
        return self._new_trial(config, first, 0, 0, f"new trial at rung 0 ({first} epochs)")

    def _at_milestone(self, trial: TrialRecord) -> Decision:
        rung = trial.rung
        scores = self._scores[rung]
        entry = (trial.score, trial.trial_id)
        rank = bisect.bisect_left(scores, entry)
        scores.insert(rank, entry)
        if rung == len(self.rung_epochs) - 1:
            return self._complete(trial)
        where = f"rung {rung} ({self.rung_epochs[rung]} epochs)"
        if self.stop_only:
            keep = max(1, len(scores) // self.eta)
            if rank < keep:
                target = self.rung_epochs[rung + 1]
                if self._affordable(self._cost(trial, target)):
                    self._committed += self._cost(trial, target)
                    reason = f"{where}: rank {rank + 1} of {len(scores)}, in the top {keep}"
                    return self._continue_now(trial, rung + 1, target, reason)
                reason = f"{where}: the budget is spent"
            else:
                reason = f"{where}: rank {rank + 1} of {len(scores)}, not in the top {keep}"
            self._end(trial, TrialStatus.STOPPED, EventKind.STOP, reason)
            return Decision.STOP
        heapq.heappush(self._waiting[rung], (trial.score, trial.trial_id))
        return self._pause(trial, f"{where}: rank {rank + 1} of {len(scores)}, waits for promotion")

    def _on_stopped(self, trial: TrialRecord) -> None:
        # Epochs promised to a trial that ended early will not be spent (a refit spends
        # nothing before it reports).
        if trial.epochs < trial.target:
            self._committed -= trial.target if self.refits else trial.target - trial.epochs
        # A trial a stopping rule ended exactly at its rung still counts in that rung.
        if trial.epochs == self.rung_epochs[trial.rung] and trial.scores:
            scores, entry = self._scores[trial.rung], (trial.score, trial.trial_id)
            at = bisect.bisect_left(scores, entry)
            if at == len(scores) or scores[at] != entry:
                scores.insert(at, entry)

    def _leftover(self) -> tuple[int, int] | None:
        """(rung, trial id) to promote when the search would otherwise end with budget left.

        When ASHA can start no new trial (the sampler or table has run out, or
        ``n_configs`` are started), its ⌊n/η⌋ rule promotes no more, and nothing runs, the
        rest of a budget would go unspent, and the search's best would stop improving (a
        400-row table under a budget of 100 full trainings used to end at a fifth of it).
        Synchronous SH would finish its brackets instead; ASHA does the same here: the best
        paused trial of the highest rung goes on, one at a time, while the budget lasts."""
        if self.stop_only or self.budget is None or self.n_running or self._may_start():
            return None
        for rung in range(self._top_rung() - 1, -1, -1):
            waiting = self._waiting[rung]
            while waiting and self.trials[waiting[0][1]].status.is_over:
                heapq.heappop(waiting)
            if waiting:
                trial_id = waiting[0][1]
                if self._affordable(self._cost(self.trials[trial_id], self.rung_epochs[rung + 1])):
                    return rung, trial_id
        return None

    def _exhausted(self) -> bool:
        return (
            (self.stop_only or self._promotable() is None)
            and not self._may_start()
            and self._leftover() is None
        )
