"""The common machinery of every scheduler: trial records, reports, rules, events.

A subclass says only what is particular to it:

* ``_next() -> Suggestion | None``: a promotion or a new trial, if one can run now;
* ``_at_milestone(trial) -> Decision``: the trial reached ``trial.target`` epochs;
* ``_on_stopped(trial)``: the trial ended early (a stopping rule, divergence, failure);
* ``_exhausted() -> bool``: nothing more will ever be suggested.

The base class validates reports, stops diverged trials at once, applies the
learning-curve stopping rules, keeps warm continuations at the front of the queue and
records every change as an :class:`~hpo.types.Event`.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo.budgets import Bracket
from hpo.samplers import Sampler
from hpo.types import Decision, Event, EventKind, Mode, Report, Suggestion

RESOURCES = ("epochs", "samples")


class TrialStatus(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    DIVERGED = "diverged"
    FAILED = "failed"

    @property
    def is_over(self) -> bool:
        return self not in (TrialStatus.PENDING, TrialStatus.RUNNING, TrialStatus.PAUSED)


@dataclass
class TrialRecord:
    """What a scheduler knows of one trial."""

    trial_id: int
    config: dict[str, Any]
    seed: int
    bracket: int = 0
    rung: int = 0  # index of the rung the trial is heading for (or reached)
    epochs: int = 0  # epochs trained so far
    until: int = 0  # end of the current assignment
    target: int = 0  # the scheduler's next milestone (until ≤ target when rules split)
    status: TrialStatus = TrialStatus.RUNNING
    score: float = math.inf  # latest score (lower is better)
    best_score: float = math.inf
    scores: list[float] = field(default_factory=list)


def trial_seed(study_seed: int, trial_id: int) -> int:
    """A trial's own seed, derived from the study's: same study seed, same trials."""
    return int(np.random.SeedSequence((study_seed, trial_id)).generate_state(1)[0])


def _arguments(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The constructor's arguments by name, as given (defaults left out); {} if they do not
    bind (``__init__`` then raises the real error)."""
    for klass in cls.__mro__:  # PASHA's __init__(*args, **kwargs) passes them on to ASHA's
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        if any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values()):
            continue
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError:
            return {}
        return {k: v for k, v in list(bound.arguments.items())[1:]}
    return {}


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid; expected an integer >= {minimum}")
    return int(value)


