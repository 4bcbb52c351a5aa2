"""Synchronous successive-halving brackets, shared by SuccessiveHalving and HyperBand.

A bracket is simply a list of rungs. Its trials start at the first rung; when every
trial of rung ``i`` has reported (or ended), the best ``n_{i+1}`` continue to rung
``i + 1`` (resumed, never retrained) and the rest stop. Brackets may run side by side:
when one waits for a rung to fill, the next one starts its trials, so workers stay busy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from hpo.budgets import Bracket, Rung
from hpo.samplers import Sampler
from hpo.schedulers._base import Scheduler, TrialRecord, TrialStatus
from hpo.types import Decision, EventKind, Mode, Suggestion


def keep_half(n: int) -> int:
    """The report's rule: keep the best ⌈n/2⌉."""
    return -(-n // 2)


def keep_fraction(eta: int, n: int) -> int:
    """HyperBand's and the η form's rule: keep the best ⌊n/η⌋ (bind η with partial)."""
    return n // eta


def keep_ceil_fraction(eta: int, n: int) -> int:
    """scikit-learn's halving rule: keep the best ⌈n/η⌉ (bind η with partial)."""
    return -(-n // eta)


def top_k(results: dict[int, float], k: int) -> list[int]:
    """The ``k`` best trial ids by score (lower is better), ties broken by trial id.

    >>> top_k({3: 0.5, 1: 0.2, 2: 0.5, 4: float("inf")}, 2)
    [1, 2]
    """
    return [t for _, t in sorted((score, t) for t, score in results.items())[:k]]


class _RunningBracket:
    """The live state of one bracket: who is at which rung, and who waits for promotion."""

    def __init__(self, index: int, plan: Bracket, keep: Callable[[int], int]) -> None:
        self.index = index
        self.plan = plan
        self.keep = keep
        self.capacity = [r.n_trials for r in plan.rungs]
        self.epochs = [r.epochs for r in plan.rungs]
        self.results: list[dict[int, float]] = [{} for _ in plan.rungs]
        self.resolved = [False] * len(plan.rungs)
        self.started = 0

    @property
    def wants_new(self) -> bool:
        return self.started < self.capacity[0]

    def shrink(self) -> None:
        """The sampler ran dry: the first rung holds only the trials already started, and
        each later rung keeps what the bracket's own rule keeps of the one before."""
        self.capacity[0] = self.started
        for i in range(1, len(self.capacity)):
            self.capacity[i] = min(self.capacity[i], self.keep(self.capacity[i - 1]))


class BracketScheduler(Scheduler):
    """Runs synchronous brackets side by side; subclasses choose the brackets."""

    def __init__(
        self,
        sampler: Sampler | None,
        brackets: Sequence[Bracket],
        *,
        keep: Callable[[int], int],
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        max_epochs = max(b.rungs[-1].epochs for b in brackets)
        super().__init__(
            sampler, max_epochs, mode=mode, seed=seed, stopping=stopping, resource=resource
        )
        self.brackets = [_RunningBracket(i, b, keep) for i, b in enumerate(brackets)]
        self._ready: deque[Suggestion] = deque()  # promotions, oldest first, any bracket
        self._first_new = 0  # brackets before this one have started all their trials
        self._n_resolved = 0  # brackets whose last rung is resolved

    def planned_brackets(self) -> tuple[Bracket, ...]:
        return tuple(b.plan for b in self.brackets)

    def _next(self) -> Suggestion | None:
        if self._ready:
            return self._ready.popleft()
        while self._first_new < len(self.brackets) and not self.brackets[self._first_new].wants_new:
            self._first_new += 1
        if self._first_new < len(self.brackets):
            bracket = self.brackets[self._first_new]
            config = self._sample()
            if config is None:
                for b in self.brackets[self._first_new :]:
                    b.shrink()
                    self._resolve_full_rungs(b, None)
                self._first_new = len(self.brackets)
                # Shrinking may have filled a rung: its promotions can run right away.
                return self._ready.popleft() if self._ready else None
            bracket.started += 1
            reason = f"bracket {bracket.index}: trial {bracket.started} of {bracket.capacity[0]}"
            return self._new_trial(config, bracket.epochs[0], bracket.index, 0, reason)
        return None

    def _at_milestone(self, trial: TrialRecord) -> Decision:
        bracket = self.brackets[trial.bracket]
        rung = trial.rung
        bracket.results[rung][trial.trial_id] = trial.score
        if rung == len(bracket.epochs) - 1:
            self._resolve_full_rungs(bracket, trial)
            return self._complete(trial, f"final rung of bracket {bracket.index}")
        promoted = self._resolve_full_rungs(bracket, trial)
        if promoted is not None:
            return promoted
        waiting = bracket.capacity[rung] - len(bracket.results[rung])
        return self._pause(
            trial,
            f"rung {rung} ({bracket.epochs[rung]} epochs) of bracket {bracket.index}: "
            f"waits for {waiting} more trial{'s' if waiting != 1 else ''}",
        )

    def _on_stopped(self, trial: TrialRecord) -> None:
        bracket = self.brackets[trial.bracket]
        results = bracket.results[trial.rung]
        if trial.trial_id not in results:
            results[trial.trial_id] = math.inf
            self._resolve_full_rungs(bracket, None)

    def _resolve_full_rungs(
        self, bracket: _RunningBracket, reporting: TrialRecord | None
    ) -> Decision | None:
        """Promote the best of every rung that has filled; say what becomes of ``reporting``."""
        decision = None
        for i in range(len(bracket.epochs)):
            if bracket.resolved[i] or len(bracket.results[i]) < bracket.capacity[i]:
                continue
            if bracket.capacity[i] == 0:
                bracket.resolved[i] = True
                self._n_resolved += i == len(bracket.epochs) - 1
                continue
            bracket.resolved[i] = True
            if i == len(bracket.epochs) - 1:
                self._n_resolved += 1
                continue
            keep = bracket.capacity[i + 1]
            ranked = top_k(bracket.results[i], len(bracket.results[i]))
            n, promoted = len(ranked), 0
            where = f"rung {i} ({bracket.epochs[i]} epochs) of bracket {bracket.index}"
            for rank, trial_id in enumerate(ranked, start=1):
                trial = self.trials[trial_id]
                if trial.status.is_over:  # stopped early: ranked last, never promoted
                    continue
                is_reporting = reporting is not None and trial_id == reporting.trial_id
                if rank <= keep:
                    promoted += 1
                    reason = f"{where}: rank {rank} of {n}, top {keep} continue"
                    if is_reporting:
                        decision = self._continue_now(trial, i + 1, bracket.epochs[i + 1], reason)
                    else:
                        self._ready.append(
                            self._promote(trial, i + 1, bracket.epochs[i + 1], reason)
                        )
                else:
                    reason = f"{where}: rank {rank} of {n}, only the top {keep} continue"
                    self._end(trial, TrialStatus.STOPPED, EventKind.STOP, reason)
                    if is_reporting:
                        decision = Decision.STOP
            # Trials that stopped early leave their places at the next rungs empty.
            bracket.capacity[i + 1] = promoted
            for j in range(i + 2, len(bracket.capacity)):
                bracket.capacity[j] = min(bracket.capacity[j], bracket.capacity[j - 1])
        return decision

    def _exhausted(self) -> bool:
        # A bracket's last rung resolves only once every one of its trials has ended.
        return not self._ready and self._n_resolved == len(self.brackets)


def describe(rungs: Sequence[Rung]) -> str:
    """``81@1 27@3 9@9``: trials at epochs, rung by rung."""
    return " ".join(f"{r.n_trials}@{r.epochs}" for r in rungs)
