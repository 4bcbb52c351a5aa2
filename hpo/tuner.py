"""The tuner: the one short loop that joins a scheduler, a runner and the study record.

It is the only place that talks to both the scheduler and a runner, and the only writer
of the study store, which it writes through the :class:`~hpo.recorders.Recorder` protocol
(:mod:`hpo.recorders` also has recorders in memory). The loop reads like the algorithm:
ask, run, tell, record.

Every scheduler call is also written to the store's log, in order; a resumed search
replays that log into a fresh scheduler (schedulers are deterministic), then restarts
the trials that were running from their last saved states.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hpo.errors import HpoError
from hpo.recorders import MemoryRecorder, Recorder
from hpo.recorders import NullRecorder as NullRecorder  # its old home: hpo.tuner.NullRecorder
from hpo.runners._base import Checkpoint, EpochResult, TrialResult, is_diverged
from hpo.schedulers import Scheduler, TrialRecord, TrialStatus
from hpo.types import Decision, EventKind, Report, Suggestion

_TERMINAL = frozenset({EventKind.STOP, EventKind.COMPLETE, EventKind.DIVERGE, EventKind.FAIL})


class Runner(Protocol):
    def free_workers(self) -> int: ...

    @property
    def n_busy(self) -> int: ...

    def is_warm(self, trial_id: int, epochs: int) -> bool: ...

    def submit(self, suggestion: Suggestion, checkpoint: Checkpoint | None = None) -> None: ...

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
    workers: int | None = None  # live workers, where the runner knows (Ray)


class ReplayError(HpoError, RuntimeError):
    """The recorded log does not replay into the same decisions (code or settings changed)."""


class Tuner:
    """Drives ``scheduler`` with ``runner`` and records into ``recorder``.

    Args:
        scheduler: any :class:`~hpo.schedulers.Scheduler`.
        runner: serial, Ray or simulated; None when the caller runs the trials itself
            and only uses :meth:`ask`, :meth:`tell_epoch` and :meth:`flush` (the service).
        recorder: the study store (or :class:`MemoryRecorder`).
        metric: the metric of each epoch that the scheduler optimises.
        max_failures: retries of an assignment whose worker died, before the trial fails.
        on_progress: called after each batch of results (for progress displays).
        flush_every: seconds between writes to the store (0: after every batch). A
            simulation of 100,000 trials writes in bigger transactions; a crash then
            loses at most that much, which a resume recomputes.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        runner: Runner | None,
        recorder: Recorder | None = None,
        *,
        metric: str = "val_accuracy",
        max_failures: int = 2,
        on_progress: Callable[[Progress], None] | None = None,
        flush_every: float = 0.0,
    ) -> None:
        self.scheduler, self.runner, self.metric = scheduler, runner, metric
        self.flush_every = flush_every
        self._last_flush = 0.0
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.max_failures = max_failures
        self.on_progress = on_progress
        self._recovering: list[Suggestion] = []  # assignments cut short by a crash
        self._skip: dict[int, int] = {}  # trial -> epochs already recorded before a resume
        self._retries: dict[int, int] = {}
        self._submitted: dict[int, Suggestion] = {}
        self._stopping = False
        self.stop_status: str | None = None
        self._asked_in_vain = False  # the last call on the tape was a suggestion of nothing

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> Scheduler:
        """Run the search to the end; returns the scheduler (its trials and best)."""
        scheduler, runner, record = self.scheduler, self.runner, self.recorder
        if runner is None:
            raise ValueError("Tuner.run needs a runner; without one, drive ask/tell_epoch yourself")
        unwritten = False
        while True:
            while runner.free_workers() > 0 and not self._stopping:
                suggestion = self.next_assignment()
                if suggestion is None:
                    break
                self._submit(suggestion)
            if unwritten and time.monotonic() - self._last_flush >= self.flush_every:
                self.flush()  # the last batch is written while the workers train the next
                self._last_flush = time.monotonic()
                unwritten = False
                if self.on_progress is not None:
                    self.on_progress(self.progress())
            if scheduler.is_finished() and not self._recovering:
                break
            if self._stopping and runner.n_busy == 0:
                self.flush()
                record.commit()
                return scheduler
            if runner.n_busy == 0:
                raise RuntimeError(
                    f"{scheduler.name} has nothing to run and is not finished (a bug)"
                )
            for result in runner.wait():
                self._tell(result)
            unwritten = True
        scheduler.finish()
        self.flush()
        record.commit()
        return scheduler

    def stop(self, status: str = "stopped") -> None:
        """Ask a running :meth:`run` (in another thread) to return once the trials in
        flight report; what was recorded stays. ``status`` is what the study is marked:
        ``stopped`` by its user, ``interrupted`` by a server going down (resumed later)."""
        self._stopping = True
        self.stop_status = status

    def retry_running(self, trial: TrialRecord) -> None:
        """Run a running trial's assignment again (its worker is gone): from its last saved
        state up to the same end."""
        self._recovering.append(
            Suggestion(trial.trial_id, trial.config, trial.seed, trial.until, True,
                       trial.bracket, trial.rung, trial.epochs)
        )  # fmt: skip

    def retry_first(self, suggestion: Suggestion) -> None:
        """Hand ``suggestion`` out next, before anything else (a promotion that waited)."""
        self._recovering.insert(0, suggestion)

    def forget_recovering(self, trial_ids: set[int]) -> None:
        """Those trials are not to be restarted (their workers still train them)."""
        self._recovering = [s for s in self._recovering if s.trial_id not in trial_ids]

    @property
    def recovering(self) -> bool:
        """Whether assignments wait to be run again."""
        return bool(self._recovering)

    def next_assignment(self) -> Suggestion | None:
        """An assignment cut short by a crash or a lost worker first, else the scheduler's
        next suggestion (recorded on the tape)."""
        return self._recovering.pop(0) if self._recovering else self.ask()

    def ask(self) -> Suggestion | None:
        """The scheduler's next suggestion, recorded on the tape."""
        suggestion = self.scheduler.suggest()
        if suggestion is not None:
            self.recorder.on_suggestion(suggestion)
            self._asked_in_vain = False
        elif not self._asked_in_vain:
            # Even an empty answer can change a scheduler (a sampler found dry): the tape
            # keeps it, so that a replay asks at exactly the same moments. Asking again
            # before anything else happens changes nothing, so only the first is kept.
            self.recorder.on_nothing()
            self._asked_in_vain = True
        return suggestion

    def _submit(self, s: Suggestion) -> None:
        checkpoint = None
        if s.resume and not self.runner.is_warm(s.trial_id, s.from_epoch):
            checkpoint = self.recorder.checkpoint(s.trial_id)
            if checkpoint is None and s.from_epoch > 0 and s.trial_id not in self._skip:
                raise RuntimeError(f"trial {s.trial_id} has no saved state to resume from (a bug)")
        self._submitted[s.trial_id] = s
        self.runner.submit(s, checkpoint)

    def _tell(self, result: TrialResult) -> None:
        """Feed one assignment's epochs to the scheduler, in order, and act on its decisions."""
        trial_id = result.trial_id
        if result.lost_worker and self._retry(result):
            return
        self._retries.pop(trial_id, None)  # max_failures counts attempts of one assignment
        last = result.epochs[-1].epoch if result.epochs else 0
        if result.state is not None and last > 0:
            # The state goes in before the reports: a batch cut short by Ctrl-C then never
            # holds a paused trial without the state it resumes from.
            self.recorder.on_checkpoint(trial_id, last, result.state)
        decision = Decision.CONTINUE
        already = self._skip.pop(trial_id, 0)
        for r in result.epochs:
            if r.epoch <= already:  # recorded before a crash; retrained only to get the state back
                continue
            decision = self.tell_epoch(trial_id, r, result.worker, node=result.node)
            if decision is not Decision.CONTINUE:
                break
        self._submitted.pop(trial_id, None)
        trial = self.scheduler.trials[trial_id]
        if (
            decision is not Decision.STOP
            and result.error is None
            and trial.status is TrialStatus.RUNNING
        ):
            if trial.epochs < trial.until:
                result.error = f"the worker returned after epoch {trial.epochs} of {trial.until} without a reason"
            elif result.state is None:
                result.error = "the trainer returned no state to resume from"
        if result.error is not None and not trial.status.is_over:
            # An error, or a state that could not be saved: the trial cannot go on.
            self.fail(trial_id, result.error)
            decision = Decision.STOP
        if decision is Decision.STOP or trial.status.is_over:
            self.recorder.drop_checkpoint(trial_id)
            self.runner.discard(trial_id)
        elif decision is Decision.PAUSE:
            self.runner.pause(trial_id)

    def tell_epoch(
        self, trial_id: int, result: EpochResult, worker: str, *, node: str | None = None
    ) -> Decision:
        """Record one trained epoch (and the worker and node that trained it) and tell the
        scheduler; returns its decision."""
        # A trainer that says it diverged (or whose loss is NaN) stops, whatever its metric.
        metrics = result.metrics
        value = math.nan if is_diverged(metrics) else float(metrics.get(self.metric, math.nan))
        self.recorder.on_epoch(
            trial_id, result.epoch, dict(metrics), result.seconds, worker, value, result.ended_at,
            node=node,
        )  # fmt: skip
        self.recorder.on_report(trial_id, result.epoch, value)
        self._asked_in_vain = False
        return self.scheduler.on_report(Report(trial_id, result.epoch, value))

    def fail(self, trial_id: int, reason: str) -> None:
        """The trial failed for good: recorded, and the scheduler told."""
        self.recorder.on_failure(trial_id, reason)
        self._asked_in_vain = False
        self.scheduler.on_failure(trial_id, reason)
        self.recorder.drop_checkpoint(trial_id)

    def _retry(self, result: TrialResult) -> bool:
        """A worker died: run the assignment again from the last saved state, a few times."""
        trial_id = result.trial_id
        self._retries[trial_id] = self._retries.get(trial_id, 0) + 1
        s = self._submitted.get(trial_id)
        if s is None or self._retries[trial_id] > self.max_failures:
            self.fail(
                trial_id, f"{result.error or 'worker died'} ({self._retries[trial_id]} attempts)"
            )
            self._submitted.pop(trial_id, None)
            return True
        self._recovering.append(s)
        return True

    def flush(self, *, commit: bool = True) -> None:
        """Record the scheduler's events and every touched trial, in one transaction
        (``commit=False``: only buffered, for a caller that commits several at once)."""
        for event in self.scheduler.pop_events():
            self.recorder.on_event(event)
            if event.kind in _TERMINAL:  # e.g. a paused trial stopped by a rung: its state goes
                self.recorder.drop_checkpoint(event.trial_id)
        self.recorder.sync(self.scheduler)
        if commit:
            self.recorder.commit()

    def progress(self) -> Progress:
        s = self.scheduler
        counts = {status: 0 for status in TrialStatus}
        for t in s.trials.values():
            counts[t.status] += 1
        finished = sum(n for status, n in counts.items() if status.is_over)
        return Progress(
            s.n_running, counts[TrialStatus.PAUSED], finished, s.epochs_spent, s.planned_budget(),
            s.best_value, s.best_trial, getattr(self.runner, "live_workers", None),
        )  # fmt: skip

    # -- resuming ------------------------------------------------------------------------------------

    def replay(self, log: Iterable[Any]) -> int:
        """Rebuild the scheduler's state from a recorded log; returns the entries replayed.

        Trials that were running when the search stopped are queued to restart from
        their last saved state; epochs already recorded are not recorded again.
        """
        scheduler, n = self.scheduler, 0
        for entry in log:
            n += 1
            self._asked_in_vain = entry.kind == "none"
            if entry.kind == "suggest":
                s = scheduler.suggest()
                if (
                    s is None
                    or (s.trial_id, s.until_epoch) != (entry.trial_id, entry.epoch)
                    or (
                        entry.info is not None
                        and json.loads(entry.info)
                        != json.loads(json.dumps(dict(s.config), default=list))
                    )
                ):
                    got = (
                        "nothing"
                        if s is None
                        else f"trial {s.trial_id} to epoch {s.until_epoch} with {dict(s.config)}"
                    )
                    raise ReplayError(
                        f"the study's log does not replay: entry {entry.seq} expected trial "
                        f"{entry.trial_id} to epoch {entry.epoch}, the scheduler gave {got} "
                        "(were the code or the settings changed?)"
                    )
            elif entry.kind == "none":
                s = scheduler.suggest()
                if s is not None:
                    raise ReplayError(
                        f"the study's log does not replay: entry {entry.seq} expected no suggestion, "
                        f"the scheduler gave trial {s.trial_id} (were the code or the settings changed?)"
                    )
            elif entry.kind == "report":
                scheduler.on_report(Report(entry.trial_id, entry.epoch, entry.value))
            elif entry.kind == "failure":
                scheduler.on_failure(entry.trial_id, entry.info or "")
        scheduler.pop_events()  # recorded the first time round
        queued = {s.trial_id for s in scheduler.queued()}
        for trial in scheduler.trials.values():
            if trial.status is TrialStatus.RUNNING and trial.trial_id not in queued:
                self.retry_running(trial)
        # Any trial that may train again (running, queued or paused) whose saved state is
        # older than what was recorded retrains from that state, and the epochs already
        # recorded are not recorded twice.
        for trial in scheduler.trials.values():
            if trial.status.is_over or trial.epochs == 0:
                continue
            saved = self.recorder.checkpoint_epoch(trial.trial_id)
            if saved is None or saved < trial.epochs:
                self._skip[trial.trial_id] = trial.epochs
        return n


def run_search(
    scheduler: Scheduler, make_trainer: Callable[[], Any], metric: str = "val_accuracy"
) -> Scheduler:
    """Run a search serially in this process (a convenience for scripts and notebooks)."""
    from hpo.runners import SerialRunner

    return Tuner(scheduler, SerialRunner(make_trainer), metric=metric).run()
