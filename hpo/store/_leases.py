"""What the service records of a study its clients train, beside the tuner's tape.

Written by the server's :class:`~hpo.service.ServedStudy` only, through its study's
:class:`~hpo.store.StudyWriter` (this class is mixed into it): the ``leases`` table
(which client holds which trial, from which epoch to which, until when) and, per epoch,
the ``action`` the trial was told and the ``lease`` that reported it. Both commit with
the tuner's batch, so that after a restart the server takes its leases back and a
retried report gets the answer it got before.
"""

from __future__ import annotations

import sqlite3
from typing import Any


class LeaseRecords:
    """The service's writes and reads beside the tape (see the module)."""

    conn: sqlite3.Connection
    study_id: int | None
    _pending: list[tuple[str, tuple]]

    def on_action(self, trial_id: int, epoch: int, action: str, lease: str) -> None:
        """What the trial was told after ``epoch``, and which assignment reported it: a
        retried report then gets the same answer, even after a restart."""
        self._pending.append(
            ("UPDATE epochs SET action = ?, lease = ? WHERE study_id = ? AND trial_id = ? AND epoch = ?",
             (action, lease, self.study_id, trial_id, epoch))
        )  # fmt: skip

    def recorded_action(self, trial_id: int, epoch: int) -> tuple[str | None, str | None] | None:
        """(action, lease) of a recorded epoch, or None if it is not recorded (committed)."""
        row = self.conn.execute(
            "SELECT action, lease FROM epochs WHERE study_id = ? AND trial_id = ? AND epoch = ?",
            (self.study_id, trial_id, epoch),
        ).fetchone()
        return None if row is None else (row["action"], row["lease"])

    def put_lease(self, lease: Any) -> None:
        """Record a client's assignment of a trial (replaces the trial's previous one);
        ``lease`` has the fields of the ``leases`` table as attributes."""
        self._pending.append(
            ("INSERT OR REPLACE INTO leases (study_id, trial_id, lease, client_id, state, from_epoch, "
             "until_epoch, attempt, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (self.study_id, lease.trial_id, lease.lease, lease.client_id, lease.state,
              lease.from_epoch, lease.until_epoch, lease.attempt, lease.expires_at))
        )  # fmt: skip

    def drop_lease(self, trial_id: int) -> None:
        self._pending.append(
            ("DELETE FROM leases WHERE study_id = ? AND trial_id = ?", (self.study_id, trial_id))
        )

    def leases(self) -> list[dict[str, Any]]:
        """The study's recorded leases, by trial (what a restarted server takes back)."""
        rows = self.conn.execute(
            "SELECT trial_id, lease, client_id, state, from_epoch, until_epoch, attempt, expires_at "
            "FROM leases WHERE study_id = ? ORDER BY trial_id",
            (self.study_id,),
        )
        return [dict(r) for r in rows]
