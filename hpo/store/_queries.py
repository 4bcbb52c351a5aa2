"""What the live dashboard asks of a study database, as JSON-ready columns.

Every list is columnar (one array per field) and carries a cursor, so that a live page
asks only for what is new: epochs and events by their row ids, trials by the time they
last changed. Read-only, like :class:`~hpo.store.StudyReader`, which it extends.
"""

from __future__ import annotations

import json
from typing import Any

from hpo.store._db import StudyNotFound
from hpo.store._reader import TRIAL_COLUMNS, StudyReader
from hpo.store._records import comparison_names, latest_comparison, latest_report
from hpo.store._schema import has_table, node_column

#: The trial columns a live page gets (then ``config`` and the cursor).
LIVE_TRIAL_COLUMNS = [c for c in TRIAL_COLUMNS if c != "seed"]
EPOCH_COLUMNS = ["trial_id", "epoch", "value", "seconds", "worker", "ended_at", "node"]
EVENT_COLUMNS = ["trial_id", "kind", "epoch", "reason", "at"]


class LiveReader(StudyReader):
    """The dashboard's reads of one database (open one per request: it is not shared
    between threads)."""

    def header(self, name: str) -> dict[str, Any]:
        """The study's row as stored (``settings`` as JSON text)."""
        row = self._row(name)
        if row is None:
            raise StudyNotFound(
                f"no study named {name!r} in {self.storage}", public=f"no study named {name!r}"
            )
        return dict(row)

    def _study_id(self, name: str) -> int:
        return int(self.header(name)["study_id"])

    def recent_studies(self) -> list[dict[str, Any]]:
        """Every study's name, status, scheduler, metric, best value and progress, newest first."""
        rows = self.conn.execute(
            "SELECT name, status, scheduler, metric, best_value, epochs_spent, planned_budget, "
            "created_at FROM studies ORDER BY created_at DESC"
        ).fetchall()
        return [dict(r) for r in rows]

    def trials_since(self, name: str, since: float = 0.0) -> dict[str, Any]:
        """The trials that changed after ``since`` (a time), by id: :data:`LIVE_TRIAL_COLUMNS`,
        ``config``, and the cursor (the latest change)."""
        study_id = self._study_id(name)
        rows = self.conn.execute(
            f"SELECT {', '.join(LIVE_TRIAL_COLUMNS)}, config, updated_at FROM trials "
            "WHERE study_id = ? AND updated_at > ? ORDER BY trial_id",
            (study_id, since),
        ).fetchall()
        out: dict[str, Any] = {c: [r[c] for r in rows] for c in LIVE_TRIAL_COLUMNS}
        out["config"] = [json.loads(r["config"]) for r in rows]
        out["cursor"] = max((r["updated_at"] for r in rows), default=since)
        return out

    def epochs_after(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every epoch after row ``since``: :data:`EPOCH_COLUMNS` (``node`` None before
        nodes were recorded, or in-process) and the cursor."""
        return self._after(name, "epochs", "rowid", since, EPOCH_COLUMNS)

    def events_after(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every event after ``since``: :data:`EVENT_COLUMNS` and the cursor."""
        return self._after(name, "events", "event_id", since, EVENT_COLUMNS)

    def _after(
        self, name: str, table: str, key: str, since: int, columns: list[str]
    ) -> dict[str, Any]:
        """The study's rows of ``table`` whose ``key`` is past ``since``, as columns, with
        the cursor to ask from next time (append-only tables: epochs, events)."""
        study_id = self._study_id(name)
        if table == "epochs":  # an older database read-only has no node column
            columns = [node_column(self.conn) if c == "node" else c for c in columns]
        rows = self.conn.execute(
            f"SELECT {key}, {', '.join(columns)} FROM {table} "
            f"WHERE study_id = ? AND {key} > ? ORDER BY {key}",
            (study_id, since),
        ).fetchall()
        columns = [c.split()[-1] for c in columns]
        out: dict[str, Any] = {c: [r[i] for r in rows] for i, c in enumerate(columns, start=1)}
        out["cursor"] = rows[-1][0] if rows else since
        return out

    def trial_record(
        self, name: str, trial_id: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """One trial in full: its row (``config`` read), its epochs (epoch, metrics,
        seconds, worker) and its events (kind, epoch, reason, at), each in order."""
        study_id = self._study_id(name)
        row = self.conn.execute(
            "SELECT * FROM trials WHERE study_id = ? AND trial_id = ?", (study_id, trial_id)
        ).fetchone()
        if row is None:
            raise StudyNotFound(f"study {name!r} has no trial {trial_id}")
        epochs = self.conn.execute(
            "SELECT epoch, metrics, seconds, worker FROM epochs WHERE study_id = ? AND trial_id = ? "
            "ORDER BY epoch",
            (study_id, trial_id),
        ).fetchall()
        events = self.conn.execute(
            "SELECT kind, epoch, reason, at FROM events WHERE study_id = ? AND trial_id = ? ORDER BY event_id",
            (study_id, trial_id),
        ).fetchall()
        trial = dict(row)
        trial["config"] = json.loads(trial["config"])
        return (
            trial,
            [{**dict(e), "metrics": json.loads(e["metrics"])} for e in epochs],
            [dict(e) for e in events],
        )

    def report(self, name: str) -> dict[str, Any] | None:
        """The study's newest best-model report (``hpo report``), or None."""
        if not has_table(self.conn, "reports"):
            return None
        return latest_report(self.conn, self._study_id(name))

    def comparison(self, name: str) -> dict[str, Any] | None:
        """The newest comparison of that name (``hpo compare``), or None."""
        return latest_comparison(self.conn, name) if has_table(self.conn, "comparisons") else None

    def comparisons(self) -> list[dict[str, Any]]:
        """Every comparison's name and time, newest first."""
        return comparison_names(self.conn) if has_table(self.conn, "comparisons") else []
