"""The in-process runner: one trial at a time, for tests, debugging and small searches."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

from hpo.runners._base import Checkpoint, TrainerFactory, TrialResult, WarmTrainers, run_assignment
from hpo.types import Suggestion


class TrialTimeout(Exception):
    """Raised inside a trainer's step when it overran the trial's timeout."""

    def __str__(self) -> str:
        return "trial_timeout exceeded inside an epoch"


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise TrialTimeout in this (main) thread after ``seconds``; elsewhere, do nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise TrialTimeout

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class SerialRunner:
    """Runs each assignment to completion in this process when the tuner waits for it."""

    n_workers = 1

    def __init__(
        self,
        make_trainer: TrainerFactory,
        trial_timeout: float | None = None,
        resource: str = "epochs",
    ) -> None:
        self.warm = WarmTrainers(make_trainer, capacity=1)
        self.trial_timeout = trial_timeout
        self.resource = resource
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
        if not self.trial_timeout:
            return [run_assignment(self.warm, s, checkpoint, "local", resource=self.resource)]
        deadline = time.time() + self.trial_timeout
        with _alarm(self.trial_timeout + 1.0):  # a step stuck inside an epoch is interrupted too
            return [run_assignment(self.warm, s, checkpoint, "local", deadline=deadline,
                                   resource=self.resource)]  # fmt: skip

    def pause(self, trial_id: int) -> None:
        """A paused trial keeps its state in the study store; its live copy may go."""

    def discard(self, trial_id: int) -> None:
        self.warm.drop(trial_id)

    def close(self) -> None:
        self._queue.clear()
