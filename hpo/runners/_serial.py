"""The in-process runner: one trial at a time, for tests, debugging and small searches."""

from __future__ import annotations

import time

from hpo.runners._base import Checkpoint, TrainerFactory, TrialResult, WarmTrainers, run_assignment
from hpo.types import Suggestion


class SerialRunner:
    """Runs each assignment to completion in this process when the tuner waits for it."""

    n_workers = 1

    def __init__(self, make_trainer: TrainerFactory, trial_timeout: float | None = None) -> None:
        self.warm = WarmTrainers(make_trainer, capacity=1)
        self.trial_timeout = trial_timeout
        self._queue: list[tuple[Suggestion, Checkpoint | None]] = []

    @property
    def n_busy(self) -> int:
        return len(self._queue)

    def free_workers(self) -> int:
        return self.n_workers - len(self._queue)

    def is_warm(self, trial_id: int, epochs: int) -> bool:
        return self.warm.epochs(trial_id) == epochs

    def submit(self, suggestion: Suggestion, checkpoint: Checkpoint | None = None) -> None:
        self._queue.append((suggestion, checkpoint))

    def wait(self) -> list[TrialResult]:
        s, checkpoint = self._queue.pop(0)
        deadline = time.time() + self.trial_timeout if self.trial_timeout else None
        return [run_assignment(self.warm, s, checkpoint, "local", deadline=deadline)]

    def pause(self, trial_id: int) -> None:
        """A paused trial keeps its state in the study store; its live copy may go."""

    def discard(self, trial_id: int) -> None:
        self.warm.drop(trial_id)

    def close(self) -> None:
        self._queue.clear()
