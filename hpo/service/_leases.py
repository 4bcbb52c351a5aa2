"""What a client of a served study holds and is told: leases, assignments, answers.

* An :class:`Assignment` is what a client is asked to train; it comes with a
  :class:`Lease`, the client's hold on that trial, which it renews by reporting (or by
  heartbeats). A lease that expires is a worker that died.
* A :class:`Told` answers a measurement: ``continue``, ``pause`` or ``stop``.
* The :class:`LeaseBook` of a study keeps its leases by trial and by client, writes each
  change to the study's record (so that a restarted server takes back the leases it had
  handed out), and counts the leases of each trial that ran out in a row (past the
  study's ``max_failures``, the trial fails).

:class:`~hpo.service.ServedStudy` decides what the leases mean; this module only keeps
them. No HTTP here and no clock of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hpo.store import StudyWriter

TRAINING = "training"  # the client trains the trial
HOLDING = "holding"  # the trial paused; its client is expected to upload the checkpoint


@dataclass
class Lease:
    """A client's hold on one trial: what it trains, and until when it must say something."""

    trial_id: int
    lease: str
    client_id: str
    state: str
    from_epoch: int
    until_epoch: int
    attempt: int
    expires_at: float


@dataclass(frozen=True)
class Assignment:
    """What a client is asked to train: restore the checkpoint after ``from_epoch`` epochs
    (when ``resume``), train epochs ``from_epoch + 1`` … ``until_epoch``, report each."""

    trial_id: int
    config: Mapping[str, Any]
    seed: int
    from_epoch: int
    until_epoch: int
    resume: bool
    lease: str
    lease_seconds: float
    bracket: int
    rung: int
    max_epochs: int
    metric: str
    resource: str = "epochs"  # "samples": refit on until_epoch samples, report that once

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "config": dict(self.config)}


@dataclass(frozen=True)
class Told:
    """The answer to a measurement: ``action`` and the assignment's (maybe new) end."""

    action: str
    until_epoch: int
    checkpoint_wanted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LeaseBook(Mapping[int, Lease]):
    """The leases of one study, by trial (this mapping) and by client.

    Args:
        writer: the study's writer: every lease given, renewed or dropped is written
            with the rest of the study's changes.
        clock: seconds since the epoch (the study's).
        seconds: how long a lease lasts without a word from its client.
    """

    def __init__(self, writer: StudyWriter, clock: Callable[[], float], seconds: float) -> None:
        self.writer = writer
        self.clock = clock
        self.seconds = seconds
        self._by_trial: dict[int, Lease] = {}
        self._by_client: dict[str, int] = {}
        self._lost: dict[int, int] = {}  # leases of a trial that ran out in a row

    def __getitem__(self, trial_id: int) -> Lease:
        return self._by_trial[trial_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_trial)

    def __len__(self) -> int:
        return len(self._by_trial)

    def of_client(self, client_id: str) -> Lease | None:
        """The lease ``client_id`` holds, if any (a client holds one trial at a time)."""
        trial_id = self._by_client.get(client_id)
        return None if trial_id is None else self._by_trial[trial_id]

    def give(self, trial_id: int, client_id: str, from_epoch: int, until_epoch: int) -> Lease:
        """A new lease on ``trial_id`` for ``client_id``; its attempt counts those lost before."""
        lease = Lease(
            trial_id, secrets.token_hex(8), client_id, TRAINING, from_epoch, until_epoch,
            self._lost.get(trial_id, 0) + 1, self.clock() + self.seconds,
        )  # fmt: skip
        self._hold(lease)
        self.save(lease)
        return lease

    def take_back(self, rows: Iterable[dict[str, Any]], ended: Callable[[int], bool]) -> None:
        """The leases a restarted server had handed out (``writer.leases()``): their
        clients get ``seconds`` from now to be heard again; those of trials that
        ``ended`` are void."""
        now = self.clock()
        for row in rows:
            lease = Lease(**{**row, "expires_at": now + self.seconds})
            if ended(lease.trial_id):
                self.writer.drop_lease(lease.trial_id)
                continue
            self._hold(lease)
            self._lost[lease.trial_id] = lease.attempt - 1  # leases lost in a row so far

    def save(self, lease: Lease) -> None:
        """Write a lease that changed (its epochs, its state)."""
        self.writer.put_lease(lease)

    def renew(self, lease: Lease) -> None:
        """The client was heard: its lease lasts ``seconds`` from now."""
        lease.expires_at = self.clock() + self.seconds
        self.save(lease)

    def drop(self, trial_id: int) -> None:
        """The trial's lease (if any) is void."""
        lease = self._by_trial.pop(trial_id, None)
        if lease is None:
            return
        if self._by_client.get(lease.client_id) == trial_id:
            del self._by_client[lease.client_id]
        self.writer.drop_lease(trial_id)

    def drop_all(self) -> None:
        for trial_id in list(self._by_trial):
            self.drop(trial_id)

    def due(self) -> list[Lease]:
        """The leases past their time."""
        now = self.clock()
        return [lease for lease in self._by_trial.values() if lease.expires_at <= now]

    def lost(self, trial_id: int) -> int:
        """Count one more lease of ``trial_id`` run out; how many in a row now."""
        n = self._lost[trial_id] = self._lost.get(trial_id, 0) + 1
        return n

    def kept(self, trial_id: int) -> None:
        """The trial reached a milestone (or ended): its count of lost leases starts again."""
        self._lost.pop(trial_id, None)

    def _hold(self, lease: Lease) -> None:
        self._by_trial[lease.trial_id] = lease
        self._by_client[lease.client_id] = lease.trial_id


__all__ = ["HOLDING", "TRAINING", "Assignment", "Lease", "LeaseBook", "Told"]
