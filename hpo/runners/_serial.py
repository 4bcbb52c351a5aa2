"""The in-process runner: one trial at a time, for tests, debugging and small searches."""

from __future__ import annotations

import time
from typing import Any

from hpo.runners._base import Trainer, TrainerFactory, TrialResult, describe_error, train_assignment
from hpo.types import Suggestion


class SerialRunner:
    """Runs each assignment to completion in this process when the tuner waits for it.

    Trials that continue at once stay live; paused trials are kept as their saved state
    (``trainer.save()``), so memory holds one live trainer per warm trial only.
    """

    n_workers = 1

    def __init__(self, make_trainer: TrainerFactory, clock: Any = time.perf_counter) -> None:
        self.make_trainer = make_trainer
        self.clock = clock
        self._live: dict[int, Trainer] = {}
        self._paused: dict[int, Any] = {}
        self._queue: list[Suggestion] = []

    @property
    def n_busy(self) -> int:
        return len(self._queue)

    def free_workers(self) -> int:
        return self.n_workers - len(self._queue)

    def submit(self, suggestion: Suggestion) -> None:
        self._queue.append(suggestion)

    def wait(self) -> list[TrialResult]:
        s = self._queue.pop(0)
        trainer = self._live.get(s.trial_id)
        try:
            if trainer is None:
                trainer = self.make_trainer()
                if s.trial_id in self._paused:
                    trainer.restore(self._paused.pop(s.trial_id))
                elif s.resume:  # never retrain a promoted trial from scratch
                    raise LookupError(f"no saved state for trial {s.trial_id} to resume from")
                else:
                    trainer.setup(dict(s.config), s.seed)
        except Exception as exc:
            return [TrialResult(s.trial_id, error=describe_error(exc))]
        self._live[s.trial_id] = trainer
        return [train_assignment(trainer, s.trial_id, s.from_epoch, s.until_epoch, self.clock)]

    def pause(self, trial_id: int) -> None:
        """Keep the trial's state (not its live object) for a later resume."""
        trainer = self._live.pop(trial_id, None)
        if trainer is not None:
            self._paused[trial_id] = trainer.save()

    def discard(self, trial_id: int) -> None:
        self._live.pop(trial_id, None)
        self._paused.pop(trial_id, None)

    def close(self) -> None:
        self._live.clear()
        self._paused.clear()