class Scheduler:
    """Base of all schedulers: an ask/tell state machine with no I/O, clock or Ray.

    Args:
        sampler: proposes configurations (random, grid, TPE); None for a declaration,
            a scheduler that :func:`hpo.search` turns into settings (``given`` holds the
            arguments as given) and builds again with the search's sampler.
        max_epochs: R, the most epochs any trial may get.
        mode: "max" or "min" of the objective; scores are minimised internally.
        seed: the study's seed, from which each trial's seed is derived.
        stopping: learning-curve stopping rules that may end a trial early.
        resource: what ``epochs`` count: ``"epochs"`` (training continues; a promotion
            pays only the epochs it adds) or ``"samples"`` (training-set size, as
            scikit-learn's halving: each assignment refits from scratch on that many
            samples, reports once at its end, and pays all of them).
        keep_curves: keep every trial's score history (needed by some rules).
    """

    name = "scheduler"
    #: Whether a trial may be paused (its worker freed, its state kept) and resumed later.
    #: A scheduler that only continues or stops trials sets False: a trainer that keeps no
    #: state can be searched by it.
    pauses_trials = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Scheduler:
        # What the caller gave, by name (``given``): a scheduler built without a sampler is a
        # declaration that :func:`hpo.search` turns into settings
        # (:func:`hpo.registry.settings_of`), so that a study records names and numbers only.
        self = super().__new__(cls)
        self.given = _arguments(cls, args, kwargs)
        return self

    def __init__(
        self,
        sampler: Sampler | None = None,
        max_epochs: int | None = None,
        *,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Iterable[Any] = (),
        resource: str = "epochs",
    ) -> None:
        if resource not in RESOURCES:
            raise ValueError(
                f"resource={resource!r} is unknown; expected one of {', '.join(RESOURCES)}"
            )
        self.resource = resource
        self.refits = resource == "samples"
        self.sampler = sampler
        self.max_epochs = _check_positive_int(
            "max_resources" if self.refits else "max_epochs", max_epochs
        )
        self.mode = Mode.parse(mode)
        self.seed = int(seed)
        self.rules = list(stopping)
        for rule in self.rules:
            rule.bind(self)
        self.trials: dict[int, TrialRecord] = {}
        self.n_running = 0
        self.epochs_spent = 0
        self.best_trial: int | None = None
        self.best_score = math.inf
        self._queue: deque[Suggestion] = deque()
        self._events: deque[Event] = deque(maxlen=1_000_000)
        self._sampler_exhausted = False

    # -- the public ask/tell interface ------------------------------------------------------

    def suggest(self) -> Suggestion | None:
        """What to run next, or None if nothing can start now (see :meth:`is_finished`)."""
        suggestion = self._queue.popleft() if self._queue else self._next()
        if suggestion is None:
            return None
        trial = self.trials[suggestion.trial_id]
        # A stopping rule that checks between milestones splits the assignment.
        until = min(suggestion.until_epoch, self._next_check(trial.epochs, trial.target))
        if until != suggestion.until_epoch:
            suggestion = Suggestion(**{**suggestion.__dict__, "until_epoch": until})
        trial.until = until
        if trial.status is not TrialStatus.RUNNING:
            trial.status = TrialStatus.RUNNING
            self.n_running += 1
        return suggestion

    def on_report(self, report: Report) -> Decision:
        """Take one epoch's objective value of a running trial; say what happens next."""
        trial = self.trials.get(report.trial_id)
        if trial is None or trial.status is not TrialStatus.RUNNING:
            state = "unknown" if trial is None else trial.status.value
            raise ValueError(f"report for trial {report.trial_id}, which is {state}, not running")
        expected = trial.until if self.refits else trial.epochs + 1
        if report.epoch != expected:
            unit = "samples" if self.refits else "epoch"
            raise ValueError(
                f"report for trial {report.trial_id} at {unit} {report.epoch}; expected {unit} "
                f"{expected}" + ("" if self.refits else f" (at most {trial.until})")
            )
        score = self.mode.score(report.value)
        # A refit trains on all of its samples again: it costs them all.
        self.epochs_spent += report.epoch if self.refits else 1
        trial.epochs = report.epoch
        trial.score = score
        trial.scores.append(score)
        if not math.isfinite(score):
            self._end(
                trial, TrialStatus.DIVERGED, EventKind.DIVERGE, "objective is NaN or infinite"
            )
            return Decision.STOP
        if score < trial.best_score:
            trial.best_score = score
        if score < self.best_score:
            self.best_score, self.best_trial = score, trial.trial_id
        for rule in self.rules:
            rule.observe(trial, report.epoch, score)
        if report.epoch < trial.until:
            return Decision.CONTINUE
        for rule in self.rules:
            reason = rule.should_stop(trial, report.epoch, score)
            if reason:
                self._end(trial, TrialStatus.STOPPED, EventKind.STOP, reason)
                return Decision.STOP
        if report.epoch < trial.target:  # a rule's check point, not a milestone
            self._queue.appendleft(self._resume_suggestion(trial, trial.target))
            return Decision.CONTINUE
        self.sampler.observe(trial.config, trial.epochs, score)  # type: ignore[union-attr]
        return self._at_milestone(trial)

    def on_failure(self, trial_id: int, reason: str) -> None:
        """A trial failed for good (an exception, a timeout, a lost worker, a state that
        could not be saved); running or paused, it ends here."""
        trial = self.trials[trial_id]
        if not trial.status.is_over:
            self._end(trial, TrialStatus.FAILED, EventKind.FAIL, reason)

    def pop_events(self) -> list[Event]:
        """Every state change since the last call, oldest first."""
        events = list(self._events)
        self._events.clear()
        return events

    def queued(self) -> list[Suggestion]:
        """Continuations already decided (CONTINUE at a milestone), next in line."""
        return list(self._queue)

    def is_finished(self) -> bool:
        """True when no trial runs and nothing will ever be suggested again."""
        return self.n_running == 0 and not self._queue and self._exhausted()

    def finish(self) -> None:
        """Close the search: paused trials that nothing will resume are stopped, with why."""
        for trial in self.trials.values():
            if trial.status is TrialStatus.PAUSED:
                self._end(trial, TrialStatus.STOPPED, EventKind.STOP, "not promoted before the end")

    @property
    def best_value(self) -> float:
        return self.mode.value(self.best_score)

    def planned_brackets(self) -> tuple[Bracket, ...]:
        """The brackets (rungs of trials × epochs) this scheduler plans to run."""
        raise NotImplementedError

    def planned_budget(self) -> int:
        return sum(b.refit_budget if self.refits else b.budget for b in self.planned_brackets())

    def _cost(self, trial: TrialRecord, target: int) -> int:
        """What taking ``trial`` to ``target`` costs: the epochs it adds, or a whole refit."""
        return target if self.refits else target - trial.epochs

    # -- helpers for subclasses ---------------------------------------------------------------

    def _sample(self) -> dict[str, Any] | None:
        if self._sampler_exhausted:
            return None
        if self.sampler is None:
            raise RuntimeError(
                f"this {type(self).__name__} has no sampler: build it with one "
                f"({type(self).__name__}(RandomSampler(space), ...)), or hand it to "
                "hpo.search(train, space, scheduler=...), which gives it the search's"
            )
        config = self.sampler.sample()
        if config is None:
            self._sampler_exhausted = True
        return config

    def _new_trial(
        self,
        config: Mapping[str, Any],
        target: int,
        bracket: int = 0,
        rung: int = 0,
        reason: str = "",
    ) -> Suggestion:
        trial_id = len(self.trials)
        trial = TrialRecord(
            trial_id,
            dict(config),
            trial_seed(self.seed, trial_id),
            bracket,
            rung,
            0,
            target,
            target,
        )
        trial.status = TrialStatus.PENDING  # becomes RUNNING in suggest()
        self.trials[trial_id] = trial
        self._events.append(Event(trial_id, EventKind.START, 0, reason))
        return Suggestion(trial_id, trial.config, trial.seed, target, False, bracket, rung)

    def _resume_suggestion(self, trial: TrialRecord, target: int) -> Suggestion:
        trial.target = target
        return Suggestion(
            trial.trial_id,
            trial.config,
            trial.seed,
            target,
            True,
            trial.bracket,
            trial.rung,
            trial.epochs,
        )

    def _promote(self, trial: TrialRecord, rung: int, target: int, reason: str) -> Suggestion:
        """Resume a paused (or just reported) trial up to ``target`` at rung ``rung``."""
        trial.rung = rung
        self._events.append(Event(trial.trial_id, EventKind.PROMOTE, trial.epochs, reason))
        return self._resume_suggestion(trial, target)

    def _pause(self, trial: TrialRecord, reason: str) -> Decision:
        trial.status = TrialStatus.PAUSED
        self.n_running -= 1
        self._events.append(Event(trial.trial_id, EventKind.PAUSE, trial.epochs, reason))
        return Decision.PAUSE

    def _continue_now(self, trial: TrialRecord, rung: int, target: int, reason: str) -> Decision:
        """Keep a trial warm at its milestone: its continuation is the next suggestion."""
        self._queue.appendleft(self._promote(trial, rung, target, reason))
        return Decision.CONTINUE

    def _end(self, trial: TrialRecord, status: TrialStatus, kind: EventKind, reason: str) -> None:
        was_running = trial.status is TrialStatus.RUNNING
        trial.status = status
        if was_running:
            self.n_running -= 1
        if any(s.trial_id == trial.trial_id for s in self._queue):  # a decided continuation is void
            self._queue = deque(s for s in self._queue if s.trial_id != trial.trial_id)
        self._events.append(Event(trial.trial_id, kind, trial.epochs, reason))
        if status is not TrialStatus.COMPLETED:
            self._on_stopped(trial)

    def _complete(self, trial: TrialRecord, reason: str = "") -> Decision:
        self._end(trial, TrialStatus.COMPLETED, EventKind.COMPLETE, reason or "reached max_epochs")
        return Decision.STOP

    def _next_check(self, epochs: int, target: int) -> int:
        """The first epoch after ``epochs`` at which some rule wants to look (≤ target)."""
        if self.refits:  # a refit reports only at its end
            return target
        until = target
        for rule in self.rules:
            every = getattr(rule, "check_every", None)
            if every:
                until = min(until, (epochs // every + 1) * every)
        return until

    # -- what subclasses define -------------------------------------------------------------------

    def _next(self) -> Suggestion | None:
        raise NotImplementedError

    def _at_milestone(self, trial: TrialRecord) -> Decision:
        raise NotImplementedError

    def _on_stopped(self, trial: TrialRecord) -> None:
        """A trial ended before its milestone; synchronous brackets count it as last."""

    def _exhausted(self) -> bool:
        raise NotImplementedError
