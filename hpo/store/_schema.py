"""The schema of the study database: every table and index, and the migrations that bring
a file written by an older version up to it.

Tables (every study's row carries its ``study_id``), by who writes them:

* the tuner (through :class:`~hpo.store.StudyWriter`: ``hpo run``, ``hpo resume``,
  ``hpo.search``, and the searches a server runs or serves):

  * ``studies``: name, settings (JSON: space, scheduler, trainer, …), status, progress,
    who writes it (``writer``) and who runs its trials (``driver``);
  * ``trials``: configuration, seed, status, bracket, rung, epochs, values, last reason;
  * ``epochs``: one row per trained epoch: every metric (JSON), the objective value, its
    seconds, the worker, the machine (``node``), and when it ended;
  * ``events``: every decision of the scheduler (start, pause, promote, stop, …) and why;
  * ``checkpoints``: the latest saved state of each trial that may still train;
  * ``log``: the scheduler's input tape, in order: each suggestion it made, each report
    and each failure it was told. Schedulers are deterministic, so replaying the tape
    rebuilds the exact scheduler state after a crash: ``hpo resume`` loses nothing that
    was committed, and needs no pickled scheduler;

* the service, for a study its clients train (:class:`~hpo.service.ServedStudy`, beside
  its tuner's writes): ``leases`` (which client holds which trial, until when), each
  epoch's ``action`` and ``lease`` (the answer a retried report gets again), and the
  study's status when it is stopped;
* ``hpo report``: ``reports`` (the best-model report, JSON, per study);
* ``hpo compare``: ``comparisons`` (one comparison of methods, JSON, by its name).
"""

from __future__ import annotations

import sqlite3

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
CREATE TABLE IF NOT EXISTS reports (
    report_id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS comparisons (
    comparison_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_study ON events (study_id, event_id);
CREATE INDEX IF NOT EXISTS log_by_study ON log (study_id, seq);
CREATE INDEX IF NOT EXISTS epochs_by_time ON epochs (study_id, ended_at);
"""

#: Columns added after the first release, with their types: (table, column, type).
ADDED_COLUMNS = (
    ("epochs", "action", "TEXT"),  # what the trial was told after this epoch (the service)
    ("epochs", "lease", "TEXT"),  # which assignment reported it (the service's retries)
    ("studies", "driver", "TEXT"),  # cli, clients or managed (see StudyWriter.create)
    ("epochs", "node", "TEXT"),  # the machine that trained it (a Ray node's IP); NULL before
)


def create_schema(conn: sqlite3.Connection) -> None:
    """Make every table and index that is missing, then migrate (a writer's connection)."""
    conn.executescript(SCHEMA)
    migrate(conn)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a database written by an older version up to this schema.

    Tables an older version lacked (``reports``, ``comparisons``) are made by
    :data:`SCHEMA`'s ``IF NOT EXISTS``; columns it lacked are added here.
    """
    for table, column, kind in ADDED_COLUMNS:
        if column not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.commit()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def node_column(conn: sqlite3.Connection) -> str:
    """``node``, or ``NULL AS node`` for an older database opened read-only (not migrated)."""
    return "node" if "node" in _columns(conn, "epochs") else "NULL AS node"


def has_table(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` exists: a database read-only, written by an older version, may lack
    ``reports`` or ``comparisons``."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
    ).fetchone()
    return row is not None
