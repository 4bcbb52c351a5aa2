"""Opening the study database, the store's errors, and how values are written into it.

Every connection to a study database is opened by :func:`connect`: a writer's (WAL mode,
the schema of :mod:`hpo.store._schema` made and migrated) or a reader's (read-only; safe
while a search writes, as WAL lets readers and the one writer work at once).
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from hpo.errors import HpoError
from hpo.store._schema import create_schema


class StoreError(HpoError, ValueError):
    """A study that does not exist, already exists, or is being written by another search.

    Its ``public`` message is safe for a remote client: no file of the server's machine, no
    other process, no other study.
    """


class StudyNotFound(StoreError):
    """No study (or trial) of that name: a 404 when served; ``public`` names only what was
    asked for."""


DEFAULT_STORAGE = Path("results") / "studies.db"


def to_json(value: Any) -> str:
    """A value as the store writes it (settings, configurations, metrics)."""
    # Key order is kept: a space's order is the order its parameters are sampled in.
    return json.dumps(value, default=_json_default, allow_nan=True)


def as_stored(value: Any) -> Any:
    """A value as it reads back from the store (JSON: tuples become lists, numpy scalars
    numbers), to compare it with one that was stored."""
    return json.loads(to_json(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


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
                f"storage {text!r} is not supported; expected a file path or sqlite:///PATH",
                public="this storage is not supported; expected a file path or sqlite:///PATH",
            )
        return Path(rest[1:])
    return Path(text)


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode; readers never block the writer."""
    path = storage_path(path)
    if readonly:
        if not path.exists():
            raise StoreError(f"no study database at {path}", public="no study database")
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
        create_schema(conn)
    conn.row_factory = sqlite3.Row
    return conn


def create_database(storage: str | Path) -> Path:
    """Make the database and its schema now if they are missing (as any writer does);
    returns its path."""
    path = storage_path(storage)
    connect(path).close()
    return path
