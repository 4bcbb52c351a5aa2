"""What the dashboard shows, read from the study database only, as JSON-ready dicts.

Every list is columnar (one array per field) and carries a cursor, so that a live page
asks only for what is new: epochs and events by their row ids, trials by the time they
last changed.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from hpo.store import StudyNotFound, connect, node_column


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


class DashboardData:
    """Read-only queries for one database; a fresh connection per call (thread-safe)."""

    def __init__(self, storage: str | Path) -> None:
        self.storage = storage
        with self._conn():  # fail early if there is no database
            pass

    def _conn(self) -> sqlite3.Connection:
        return connect(self.storage, readonly=True)

    def _study_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise StudyNotFound(f"no study named {name!r} in {self.storage}")
        return row

    def studies(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT name, status, scheduler, metric, best_value, epochs_spent, planned_budget, "
                "created_at FROM studies ORDER BY created_at DESC"
            ).fetchall()
            comparisons = (
                _table_exists(conn, "comparisons")
                and conn.execute(
                    "SELECT name, created_at FROM comparisons ORDER BY created_at DESC"
                ).fetchall()
            )
        return [dict(r) for r in rows] + [
            {"name": r["name"], "status": "comparison", "created_at": r["created_at"]}
            for r in comparisons or []
        ]

    def study(self, name: str) -> dict[str, Any]:
        """The study's header: settings, progress, and the planned brackets (for the SH view)."""
        with self._conn() as conn:
            row = dict(self._study_row(conn, name))
        text = row.pop("settings")
        row["settings"] = json.loads(text)
        row["brackets"] = _planned_brackets(text)
        return row

    def trials(self, name: str, since: float = 0.0) -> dict[str, Any]:
        with self._conn() as conn:
            study_id = self._study_row(conn, name)["study_id"]
            rows = conn.execute(
                "SELECT trial_id, status, bracket, rung, epochs, best_value, last_value, reason, config, "
                "updated_at FROM trials WHERE study_id = ? AND updated_at > ? ORDER BY trial_id",
                (study_id, since),
            ).fetchall()
        cursor = max((r["updated_at"] for r in rows), default=since)
        cols = [
            "trial_id",
            "status",
            "bracket",
            "rung",
            "epochs",
            "best_value",
            "last_value",
            "reason",
        ]
        out: dict[str, Any] = {c: [r[c] for r in rows] for c in cols}
        out["config"] = [json.loads(r["config"]) for r in rows]
        out["cursor"] = cursor
        return out

    def epochs(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every epoch after row ``since``: trial, epoch, value, seconds, worker, ended_at,
        node (the machine; None before nodes were recorded, or in-process)."""
        out = self._after(name, "epochs", "rowid", since,
                          ["trial_id", "epoch", "value", "seconds", "worker", "ended_at", "node"])  # fmt: skip
        out["value"] = [_finite(v) for v in out["value"]]
        return out

    def events(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every event after ``since``: trial, kind, epoch, reason, time."""
        return self._after(name, "events", "event_id", since,
                           ["trial_id", "kind", "epoch", "reason", "at"])  # fmt: skip

    def _after(
        self, name: str, table: str, key: str, since: int, columns: list[str]
    ) -> dict[str, Any]:
        """The study's rows of ``table`` whose ``key`` is past ``since``, as columns, with
        the cursor to ask from next time (append-only tables: epochs, events)."""
        with self._conn() as conn:
            study_id = self._study_row(conn, name)["study_id"]
            if table == "epochs":  # an older database read-only has no node column
                columns = [node_column(conn) if c == "node" else c for c in columns]
            rows = conn.execute(
                f"SELECT {key}, {', '.join(columns)} FROM {table} "
                f"WHERE study_id = ? AND {key} > ? ORDER BY {key}",
                (study_id, since),
            ).fetchall()
        columns = [c.split()[-1] for c in columns]
        out: dict[str, Any] = {c: [r[i] for r in rows] for i, c in enumerate(columns, start=1)}
        out["cursor"] = rows[-1][0] if rows else since
        return out

    def delta(
        self, name: str, epochs: int = 0, events: int = 0, trials: float = 0.0
    ) -> dict[str, Any]:
        """Everything new since the three cursors, plus the header (one request per refresh)."""
        return {
            "study": self.study(name),
            "epochs": self.epochs(name, epochs),
            "events": self.events(name, events),
            "trials": self.trials(name, trials),
        }

    def trial(self, name: str, trial_id: int) -> dict[str, Any]:
        """One trial in full: every metric of every epoch, its events and configuration."""
        with self._conn() as conn:
            study_id = self._study_row(conn, name)["study_id"]
            row = conn.execute(
                "SELECT * FROM trials WHERE study_id = ? AND trial_id = ?", (study_id, trial_id)
            ).fetchone()
            if row is None:
                raise StudyNotFound(f"study {name!r} has no trial {trial_id}")
            epochs = conn.execute(
                "SELECT epoch, metrics, seconds, worker FROM epochs WHERE study_id = ? AND trial_id = ? "
                "ORDER BY epoch",
                (study_id, trial_id),
            ).fetchall()
            events = conn.execute(
                "SELECT kind, epoch, reason, at FROM events WHERE study_id = ? AND trial_id = ? ORDER BY event_id",
                (study_id, trial_id),
            ).fetchall()
        trial = dict(row)
        trial["config"] = json.loads(trial["config"])
        metrics = [json.loads(e["metrics"]) for e in epochs]
        names = sorted({k for m in metrics for k in m})
        trial["epochs"] = {
            "epoch": [e["epoch"] for e in epochs],
            "seconds": [e["seconds"] for e in epochs],
            "worker": [e["worker"] for e in epochs],
            **{k: [_finite(m.get(k)) for m in metrics] for k in names},
        }
        trial["events"] = [dict(e) for e in events]
        return trial

    def importance(self, name: str, max_trials: int = 1000) -> dict[str, float]:
        """Hyperparameter importance (Optuna's PED-ANOVA) over the latest ``max_trials``
        trials' best values."""
        import optuna
        from optuna.importance import PedAnovaImportanceEvaluator

        study = self.study(name)
        from hpo.samplers import optuna_distributions
        from hpo.space import SearchSpace

        space = SearchSpace.from_dict(study["settings"]["space"], study["settings"].get("fixed"))
        dists, decode = optuna_distributions(space)
        encode = {
            n: {json.dumps(v, default=list): k for k, v in m.items()} for n, m in decode.items()
        }
        trials = self.trials(name)
        rows = [
            (c, v)
            for c, v in zip(trials["config"], trials["best_value"], strict=True)
            if v is not None
        ][-max_trials:]
        if len(rows) < 4 or not dists:
            return {}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if study["mode"] == "max" else "minimize"
        ostudy = optuna.create_study(direction=direction)
        for config, value in rows:
            params = {}
            for n in dists:
                if n not in config:  # inactive in a conditional space: not a value
                    continue
                v = config[n]
                params[n] = encode[n].get(json.dumps(v, default=list), v) if n in encode else v
            try:
                ostudy.add_trial(
                    optuna.trial.create_trial(
                        params=params,
                        distributions={n: dists[n] for n in params},
                        value=float(value),
                    )
                )
            except ValueError:  # a value outside the space (edited settings): skip it
                continue
        if len(ostudy.trials) < 4:
            return {}
        try:
            scores = optuna.importance.get_param_importances(
                ostudy, evaluator=PedAnovaImportanceEvaluator()
            )
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}
        return {k: float(v) for k, v in scores.items()}

    def report(self, name: str) -> dict[str, Any] | None:
        with self._conn() as conn:
            if not _table_exists(conn, "reports"):
                return None
            study_id = self._study_row(conn, name)["study_id"]
            row = conn.execute(
                "SELECT payload FROM reports WHERE study_id = ? ORDER BY created_at DESC LIMIT 1",
                (study_id,),
            ).fetchone()
        return json.loads(row["payload"]) if row else None

    def comparison(self, name: str) -> dict[str, Any] | None:
        with self._conn() as conn:
            if not _table_exists(conn, "comparisons"):
                return None
            row = conn.execute(
                "SELECT payload FROM comparisons WHERE name = ? ORDER BY created_at DESC LIMIT 1",
                (name,),
            ).fetchone()
        return json.loads(row["payload"]) if row else None

    def everything(self, name: str) -> dict[str, Any]:
        """The whole study at once: what a static HTML export embeds."""
        payload = self.delta(name)
        payload["importance"] = self.importance(name)
        payload["report"] = self.report(name)
        return payload


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        is not None
    )


@functools.lru_cache(maxsize=64)
def _planned_brackets(settings: str) -> list[dict[str, Any]]:
    """The brackets the study planned: ``[{"s": 3, "rungs": [[27, 1], [9, 3], …]}, …]``
    (cached by the settings' text: a live page asks every two seconds)."""
    from hpo.settings import SearchSettings

    try:
        scheduler = SearchSettings.from_dict(json.loads(settings)).build_scheduler()
    except Exception:  # a study whose settings no longer build (e.g. a simulator table)
        return []
    return [
        {"s": b.s, "rungs": [[r.n_trials, r.epochs] for r in b.rungs]}
        for b in scheduler.planned_brackets()
    ]


if __name__ == "__main__":  # python -m hpo.dashboard._data STORAGE STUDY: importance as JSON
    import sys

    print(json.dumps(DashboardData(sys.argv[1]).importance(sys.argv[2])))
