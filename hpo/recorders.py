"""Where the tuner writes: the :class:`Recorder` protocol, and two recorders in memory.

The study store (:mod:`hpo.store`) is the recorder of a real search; :class:`MemoryRecorder`
keeps everything in lists (tests, library use without a database) and :class:`NullRecorder`
only the states that paused trials resume from (simulations of 100,000 trials). The tuner
is the only caller of a recorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hpo.runners._base import Checkpoint
from hpo.schedulers import Scheduler
from hpo.types import Event, Suggestion


class Recorder(Protocol):
    """Where the tuner writes: the study store, or memory in tests."""

    def on_suggestion(self, suggestion: Suggestion) -> None: ...

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None: ...  # fmt: skip

    def on_report(self, trial_id: int, epoch: int, value: float) -> None: ...

    def on_nothing(self) -> None: ...

    def on_failure(self, trial_id: int, reason: str) -> None: ...

    def on_event(self, event: Event) -> None: ...

    def on_checkpoint(self, trial_id: int, epoch: int, state: Any) -> None: ...

    def drop_checkpoint(self, trial_id: int) -> None: ...

    def checkpoint(self, trial_id: int) -> Checkpoint | None: ...

    def checkpoint_epoch(self, trial_id: int) -> int | None: ...

    def sync(self, scheduler: Scheduler) -> None: ...

    def commit(self) -> None: ...


@dataclass
class MemoryRecorder:
    """Keeps everything in lists: for tests and for library use without a database."""

    suggestions: list[Suggestion] = field(default_factory=list)
    epochs: list[tuple[int, int, dict, float, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    checkpoints: dict[int, Checkpoint] = field(default_factory=dict)
    nodes: dict[tuple[int, int], str | None] = field(default_factory=dict)  # (trial, epoch) -> node

    def on_suggestion(self, suggestion: Suggestion) -> None:
        self.suggestions.append(suggestion)

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None:  # fmt: skip
        self.epochs.append((trial_id, epoch, metrics, seconds, worker))
        self.nodes[trial_id, epoch] = node

    def on_report(self, trial_id: int, epoch: int, value: float) -> None:
        """The log matters only for resuming from a database."""

    def on_nothing(self) -> None:
        """The log matters only for resuming from a database."""

    def on_failure(self, trial_id: int, reason: str) -> None:
        """Failures also arrive as events."""

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_checkpoint(self, trial_id: int, epoch: int, state: Any) -> None:
        self.checkpoints[trial_id] = (epoch, state)

    def drop_checkpoint(self, trial_id: int) -> None:
        self.checkpoints.pop(trial_id, None)

    def checkpoint(self, trial_id: int) -> Checkpoint | None:
        return self.checkpoints.get(trial_id)

    def checkpoint_epoch(self, trial_id: int) -> int | None:
        saved = self.checkpoints.get(trial_id)
        return None if saved is None else saved[0]

    def sync(self, scheduler: Scheduler) -> None:
        """Nothing to copy: the scheduler itself is the record."""

    def commit(self) -> None:
        """Nothing buffered."""

    def curve(self, trial_id: int, metric: str) -> list[float]:
        return [m[metric] for t, _, m, _, _ in self.epochs if t == trial_id]


class NullRecorder(MemoryRecorder):
    """Records no history (for simulations of 100,000 trials, where the scheduler suffices);
    keeps only the saved states that paused trials need to resume."""

    def on_suggestion(self, suggestion: Suggestion) -> None:
        pass

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None:  # fmt: skip
        pass

    def on_event(self, event: Event) -> None:
        pass
