"""The study store: one SQLite database (WAL mode) that records everything of a search.

Written only by the tuner, read by ``hpo status``, ``export``, the dashboard, while a
search runs (WAL lets readers and the one writer work at once).

Tables (every row carries its ``study_id``):

* ``studies``: name, settings (JSON: space, scheduler, trainer, …), status, progress;
* ``trials``: configuration, seed, status, bracket, rung, epochs, values, last reason;
* ``epochs``: one row per trained epoch: every metric (JSON), the objective value, its
  seconds, the worker, and when it ended;
* ``events``: every decision of the scheduler (start, pause, promote, stop, …) and why;
* ``checkpoints``: the latest saved state of each trial that may still train;
* ``log``: the scheduler's input tape, in order: each suggestion it made, each report
  and each failure it was told. Schedulers are deterministic, so replaying the tape
  rebuilds the exact scheduler state after a crash: ``hpo resume`` loses nothing that
  was committed, and needs no pickled scheduler.

A whole batch (suggestions, epochs, events, checkpoints) commits in one transaction, so
a kill at any moment leaves a consistent prefix of the search.
"""

from __future__ import annotations

import contextlib
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

import pandas as pd

from hpo.errors import HpoError
from hpo.types import Event, Suggestion

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    metric TEXT NOT NULL,
    mode TEXT NOT NULL,
    scheduler TEXT NOT NULL,
    planned_budget INTEGER,
    epochs_spent INTEGER NOT NULL DEFAULT 0,
    best_trial INTEGER,
    best_value REAL,
    writer TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    study_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    bracket INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    epochs INTEGER NOT NULL DEFAULT 0,
    last_value REAL,
    best_value REAL,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (study_id, trial_id)
);
CREATE TABLE IF NOT EXISTS epochs (
    study_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    value REAL,
    metrics TEXT NOT NULL,
    seconds REAL NOT NULL,
    worker TEXT NOT NULL,
    ended_at REAL NOT NULL,
    node TEXT,
    PRIMARY KEY (study_id, trial_id, epoch)
);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    study_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (study_id, trial_id)
);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    trial_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    value REAL,
    info TEXT
);
CREATE TABLE IF NOT EXISTS leases (
    study_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    lease TEXT NOT NULL,
    client_id TEXT NOT NULL,
    state TEXT NOT NULL,
    from_epoch INTEGER NOT NULL,
    until_epoch INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (study_id, trial_id)
);
CREATE INDEX IF NOT EXISTS events_by_study ON events (study_id, event_id);
CREATE INDEX IF NOT EXISTS log_by_study ON log (study_id, seq);
CREATE INDEX IF NOT EXISTS epochs_by_time ON epochs (study_id, ended_at);
"""


class StoreError(HpoError, ValueError):
    """A study that does not exist, already exists, or is being written by another search."""


class StudyNotFound(StoreError):
    """No study (or trial) of that name: a 404 when served."""


DEFAULT_STORAGE = Path("results") / "studies.db"


def _json(value: Any) -> str:
    # Key order is kept: a space's order is the order its parameters are sampled in.
    return json.dumps(value, default=_json_default, allow_nan=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class LogEntry:
    """One call of the scheduler's input tape."""

    seq: int
    kind: str  # "suggest", "none" (a suggestion that gave nothing), "report" or "failure"
    trial_id: int
    epoch: int  # until_epoch of a suggestion, epoch of a report
    value: float | None
    info: str | None


def storage_path(storage: str | Path) -> Path:
    """A database path from a path or an SQLAlchemy-style URL (``sqlite:///results/s.db``).

    >>> storage_path("sqlite:///results/s.db"), storage_path("sqlite:////tmp/s.db")
    (PosixPath('results/s.db'), PosixPath('/tmp/s.db'))
    """
    text = str(storage)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "sqlite" or not rest.startswith("/"):
            raise StoreError(
                f"storage {text!r} is not supported; expected a file path or sqlite:///PATH"
            )
        return Path(rest[1:])
    return Path(text)


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode; readers never block the writer."""
    path = storage_path(path)
    if readonly:
        if not path.exists():
            raise StoreError(f"no study database at {path}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.OperationalError:
            # On read-only media a WAL database cannot create its shared-memory file; as
            # nobody can write there either, reading it as immutable is safe.
            conn.close()
            conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True, timeout=30)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # survives a killed process; fsync at checkpoints
        conn.executescript(SCHEMA)
        _migrate(conn)
    conn.row_factory = sqlite3.Row
    return conn


#: Columns added after the first release, with their types: (table, column, type).
_ADDED_COLUMNS = (
    ("epochs", "action", "TEXT"),  # what the trial was told after this epoch (the service)
    ("epochs", "lease", "TEXT"),  # which assignment reported it (the service's retries)
    ("studies", "driver", "TEXT"),  # cli, clients or managed (see StudyWriter.create)
    ("epochs", "node", "TEXT"),  # the machine that trained it (a Ray node's IP); NULL before
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database written by an older version up to this schema."""
    for table, column, kind in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.commit()


