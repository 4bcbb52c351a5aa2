"""One study served over the API: a tuner whose runner is the outside world.

Clients ask for work and report epochs; this class turns that into the same scheduler
calls, on the same tape, as ``hpo run`` makes:

* ``suggest(client_id)`` is the tuner asking its scheduler. The answer is an
  *assignment*: a trial, the epochs to train (``from_epoch`` + 1 … ``until_epoch``) and a
  *lease* that the client renews by reporting (or by heartbeats).
* ``measure(...)`` is the tuner telling the scheduler one epoch and recording it; it
  returns ``continue``, ``pause`` or ``stop``. When the scheduler keeps a trial warm at
  its milestone (CONTINUE), the same client's assignment grows to the next milestone.
* A lease that expires is a worker that died: the trial is issued again from its last
  checkpoint (epochs already recorded are acknowledged, not recorded twice), at most
  ``max_failures`` times, then it fails with the reason.
* A paused trial's client uploads its checkpoint; until it does (or moves on, or its
  lease runs out) a promotion of that trial is *parked*, so that nobody resumes a trial
  whose state has not arrived yet.

Leases, assignments and answers are kept in :mod:`hpo.service._leases`, refusals typed
in :mod:`hpo.service._errors`.

Every call that changes something commits one transaction before it answers: a server
killed at any moment restarts from the tape (``Tuner.replay``) with the leases it had
handed out, and clients that retry get the answers they would have got.

No HTTP here and no clock of its own (``clock`` is injected): tested without a server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from hpo.launch import make_plan
from hpo.runners._base import EpochResult, is_diverged
from hpo.service._errors import Conflict, Gone, Invalid, NotFound
from hpo.service._leases import HOLDING, TRAINING, Assignment, Lease, LeaseBook, Told
from hpo.settings import SearchSettings
from hpo.store import StudyWriter
from hpo.tuner import Tuner
from hpo.types import Decision, Suggestion


class ServedStudy:
    """A study whose trials are trained by clients of the service.

    Args:
        settings: the search (space, scheduler, metric, ``max_failures``, ``lease_seconds``).
        writer: the study's writer, created or opened by the caller.
        clock: seconds since the epoch (injected for tests).
        autocommit: commit every change before returning; the server instead commits
            the changes of many requests at once, before it answers any of them.
    """

    def __init__(
        self,
        settings: SearchSettings,
        writer: StudyWriter,
        *,
        clock: Callable[[], float] = time.time,
        autocommit: bool = True,
    ) -> None:
        self.settings = settings
        self.autocommit = autocommit  # False: the caller commits (the server, once per batch)
        self.name = writer.name
        self.writer = writer
        self.clock = clock
        self.scheduler = settings.build_scheduler()
        self.plan = make_plan(settings, self.scheduler)
        self.tuner = Tuner(
            self.scheduler, None, writer, metric=settings.metric, max_failures=settings.max_failures
        )
        self.status = "running"
        self.leases = LeaseBook(writer, clock, settings.lease_seconds)
        self._parked: dict[int, Suggestion] = {}  # promotions waiting for a checkpoint

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def reopen(
        cls,
        settings: SearchSettings,
        writer: StudyWriter,
        *,
        clock: Callable[[], float] = time.time,
        autocommit: bool = True,
    ) -> ServedStudy:
        """Rebuild a study after a restart: replay the tape, take back the leases handed out
        (their clients get ``lease_seconds`` from now to be heard again)."""
        study = cls(settings, writer, clock=clock, autocommit=autocommit)
        study.tuner.replay(writer.log())
        trials = study.scheduler.trials
        study.leases.take_back(
            writer.leases(), lambda t: t not in trials or trials[t].status.is_over
        )
        # A trial whose client still holds it goes on with that client, not with a new one.
        training = {t for t, lease in study.leases.items() if lease.state == TRAINING}
        study.tuner.forget_recovering(training)
        study._commit()
        return study

    def stop(self) -> None:
        """End the study now: leases are void, paused trials stay as they are."""
        if self.status != "running":
            return
        self.leases.drop_all()
        self._parked.clear()
        self.status = "stopped"
        self.writer.set_status("stopped")
        self._commit()

    def close(self) -> None:
        self.writer.close()

    # -- ask ----------------------------------------------------------------------------------------

    def suggest(self, client_id: str) -> Assignment | None:
        """The next assignment for ``client_id`` (the same one while it holds a trial), or
        None when nothing can start now. Raises :class:`Gone` once the study is over."""
        self.expire()
        self._check_open()
        lease = self.leases.of_client(client_id)
        if lease is not None:
            if lease.state == TRAINING:
                # The same assignment; a client asking again has lost its memory, so it
                # starts from the latest checkpoint (epochs already recorded are acknowledged).
                checkpoint = self.writer.checkpoint_epoch(lease.trial_id)
                if checkpoint is not None and checkpoint > lease.from_epoch:
                    lease.from_epoch = checkpoint
                    self.leases.save(lease)
                    self._commit()
                return self._assignment(lease)
            self._release(lease.trial_id)  # a paused trial's client moved on without its state
        while True:
            s = self.tuner.next_assignment()
            if s is None:
                self._finish_if_done()
                self._commit()
                self._check_open()
                return None
            held_by = self.leases.get(s.trial_id)
            if held_by is not None and held_by.state == HOLDING:
                self._parked[s.trial_id] = s  # its state is still on the way
                continue
            break
        from_epoch = (self.writer.checkpoint_epoch(s.trial_id) or 0) if s.resume else 0
        lease = self.leases.give(s.trial_id, client_id, from_epoch, s.until_epoch)
        self._commit()
        return self._assignment(lease)

    def _assignment(self, lease: Lease) -> Assignment:
        trial = self.scheduler.trials[lease.trial_id]
        return Assignment(
            trial.trial_id, trial.config, trial.seed, lease.from_epoch, lease.until_epoch,
            lease.from_epoch > 0, lease.lease, self.settings.lease_seconds, trial.bracket,
            trial.rung, self.scheduler.max_epochs, self.settings.metric, self.scheduler.resource,
        )  # fmt: skip

    # -- tell -------------------------------------------------------------------------------------

    def measure(
        self,
        trial_id: int,
        lease_id: str,
        epoch: int,
        metrics: Mapping[str, float],
        seconds: float = 0.0,
    ) -> Told:
        """Record epoch ``epoch`` of ``trial_id`` and say what the client does next.

        Idempotent per (trial, epoch): a retried report of the same assignment records
        nothing and gets the answer it got the first time.
        """
        trial = self._trial(trial_id)
        lease = self.leases.get(trial_id)
        if epoch <= trial.epochs:
            return self._already_recorded(trial_id, lease, lease_id, epoch)
        self._check_open()
        if lease is None or lease.lease != lease_id or lease.state != TRAINING:
            raise Conflict(
                f"trial {trial_id} is not assigned under lease {lease_id!r} (it expired and the "
                "trial was given to another client, or it ended); ask for new work"
            )
        expected = lease.until_epoch if self.scheduler.refits else trial.epochs + 1
        if epoch != expected or epoch > lease.until_epoch:
            unit = self.scheduler.resource.removesuffix("s")
            raise Conflict(
                f"trial {trial_id} expects {unit} {expected} next (its assignment ends at "
                f"{unit} {lease.until_epoch}), not {unit} {epoch}"
            )
        metric = self.settings.metric
        if metric not in metrics and not is_diverged(metrics):
            raise Invalid(
                f"metrics lack {metric!r}, the study's objective; send it (or a NaN loss, or "
                '"diverged": 1, for a trial that diverged)'
            )
        decision = self.tuner.tell_epoch(
            trial_id, EpochResult(epoch, dict(metrics), float(seconds), self.clock()),
            lease.client_id,
        )  # fmt: skip
        checkpoint_wanted = False
        if decision is Decision.CONTINUE and epoch == lease.until_epoch:
            # Kept warm at its milestone: the continuation is next in line, and it is this
            # client's (it holds the trial's state in memory).
            s = self.tuner.ask()
            if s is None or s.trial_id != trial_id:
                raise RuntimeError(f"the scheduler did not queue trial {trial_id}'s continuation")
            lease.until_epoch = s.until_epoch
            self.leases.kept(trial_id)
        elif decision is Decision.PAUSE:
            lease.state, lease.until_epoch = HOLDING, epoch
            checkpoint_wanted = True
            self.leases.kept(trial_id)
        elif decision is Decision.STOP:
            self.leases.drop(trial_id)
            self.leases.kept(trial_id)
        if trial_id in self.leases:
            self.leases.renew(lease)
        self._drop_ended()
        self._finish_if_done()
        if trial.status.is_over:  # e.g. paused, but the search ended with it: nothing resumes it
            decision, checkpoint_wanted = Decision.STOP, False
        action = decision.value
        self.writer.on_action(trial_id, epoch, action, lease_id)
        self._commit()
        return Told(action, lease.until_epoch, checkpoint_wanted)

    def _already_recorded(
        self, trial_id: int, lease: Lease | None, lease_id: str, epoch: int
    ) -> Told:
        recorded = self.writer.recorded_action(trial_id, epoch)
        if recorded is not None and recorded[1] == lease_id:  # a retry: the same answer again
            action = recorded[0] or Decision.CONTINUE.value
            until = lease.until_epoch if lease is not None and lease.lease == lease_id else epoch
            return Told(action, until, action == Decision.PAUSE.value)
        if (
            lease is not None
            and lease.lease == lease_id
            and lease.state == TRAINING
            and epoch > lease.from_epoch
        ):
            # Issued again from an older checkpoint: the client retrains epochs that are
            # already recorded; they are acknowledged, not recorded twice.
            self.leases.renew(lease)
            self._commit()
            return Told(Decision.CONTINUE.value, lease.until_epoch)
        raise Conflict(
            f"epoch {epoch} of trial {trial_id} is already recorded by another assignment"
        )

    def heartbeat(self, trial_id: int, lease_id: str) -> Told:
        """Keep a lease alive through a long epoch; says ``stop`` if the trial is gone."""
        self._trial(trial_id)
        lease = self._own(trial_id, lease_id)
        self.leases.renew(lease)
        self._commit()
        return Told(Decision.CONTINUE.value, lease.until_epoch)

    def fail(self, trial_id: int, lease_id: str, reason: str) -> None:
        """The client could not train the trial (an exception, bad state): it fails for good."""
        trial = self._trial(trial_id)
        self._own(trial_id, lease_id)
        self.leases.drop(trial_id)
        self._parked.pop(trial_id, None)  # a paused trial's promotion waited for its state
        if not trial.status.is_over:
            self.tuner.fail(trial_id, reason or "failed on the client, no reason given")
        self._finish_if_done()
        self._commit()

    # -- checkpoints ------------------------------------------------------------------------------

    def put_checkpoint(self, trial_id: int, lease_id: str, epoch: int, blob: bytes) -> None:
        """Keep the trial's state after ``epoch`` epochs (replaces an older one)."""
        trial = self._trial(trial_id)
        lease = self._own(trial_id, lease_id)
        if trial.status.is_over:  # stopped while its client saved it: nothing will resume it
            self.leases.drop(trial_id)
            self._commit()
            return
        if epoch > trial.epochs:
            raise Conflict(
                f"trial {trial_id} has {trial.epochs} epochs recorded; report epoch {epoch} "
                "before saving its checkpoint"
            )
        if epoch < 1:
            raise Invalid(f"epoch={epoch} is invalid; a checkpoint follows epoch 1 or later")
        current = self.writer.checkpoint_epoch(trial_id)
        if current is None or current <= epoch:
            self.writer.on_checkpoint(trial_id, epoch, blob)
        if lease.state == HOLDING and epoch >= lease.until_epoch:
            self._release(trial_id)  # the paused trial's state is here: it may be resumed
        else:
            self.leases.renew(lease)
        self._commit()

    def checkpoint(self, trial_id: int) -> tuple[int, bytes]:
        self._trial(trial_id)
        checkpoint = self.writer.checkpoint(trial_id)
        if checkpoint is None:
            raise NotFound(f"trial {trial_id} has no checkpoint")
        return checkpoint

    # -- leases running out ---------------------------------------------------------------------------

    def expire(self) -> bool:
        """Handle every lease past its time; True if anything changed."""
        due = self.leases.due()
        for lease in due:
            if lease.state == HOLDING:
                self._release(lease.trial_id)  # its checkpoint never came: resume from an older one
                continue
            self.leases.drop(lease.trial_id)
            trial = self.scheduler.trials[lease.trial_id]
            if trial.status.is_over or self.status != "running":
                continue
            n = self.leases.lost(trial.trial_id)
            if n > self.settings.max_failures:
                self.leases.kept(trial.trial_id)
                self.tuner.fail(
                    trial.trial_id,
                    f"lease expired {n} times in a row, the last held by client {lease.client_id!r} "
                    f"({self.settings.lease_seconds:g} s without a report or heartbeat)",
                )
            else:  # a worker that died: the trial goes on elsewhere, from its last checkpoint
                self.tuner.retry_running(trial)
        if due:
            self._finish_if_done()
            self._commit()
        return bool(due)

    # -- helpers ------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.status != "running":
            raise Gone(f"study {self.name!r} is {self.status}")

    def _trial(self, trial_id: int) -> Any:
        trial = self.scheduler.trials.get(trial_id)
        if trial is None:
            raise NotFound(f"study {self.name!r} has no trial {trial_id}")
        return trial

    def _own(self, trial_id: int, lease_id: str) -> Lease:
        self._check_open()
        lease = self.leases.get(trial_id)
        trial = self.scheduler.trials[trial_id]
        if (lease is None or lease.lease != lease_id) and trial.status.is_over:
            raise Gone(f"trial {trial_id} is {trial.status.value}; nothing more is needed of it")
        if lease is None or lease.lease != lease_id:
            raise Conflict(
                f"trial {trial_id} is not assigned under lease {lease_id!r}; ask for new work"
            )
        return lease

    def _drop_ended(self) -> None:
        """Leases of trials that ended (a rung stopped a paused trial whose client was
        still saving it, say) are void."""
        for trial_id in [t for t in self.leases if self.scheduler.trials[t].status.is_over]:
            self.leases.drop(trial_id)
            self._parked.pop(trial_id, None)

    def _release(self, trial_id: int) -> None:
        """A paused trial's hold ends: a promotion parked for it may now go out."""
        self.leases.drop(trial_id)
        parked = self._parked.pop(trial_id, None)
        if parked is not None:
            self.tuner.retry_first(parked)

    def _finish_if_done(self) -> None:
        if (
            self.status == "running"
            and self.scheduler.is_finished()
            and not self.tuner.recovering
            and not self._parked
        ):
            self.scheduler.finish()
            self.status = "finished"
            self.writer.set_status("finished")
            self.leases.drop_all()

    def _commit(self) -> None:
        self.tuner.flush(commit=self.autocommit)


__all__ = ["ServedStudy"]
