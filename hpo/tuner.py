"""The tuner: the one short loop that joins a scheduler, a runner and the study record.

It is the only place that talks to both the scheduler and a runner, and the only writer
of the study store. The loop reads like the algorithm: ask, run, tell, record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpo.runners._base import TrialResult
from hpo.schedulers import Scheduler
from hpo.types import Decision, Event, Report, Suggestion


class Recorder(Protocol):
    """Where the tuner writes: the study store, or memory in tests."""

    def on_suggestion(self, suggestion: Suggestion) -> None: ...

    def on_epoch(
        self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str
    ) -> None: ...

    def on_event(self, event: Event) -> None: ...


@dataclass
class MemoryRecorder:
    """Keeps everything in lists: for tests and for library use without a database."""

    suggestions: list[Suggestion] = field(default_factory=list)
    epochs: list[tuple[int, int, dict, float, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def on_suggestion(self, suggestion: Suggestion) -> None:
        self.suggestions.append(suggestion)

    def on_epoch(
        self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str
    ) -> None:
        self.epochs.append((trial_id, epoch, metrics, seconds, worker))

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def curve(self, trial_id: int, metric: str) -> list[float]:
        return [m[metric] for t, _, m, _, _ in self.epochs if t == trial_id]


class Runner(Protocol):
    def free_workers(self) -> int: ...

    @property
    def n_busy(self) -> int: ...

    def submit(self, suggestion: Suggestion) -> None: ...

    def wait(self) -> list[TrialResult]: ...

    def pause(self, trial_id: int) -> None: ...

    def discard(self, trial_id: int) -> None: ...


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays."""

    running: int
    paused: int
    finished: int
    epochs_spent: int
    planned_budget: int
    best_value: float
    best_trial: int | None


class Tuner:
    """Drives ``scheduler`` with ``runner`` and records into ``recorder``.

    Args:
        scheduler: any :class:`~hpo.schedulers.Scheduler`.
        runner: serial, Ray or simulated.
        recorder: the study store (or :class:`MemoryRecorder`).
        metric: the metric of each epoch that the scheduler optimises.
        on_progress: called after each batch of results (for progress bars).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        runner: Runner,
        recorder: Recorder | None = None,
        *,
        metric: str = "val_accuracy",
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.scheduler, self.runner, self.metric = scheduler, runner, metric
        self.recorder = recorder if recorder is not None else MemoryRecorder()
        self.on_progress = on_progress

    def run(self) -> Scheduler:
        """Run the search to the end; returns the scheduler (its trials and best)."""
        scheduler, runner = self.scheduler, self.runner
        while True:
            while runner.free_workers() > 0:
                suggestion = scheduler.suggest()
                if suggestion is None:
                    break
                self.recorder.on_suggestion(suggestion)
                runner.submit(suggestion)
            self._record_events()
            if scheduler.is_finished():
                break
            if runner.n_busy == 0:
                raise RuntimeError(
                    f"{scheduler.name} has nothing to run and is not finished (a scheduler bug)"
                )
            for result in runner.wait():
                self._tell(result)
            self._record_events()
            if self.on_progress is not None:
                self.on_progress(self.progress())
        scheduler.finish()
        self._record_events()
        return scheduler

    def progress(self) -> Progress:
        s = self.scheduler
        paused = sum(1 for t in s.trials.values() if t.status.value == "paused")
        finished = sum(1 for t in s.trials.values() if t.status.is_over)
        return Progress(
            s.n_running,
            paused,
            finished,
            s.epochs_spent,
            s.planned_budget(),
            s.best_value,
            s.best_trial,
        )

    def _tell(self, result: TrialResult) -> None:
        """Feed one assignment's epochs to the scheduler, in order, and act on its decisions."""
        decision = Decision.CONTINUE
        for r in result.epochs:
            metrics = dict(r.metrics)
            self.recorder.on_epoch(result.trial_id, r.epoch, metrics, r.seconds, result.worker)
            value = float(metrics.get(self.metric, math.nan))
            decision = self.scheduler.on_report(Report(result.trial_id, r.epoch, value))
            if decision is not Decision.CONTINUE:
                break
        if result.error is not None and decision is Decision.CONTINUE:
            self.scheduler.on_failure(result.trial_id, result.error)
            decision = Decision.STOP
        if decision is Decision.PAUSE:
            self.runner.pause(result.trial_id)
        elif decision is Decision.STOP:
            self.runner.discard(result.trial_id)

    def _record_events(self) -> None:
        for event in self.scheduler.pop_events():
            self.recorder.on_event(event)


def run_search(
    scheduler: Scheduler, make_trainer: Callable[[], Any], metric: str = "val_accuracy"
) -> Scheduler:
    """Run a search serially in this process (a convenience for scripts and notebooks)."""
    from hpo.runners import SerialRunner

    return Tuner(scheduler, SerialRunner(make_trainer), metric=metric).run()