def node_column(conn: sqlite3.Connection) -> str:
    """``node``, or ``NULL AS node`` for an older database opened read-only (not migrated)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(epochs)")}
    return "node" if "node" in have else "NULL AS node"


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
            raise StoreError(
                f"cannot write next to the study database (lock {self.path}): {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(
                f"study is being written by another search ({owner}); wait for it to finish "
                "or give another --study name"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            import fcntl

            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class StudyWriter:
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
            raise StoreError(f"cannot open the study database {self.storage}: {exc}") from None
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
                    (self.name, _json(settings), now, now, metric, mode, scheduler, self._whoami(),
                     driver),
                )  # fmt: skip
        except sqlite3.IntegrityError:
            raise StoreError(self._exists_message()) from None
        self.study_id = cur.lastrowid

    def _exists_message(self) -> str:
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
        return (
            f"study {self.name!r} already exists in {self.storage} ({status}); {advice} "
            "or give another --study name"
        )

    def exists(self) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM studies WHERE name = ?", (self.name,)).fetchone()
            is not None
        )

    def open_existing(self) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM studies WHERE name = ?", (self.name,)).fetchone()
        if row is None:
            raise StudyNotFound(f"no study named {self.name!r} in {self.storage}")
        self.study_id = row["study_id"]
        with self.conn:
            self.conn.execute(
                "UPDATE studies SET status = 'running', writer = ? WHERE study_id = ?",
                (self._whoami(), self.study_id),
            )
        return json.loads(row["settings"])

    def close(self, status: str | None = None) -> None:
        try:
            if status is not None and self.study_id is not None:
                self._pending.append(
                    ("UPDATE studies SET status = ?, updated_at = ? WHERE study_id = ?",
                     (status, time.time(), self.study_id))
                )  # fmt: skip
            self.commit()
        finally:
            self.conn.close()
            self.lock.release()

    @staticmethod
    def _whoami() -> str:
        return f"pid {os.getpid()} on {socket.gethostname()}"

    # -- the Recorder protocol -----------------------------------------------------------------

    def on_suggestion(self, s: Suggestion) -> None:
        now = time.time()
        if not s.resume:
            self._pending.append(
                ("INSERT OR IGNORE INTO trials (study_id, trial_id, config, seed, status, bracket, "
                 "rung, created_at, updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                 (self.study_id, s.trial_id, _json(dict(s.config)), s.seed, s.bracket, s.rung, now, now))
            )  # fmt: skip
        # A new trial's configuration goes on the tape too, so that a replay can check it.
        self._log(
            "suggest", s.trial_id, s.until_epoch, info=None if s.resume else _json(dict(s.config))
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
             (self.study_id, trial_id, epoch, _finite_or_none(value), _json(metrics), seconds,
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
                 (t.status.value, t.bracket, t.rung, t.epochs, _finite_or_none(last), best, now,
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
             (now, scheduler.epochs_spent, scheduler.best_trial, _finite_or_none(best_value),
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
            raise StoreError(f"cannot write to the study database {self.storage}: {exc}") from None

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

    # -- what the service records beside the tape ---------------------------------------------

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
        rows = self.conn.execute(
            "SELECT trial_id, lease, client_id, state, from_epoch, until_epoch, attempt, expires_at "
            "FROM leases WHERE study_id = ? ORDER BY trial_id",
            (self.study_id,),
        )
        return [dict(r) for r in rows]

    def set_status(self, status: str) -> None:
        self._pending.append(
            ("UPDATE studies SET status = ?, updated_at = ? WHERE study_id = ?",
             (status, time.time(), self.study_id))
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


class StudyReader:
    """Read-only access for status, export and the dashboard (safe while a search runs)."""

    def __init__(self, storage: str | Path) -> None:
        self.storage = storage_path(storage)
        self.conn = connect(self.storage, readonly=True)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StudyReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def studies(self) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT name, status, scheduler, metric, mode, best_value, best_trial, epochs_spent, "
            "planned_budget, created_at, updated_at, "
            "(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id) AS trials "
            "FROM studies s ORDER BY created_at",
            self.conn,
        )

    def study(self, name: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            names = [
                r[0] for r in self.conn.execute("SELECT name FROM studies ORDER BY created_at")
            ]
            known = (
                f"; studies here: {', '.join(names[-10:])}" if names else "; it has no studies yet"
            )
            raise StudyNotFound(f"no study named {name!r} in {self.storage}{known}")
        study = dict(row)
        study["settings"] = json.loads(study["settings"])
        return study

    def trials(self, name: str) -> pd.DataFrame:
        study_id = self.study(name)["study_id"]
        frame = pd.read_sql_query(
            "SELECT trial_id, status, bracket, rung, epochs, last_value, best_value, reason, seed, "
            "config, created_at, updated_at FROM trials WHERE study_id = ? ORDER BY trial_id",
            self.conn,
            params=(study_id,),
        )
        frame["config"] = frame["config"].map(json.loads)
        return frame

    def best(self, name: str) -> dict[str, Any]:
        """The best trial: study, metric, value, trial id, epochs, status, configuration."""
        info = self.study(name)
        if info["best_trial"] is None:
            raise StudyNotFound(f"study {name!r} has no finished epoch yet")
        row = self.conn.execute(
            "SELECT epochs, status, config FROM trials WHERE study_id = ? AND trial_id = ?",
            (info["study_id"], info["best_trial"]),
        ).fetchone()
        return {
            "study": name,
            "metric": info["metric"],
            "value": info["best_value"],
            "trial_id": int(info["best_trial"]),
            "epochs": int(row["epochs"]),
            "status": row["status"],
            "config": json.loads(row["config"]),
        }

    def epochs(self, name: str, since: float | None = None) -> pd.DataFrame:
        study_id = self.study(name)["study_id"]
        query = (
            f"SELECT trial_id, epoch, value, metrics, seconds, worker, {node_column(self.conn)}, "
            "ended_at FROM epochs WHERE study_id = ?"
        )
        params: tuple = (study_id,)
        if since is not None:
            query += " AND ended_at > ?"
            params = (study_id, since)
        frame = pd.read_sql_query(query + " ORDER BY trial_id, epoch", self.conn, params=params)
        if len(frame):
            metrics = pd.DataFrame.from_records(frame.pop("metrics").map(json.loads).tolist())
            frame = pd.concat([frame, metrics.add_prefix("")], axis=1)
        else:
            frame = frame.drop(columns=["metrics"])
        return frame

    def nodes(self, name: str) -> pd.DataFrame:
        """Per node (machine): its workers, the trials it trained and the epochs, most first.

        Epochs recorded before nodes were recorded (or trained in-process) count under
        ``local``.
        """
        study_id = self.study(name)["study_id"]
        node = f"COALESCE({node_column(self.conn).split()[0]}, 'local')"
        return pd.read_sql_query(
            f"SELECT {node} AS node, COUNT(DISTINCT worker) AS workers, "
            "COUNT(DISTINCT trial_id) AS trials, COUNT(*) AS epochs FROM epochs "
            f"WHERE study_id = ? GROUP BY {node} ORDER BY epochs DESC, node",
            self.conn, params=(study_id,),
        )  # fmt: skip

    def events(self, name: str) -> pd.DataFrame:
        study_id = self.study(name)["study_id"]
        return pd.read_sql_query(
            "SELECT event_id, trial_id, kind, epoch, reason, at FROM events WHERE study_id = ? "
            "ORDER BY event_id",
            self.conn,
            params=(study_id,),
        )

    def export_frame(self, name: str) -> pd.DataFrame:
        """One row per epoch, with the trial's configuration and status as columns."""
        epochs = self.epochs(name)
        trials = self.trials(name)
        configs = pd.json_normalize(trials["config"].tolist()).add_prefix("config.")
        configs = configs.map(lambda v: json.dumps(v) if isinstance(v, list) else v)
        table = pd.concat([trials[["trial_id", "status", "bracket", "seed"]], configs], axis=1)
        return epochs.merge(table, on="trial_id", how="left")


@contextlib.contextmanager
def reader(storage: str | Path) -> Iterator[StudyReader]:
    r = StudyReader(storage)
    try:
        yield r
    finally:
        r.close()
