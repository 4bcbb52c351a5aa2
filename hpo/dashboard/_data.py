"""What the dashboard shows, read from the study database only, as JSON-ready dicts.

Every list is columnar (one array per field) and carries a cursor, so that a live page
asks only for what is new: epochs and events by their row ids, trials by the time they
last changed. The queries are the store's (:class:`hpo.store.LiveReader`); this module
adds what the page draws from them (planned brackets, importance) and keeps every number
JSON-safe.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

from hpo.store import LiveReader


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


class DashboardData:
    """Read-only queries for one database; a fresh connection per call (thread-safe)."""

    def __init__(self, storage: str | Path) -> None:
        self.storage = storage
        self._reader().close()  # fail early if there is no database

    def _reader(self) -> LiveReader:
        return LiveReader(self.storage)

    def studies(self) -> list[dict[str, Any]]:
        with self._reader() as r:
            rows, comparisons = r.recent_studies(), r.comparisons()
        return rows + [
            {"name": c["name"], "status": "comparison", "created_at": c["created_at"]}
            for c in comparisons
        ]

    def study(self, name: str) -> dict[str, Any]:
        """The study's header: settings, progress, and the planned brackets (for the SH view)."""
        with self._reader() as r:
            row = r.header(name)
        text = row.pop("settings")
        row["settings"] = json.loads(text)
        row["brackets"] = _planned_brackets(text)
        return row

    def trials(self, name: str, since: float = 0.0) -> dict[str, Any]:
        with self._reader() as r:
            return r.trials_since(name, since)

    def epochs(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every epoch after row ``since``: trial, epoch, value, seconds, worker, ended_at,
        node (the machine; None before nodes were recorded, or in-process)."""
        with self._reader() as r:
            out = r.epochs_after(name, since)
        out["value"] = [_finite(v) for v in out["value"]]
        return out

    def events(self, name: str, since: int = 0) -> dict[str, Any]:
        """Every event after ``since``: trial, kind, epoch, reason, time."""
        with self._reader() as r:
            return r.events_after(name, since)

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
        with self._reader() as r:
            trial, epochs, events = r.trial_record(name, trial_id)
        metrics = [e["metrics"] for e in epochs]
        names = sorted({k for m in metrics for k in m})
        trial["epochs"] = {
            "epoch": [e["epoch"] for e in epochs],
            "seconds": [e["seconds"] for e in epochs],
            "worker": [e["worker"] for e in epochs],
            **{k: [_finite(m.get(k)) for m in metrics] for k in names},
        }
        trial["events"] = events
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
        with self._reader() as r:
            return r.report(name)

    def comparison(self, name: str) -> dict[str, Any] | None:
        with self._reader() as r:
            return r.comparison(name)

    def everything(self, name: str) -> dict[str, Any]:
        """The whole study at once: what a static HTML export embeds."""
        payload = self.delta(name)
        payload["importance"] = self.importance(name)
        payload["report"] = self.report(name)
        return payload


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
