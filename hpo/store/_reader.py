"""Reading studies back: ``hpo list``, ``status``, ``best``, ``export``, :func:`hpo.load`,
the service's study routes and its restart.

Read-only (a reader never writes), so it is safe while a search runs: WAL lets readers
and the one writer work at once.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from hpo.store._db import StudyNotFound, connect, storage_path
from hpo.store._schema import node_column

#: A trial's columns as they are shown (:attr:`hpo.result.Result.trials`, the dashboard's
#: table), before its configuration.
TRIAL_COLUMNS = [
    "trial_id",
    "status",
    "bracket",
    "rung",
    "epochs",
    "best_value",
    "last_value",
    "reason",
    "seed",
]


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

    def _row(self, name: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM studies WHERE name = ?", (name,)).fetchone()

    def find(self, name: str) -> dict[str, Any] | None:
        """The study's row (its ``settings`` read from JSON), or None if there is none."""
        row = self._row(name)
        if row is None:
            return None
        study = dict(row)
        study["settings"] = json.loads(study["settings"])
        return study

    def study(self, name: str) -> dict[str, Any]:
        """The study's row, its ``settings`` read from JSON; StudyNotFound naming the
        studies that are there."""
        study = self.find(name)
        if study is None:
            names = [
                r[0] for r in self.conn.execute("SELECT name FROM studies ORDER BY created_at")
            ]
            known = (
                f"; studies here: {', '.join(names[-10:])}" if names else "; it has no studies yet"
            )
            raise StudyNotFound(
                f"no study named {name!r} in {self.storage}{known}",
                public=f"no study named {name!r}",
            )
        return study

    def studies(self) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT name, status, scheduler, metric, mode, best_value, best_trial, epochs_spent, "
            "planned_budget, created_at, updated_at, "
            "(SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id) AS trials "
            "FROM studies s ORDER BY created_at",
            self.conn,
        )

    def unfinished(self, drivers: Iterable[str]) -> list[dict[str, Any]]:
        """Name, driver and settings of every study run by one of ``drivers`` that was
        running or interrupted, oldest first: what a restarted server takes back."""
        drivers = tuple(drivers)
        rows = self.conn.execute(
            "SELECT name, settings, driver FROM studies "
            f"WHERE driver IN ({', '.join('?' * len(drivers))}) "
            "AND status IN ('running', 'interrupted') ORDER BY created_at",
            drivers,
        ).fetchall()
        return [
            {"name": r["name"], "driver": r["driver"], "settings": json.loads(r["settings"])}
            for r in rows
        ]

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

    def export(self, name: str, fmt: str = "csv") -> bytes:
        """:meth:`export_frame` as a file's bytes: ``csv`` or ``parquet``."""
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"fmt={fmt!r} is unknown; expected csv or parquet")
        buffer = io.BytesIO()
        frame = self.export_frame(name)
        if fmt == "csv":
            frame.to_csv(buffer, index=False)
        else:
            frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
