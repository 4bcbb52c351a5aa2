"""What ``hpo report`` and ``hpo compare`` keep in the study database, for the dashboard.

Each writes rows of its own table and nothing else: :func:`save_report` a best-model
report of one study (``reports``), :func:`save_comparison` one comparison of methods
(``comparisons``, by its name, not a study). A new row is added each time; readers take
the newest. They need no study lock: they never change a study's record.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hpo.store._db import StoreError, StudyNotFound, connect, storage_path


def save_report(storage: str | Path, report: dict[str, Any]) -> None:
    """Keep the report in the study database, where the dashboard finds it."""
    with _writing(storage, "the report") as conn:
        row = conn.execute(
            "SELECT study_id FROM studies WHERE name = ?", (report["study"],)
        ).fetchone()
        if row is None:
            raise StudyNotFound(f"no study named {report['study']!r}")
        conn.execute(
            "INSERT INTO reports (study_id, created_at, payload) VALUES (?, ?, ?)",
            (row["study_id"], time.time(), json.dumps(report)),
        )


def save_comparison(storage: str | Path, comparison: dict[str, Any]) -> None:
    """Keep the comparison in the study database, where the dashboard lists it."""
    with _writing(storage, "the comparison") as conn:
        conn.execute(
            "INSERT INTO comparisons (name, created_at, payload) VALUES (?, ?, ?)",
            (comparison["name"], time.time(), json.dumps(comparison, default=str)),
        )


@contextlib.contextmanager
def _writing(storage: str | Path, what: str) -> Iterator[sqlite3.Connection]:
    """One transaction on a writer's connection of its own; an SQLite error becomes a
    StoreError naming ``what`` was being written."""
    conn = connect(storage_path(storage))
    try:
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot write {what} to {storage}: {exc}", public=f"cannot write {what}: {exc}"
        ) from None
    finally:
        conn.close()


def latest_report(conn: sqlite3.Connection, study_id: int) -> dict[str, Any] | None:
    """The newest report of a study, or None."""
    return _newest(conn, "reports", "study_id", study_id)


def latest_comparison(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    """The newest comparison of that name, or None."""
    return _newest(conn, "comparisons", "name", name)


def _newest(conn: sqlite3.Connection, table: str, column: str, key: Any) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT payload FROM {table} WHERE {column} = ? ORDER BY created_at DESC LIMIT 1", (key,)
    ).fetchone()
    return json.loads(row["payload"]) if row else None


def comparison_names(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every comparison's name and when it was made, newest first."""
    rows = conn.execute("SELECT name, created_at FROM comparisons ORDER BY created_at DESC")
    return [dict(r) for r in rows]
