"""The writer of one study: the tuner's record of a search, one transaction per batch.

Who writes through it: the tuner (``hpo run``, ``hpo resume``, ``hpo.search``, and the
searches a server runs for ``hpo submit``) writes the search record: the study's row,
its trials, epochs, events, checkpoints and the scheduler's tape (the ``log``). A study
its clients train is written by the server's :class:`~hpo.service.ServedStudy`, through
the tuner it holds, plus what :class:`~hpo.store._leases.LeaseRecords` records beside the
tape. One writer per study at a time: :class:`StudyLock`.

A whole batch (suggestions, epochs, events, checkpoints) commits in one transaction, so
a kill at any moment leaves a consistent prefix of the search.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.store._db import StoreError, StudyNotFound, connect, finite_or_none, storage_path, to_json
from hpo.store._leases import LeaseRecords
from hpo.types import Event, Suggestion


@dataclass(frozen=True)
class LogEntry:
    """One call of the scheduler's input tape."""

    seq: int
    kind: str  # "suggest", "none" (a suggestion that gave nothing), "report" or "failure"
    trial_id: int
    epoch: int  # until_epoch of a suggestion, epoch of a report
    value: float | None
    info: str | None


def _whoami() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


class StudyLock:
    """An OS lock on one study: a second search writing it is refused.

    ``flock`` is released by the kernel when the process dies, even by SIGKILL, so a
    crashed search never leaves a stale lock behind.
    """

    def __init__(self, storage: Path, name: str) -> None:
        self.path = storage.parent / ".locks" / f"{storage.name}.{name}.lock"
        self._handle: Any = None

    def acquire(self) -> None:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+")  # noqa: SIM115 - held for the lock's lifetime
        except OSError as exc:
            why = exc.strerror or exc
            raise StoreError(
                f"cannot write next to the study database (lock {self.path}): {why}",
                public=f"cannot write next to the study database: {why}",
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            advice = "wait for it to finish or give another --study name"
            raise StoreError(
                f"study is being written by another search ({owner}); {advice}",
                public=f"study is being written by another search; {advice}",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(_whoami())
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            import fcntl

            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class StudyWriter(LeaseRecords):
    """The tuner's side of the store: buffered writes, one transaction per ``commit``.

    Implements the tuner's ``Recorder`` protocol.
    """

    def __init__(self, storage: str | Path, name: str) -> None:
        self.storage = storage_path(storage)
        self.name = name
        self.lock = StudyLock(self.storage, name)
        self.lock.acquire()
        try:
            self.conn = connect(self.storage)
        except sqlite3.Error as exc:
            self.lock.release()
            raise StoreError(
                f"cannot open the study database {self.storage}: {exc}",
                public=f"cannot open the study database: {exc}",
            ) from None
        self.study_id: int | None = None
        self._pending: list[tuple[str, tuple]] = []
        self._touched: set[int] = set()
        self._unwritten_states: dict[int, tuple[int, bytes]] = {}
        self._planned_budget: int | None = None
        self._progress: tuple | None = None  # the studies row's progress as last written

    # -- lifecycle ----------------------------------------------------------------------------

    def create(
        self,
        settings: dict[str, Any],
        *,
        metric: str,
        mode: str,
        scheduler: str,
        driver: str = "cli",
    ) -> None:
        """A new study; ``driver`` says who runs its trials: ``cli`` (``hpo run``), the
        service's ``clients`` or the service's own runner (``managed``)."""
        now = time.time()
        try:
            with self.conn:
                cur = self.conn.execute(
                    "INSERT INTO studies (name, settings, status, created_at, updated_at, metric, "
                    "mode, scheduler, writer, driver) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                    (self.name, to_json(settings), now, now, metric, mode, scheduler, _whoami(),
                     driver),
                )  # fmt: skip
        except sqlite3.IntegrityError:
            raise self._exists_error() from None
        self.study_id = cur.lastrowid

    def _exists_error(self) -> StoreError:
        """Why a new study of this name cannot be made, and what to do instead.

        This writer holds the study's lock, so no other search is writing it now: a
        finished study is shown, not resumed; any other one can be continued.
        """
        row = self.conn.execute(
            "SELECT status FROM studies WHERE name = ?", (self.name,)
        ).fetchone()
        status = row["status"] if row is not None else "unknown"
        if status == "running":  # its writer died without closing it (a kill, a crash)
            status = "interrupted"
        if status == "finished":
            advice = f"see `hpo best {self.name}`"
        else:
            advice = f"continue it with `hpo resume {self.name}`"
        exists, rest = (
            f"study {self.name!r} already exists",
            f"{advice} or give another --study name",
        )
        return StoreError(
            f"{exists} in {self.storage} ({status}); {rest}", public=f"{exists} ({status}); {rest}"
        )

    def exists(self) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM studies WHERE name = ?", (self.name,)).fetchone()
            is not None
        )

    def open_existing(self) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM studies WHERE name = ?", (self.name,)).fetchone()
        if row is None:
            raise StudyNotFound(
                f"no study named {self.name!r} in {self.storage}",
                public=f"no study named {self.name!r}",
            )
        self.study_id = row["study_id"]
        with self.conn:
            self.conn.execute(
                "UPDATE studies SET status = 'running', writer = ? WHERE study_id = ?",
                (_whoami(), self.study_id),
            )
        return json.loads(row["settings"])

    def close(self, status: str | None = None) -> None:
        try:
            if status is not None and self.study_id is not None:
                self.set_status(status)
            self.commit()
        finally:
            self.conn.close()
            self.lock.release()

    def set_status(self, status: str) -> None:
        """The study's status (``finished``, ``stopped``, ``interrupted``), at the next commit."""
        self._pending.append(
            ("UPDATE studies SET status = ?, updated_at = ? WHERE study_id = ?",
             (status, time.time(), self.study_id))
        )  # fmt: skip

    # -- the Recorder protocol -----------------------------------------------------------------

    def on_suggestion(self, s: Suggestion) -> None:
        now = time.time()
        if not s.resume:
            self._pending.append(
                ("INSERT OR IGNORE INTO trials (study_id, trial_id, config, seed, status, bracket, "
                 "rung, created_at, updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                 (self.study_id, s.trial_id, to_json(dict(s.config)), s.seed, s.bracket, s.rung, now, now))
            )  # fmt: skip
        # A new trial's configuration goes on the tape too, so that a replay can check it.
        self._log(
            "suggest", s.trial_id, s.until_epoch, info=None if s.resume else to_json(dict(s.config))
        )

    def on_epoch(
        self,
        trial_id: int,
        epoch: int,
        metrics: dict,
        seconds: float,
        worker: str,
        value: float | None = None,
        ended_at: float | None = None,
        node: str | None = None,
    ) -> None:
        self._pending.append(
            ("INSERT OR REPLACE INTO epochs (study_id, trial_id, epoch, value, metrics, seconds, "
             "worker, ended_at, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (self.study_id, trial_id, epoch, finite_or_none(value), to_json(metrics), seconds,
              worker, ended_at if ended_at is not None else time.time(), node))
        )  # fmt: skip
        self._touched.add(trial_id)

    def on_report(self, trial_id: int, epoch: int, value: float) -> None:
        self._log("report", trial_id, epoch, value)

    def on_failure(self, trial_id: int, reason: str) -> None:
        self._log("failure", trial_id, 0, None, reason)

    def on_nothing(self) -> None:
        self._log("none", -1, 0)

    def on_event(self, event: Event) -> None:
        self._pending.append(
            ("INSERT INTO events (study_id, trial_id, kind, epoch, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
             (self.study_id, event.trial_id, event.kind.value, event.epoch, event.reason, time.time()))
        )  # fmt: skip
        if event.reason:
            self._pending.append(
                ("UPDATE trials SET reason = ? WHERE study_id = ? AND trial_id = ?",
                 (event.reason, self.study_id, event.trial_id))
            )  # fmt: skip
        self._touched.add(event.trial_id)

    def on_checkpoint(self, trial_id: int, epoch: int, blob: bytes) -> None:
        """The trial's pickled state after ``epoch`` epochs (replaces the previous one)."""
        self._unwritten_states[trial_id] = (epoch, blob)
        self._pending.append(
            ("INSERT OR REPLACE INTO checkpoints (study_id, trial_id, epoch, state) VALUES (?, ?, ?, ?)",
             (self.study_id, trial_id, epoch, blob))
        )  # fmt: skip

    def drop_checkpoint(self, trial_id: int) -> None:
        self._unwritten_states.pop(trial_id, None)
        self._pending.append(
            (
                "DELETE FROM checkpoints WHERE study_id = ? AND trial_id = ?",
                (self.study_id, trial_id),
            )
        )

    def sync(self, scheduler: Any) -> None:
        """Copy the state of every trial touched since the last sync, and the study's progress."""
        now = time.time()
        for trial_id in self._touched:
            t = scheduler.trials.get(trial_id)
            if t is None:
                continue
            last = scheduler.mode.value(t.score) if t.scores else None
            best = scheduler.mode.value(t.best_score) if math.isfinite(t.best_score) else None
            self._pending.append(
                ("UPDATE trials SET status = ?, bracket = ?, rung = ?, epochs = ?, last_value = ?, "
                 "best_value = ?, updated_at = ? WHERE study_id = ? AND trial_id = ?",
                 (t.status.value, t.bracket, t.rung, t.epochs, finite_or_none(last), best, now,
                  self.study_id, trial_id))
            )  # fmt: skip
        self._touched.clear()
        best_value = scheduler.best_value if scheduler.best_trial is not None else None
        if self._planned_budget is None:  # fixed by the settings; costly for some schedulers
            self._planned_budget = scheduler.planned_budget()
        progress = (scheduler.epochs_spent, scheduler.best_trial, best_value)
        if progress == self._progress and not self._pending:
            return  # nothing new: no write (an idle poll of the service costs no transaction)
        self._progress = progress
        self._pending.append(
            ("UPDATE studies SET updated_at = ?, epochs_spent = ?, best_trial = ?, best_value = ?, "
             "planned_budget = ? WHERE study_id = ?",
             (now, scheduler.epochs_spent, scheduler.best_trial, finite_or_none(best_value),
              self._planned_budget, self.study_id))
        )  # fmt: skip

    def commit(self) -> None:
        """Write everything buffered in one transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._unwritten_states.clear()
        try:
            with self.conn:
                for sql, params in pending:
                    self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot write to the study database {self.storage}: {exc}",
                public=f"cannot write to the study database: {exc}",
            ) from None

    def _log(
        self,
        kind: str,
        trial_id: int,
        epoch: int,
        value: float | None = None,
        info: str | None = None,
    ) -> None:
        self._pending.append(
            ("INSERT INTO log (study_id, kind, trial_id, epoch, value, info) VALUES (?, ?, ?, ?, ?, ?)",
             (self.study_id, kind, trial_id, epoch, value if value is None or math.isfinite(value) else None, info))
        )  # fmt: skip

    # -- reading back what resume needs ------------------------------------------------------------

    def log(self) -> Iterator[LogEntry]:
        rows = self.conn.execute(
            "SELECT seq, kind, trial_id, epoch, value, info FROM log WHERE study_id = ? ORDER BY seq",
            (self.study_id,),
        )
        for row in rows:
            value = row["value"]
            yield LogEntry(row["seq"], row["kind"], row["trial_id"], row["epoch"],
                           math.nan if value is None and row["kind"] == "report" else value, row["info"])  # fmt: skip

    def checkpoint(self, trial_id: int) -> tuple[int, bytes] | None:
        if trial_id in self._unwritten_states:  # saved in this batch, not yet committed
            return self._unwritten_states[trial_id]
        row = self.conn.execute(
            "SELECT epoch, state FROM checkpoints WHERE study_id = ? AND trial_id = ?",
            (self.study_id, trial_id),
        ).fetchone()
        if row is None:
            return None
        return row["epoch"], bytes(row["state"])

    def checkpoint_epoch(self, trial_id: int) -> int | None:
        """After how many epochs the trial's checkpoint was saved (without reading it)."""
        if trial_id in self._unwritten_states:
            return self._unwritten_states[trial_id][0]
        row = self.conn.execute(
            "SELECT epoch FROM checkpoints WHERE study_id = ? AND trial_id = ?",
            (self.study_id, trial_id),
        ).fetchone()
        return None if row is None else int(row["epoch"])

    def recorded_epochs(self, trial_id: int) -> list[tuple[int, dict]]:
        rows = self.conn.execute(
            "SELECT epoch, metrics FROM epochs WHERE study_id = ? AND trial_id = ? ORDER BY epoch",
            (self.study_id, trial_id),
        )
        return [(r["epoch"], json.loads(r["metrics"])) for r in rows]
