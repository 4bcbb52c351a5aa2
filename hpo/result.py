"""A recorded study as a Python object: ``hpo.load(study)`` and what ``hpo.search`` returns.

:class:`Result` reads a study (finished, interrupted, or running now) through a
:class:`hpo.store.StudySource`: the study database (:class:`LocalSource`, over
:class:`hpo.store.StudyReader`) or a server's HTTP API (:class:`ClientSource`, over
:class:`hpo.client.Client`). Every property reads afresh, so a result of a running search
shows what is recorded so far::

    result = hpo.load("mlp", storage="results/studies.db")
    result.best            # Best(config={...}, value=0.97, trial_id=12, epochs=27, ...)
    result.trials          # one row per trial: status, epochs, values, config.<name> columns
    result.curves          # one row per (trial, epoch): value and every metric
    result.plot()          # the dashboard's learning curves, as a plotly Figure
    result.dashboard()     # the live dashboard, served from a thread; .url, .stop()

In Jupyter a result shows its summary and its curves (``_repr_html_``).
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hpo.dashboard import curves_figure
from hpo.sources import ClientSource, LocalSource
from hpo.store import DEFAULT_STORAGE, TRIAL_COLUMNS, StudySource

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: The columns of :attr:`Result.curves` that are not metrics.
_EPOCH_FIELDS = ["seconds", "worker", "node", "ended_at"]


@dataclass(frozen=True)
class Best:
    """The best trial of a study: the configuration the trainer got (nested as written),
    its best value of the objective ``metric``, its id, the epochs it trained, its status."""

    config: dict[str, Any]
    value: float
    trial_id: int
    epochs: int
    status: str
    metric: str


@dataclass
class DashboardServer:
    """A dashboard being served (:meth:`Result.dashboard`): open :attr:`url`; :meth:`stop`."""

    url: str
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        """Stop serving (the thread ends; the port is freed). Safe to call twice."""
        stop, self._stop = self._stop, lambda: None
        stop()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _repr_html_(self) -> str:
        url = html.escape(self.url)
        return f"dashboard at <a href='{url}' target='_blank'>{url}</a>"


class Result:
    """A recorded study, read through ``source``.

    Args:
        source: where the study is recorded (:class:`LocalSource`, :class:`ClientSource`,
            or anything with the :class:`~hpo.store.StudySource` methods it reads: study,
            trials, epochs, events, best).
        study: the study's name; an unknown one raises :class:`hpo.store.StudyNotFound`.
        nested: dotted names to hand back nested in :attr:`best` (default: every dotted
            name, as the trainers got them: :func:`hpo.space.nest`).
    """

    def __init__(
        self, source: StudySource, study: str, *, nested: Iterable[str] | None = None
    ) -> None:
        self.source, self.name = source, study
        self.nested = None if nested is None else frozenset(nested)
        self.info  # an unknown study fails here, in one line  # noqa: B018

    # -- reading -------------------------------------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
        """The study's header: status, scheduler, metric, mode, epochs spent, settings, …"""
        return self.source.study(self.name)

    @property
    def best(self) -> Best | None:
        """The best trial so far (None before any epoch has a value)."""
        if self.info.get("best_trial") is None:
            return None
        from hpo.space import nest

        b = self.source.best(self.name)
        return Best(
            config=nest(b["config"], self.nested),
            value=float(b["value"]),
            trial_id=int(b["trial_id"]),
            epochs=int(b["epochs"]),
            status=b["status"],
            metric=b["metric"],
        )

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial: :data:`TRIAL_COLUMNS`, then ``config.<name>`` for every
        hyperparameter (fixed ones too); an inactive one is empty (NaN)."""
        frame = self.source.trials(self.name)
        configs = list(frame["config"]) if "config" in frame else []
        names = _config_names(self.info.get("settings") or {}, configs)
        table = pd.DataFrame.from_records(
            [{n: c.get(n, math.nan) for n in names} for c in configs],
            columns=names,
            index=frame.index,
        ).add_prefix("config.")
        base = frame.reindex(columns=TRIAL_COLUMNS)
        return pd.concat([base, table], axis=1)

    @property
    def curves(self) -> pd.DataFrame:
        """One row per (trial, epoch): ``trial_id``, ``epoch``, ``value`` (the objective),
        every metric the trainer reported, then ``seconds``, ``worker``, ``node``,
        ``ended_at``."""
        frame = self.source.epochs(self.name)
        metrics = [
            c for c in frame.columns if c not in ("trial_id", "epoch", "value", *_EPOCH_FIELDS)
        ]
        columns = ["trial_id", "epoch", "value", *metrics, *_EPOCH_FIELDS]
        frame = frame.reindex(columns=columns)
        return frame.sort_values(["trial_id", "epoch"], kind="stable").reset_index(drop=True)

    # -- showing -------------------------------------------------------------------------------

    def plot(self, *, color_by: str = "bracket", all_marks: bool = False) -> go.Figure:
        """The dashboard's learning curves: the objective against epochs, one line per
        trial coloured by its bracket (or the rung it reached, ``color_by="rung"``), with
        the scheduler's decisions as markers (the newest 2000, or ``all_marks``)."""
        if color_by not in ("bracket", "rung"):
            raise ValueError(f"color_by={color_by!r} is unknown; expected bracket or rung")
        return curves_figure(
            self.info,
            self.source.epochs(self.name),
            self.source.trials(self.name),
            self.source.events(self.name),
            color_by=color_by,
            all_marks=all_marks,
        )

    def dashboard(self, port: int = 0, *, open_browser: bool = False) -> DashboardServer:
        """Serve the live dashboard of this study's database from a thread, on 127.0.0.1
        (``port`` 0: any free one); a study on a server is already served there."""
        from hpo.dashboard import study_url

        if isinstance(self.source, ClientSource):
            server = DashboardServer(self.source.client.url + study_url(self.name), lambda: None)
        elif isinstance(self.source, LocalSource):
            from hpo.service import create_app
            from hpo.service._server import serving_in_thread

            stack = contextlib.ExitStack()
            app = create_app(str(self.source.storage), readonly=True)
            base = stack.enter_context(serving_in_thread(app, "127.0.0.1", port))
            server = DashboardServer(base + study_url(self.name), stack.close)
        else:
            raise TypeError(f"a dashboard needs a study database or a server, not {self.source!r}")
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        return server

    def summary(self) -> dict[str, Any]:
        """What :meth:`__repr__` and the notebook view show, as data."""
        info = self.info
        trials = self.source.trials(self.name)
        counts = trials["status"].value_counts().to_dict() if len(trials) else {}
        return {
            "study": self.name,
            "scheduler": info.get("scheduler"),
            "status": info.get("status"),
            "trials": len(trials),
            "by_status": {str(k): int(v) for k, v in counts.items()},
            "epochs": info.get("epochs_spent"),
            "planned_epochs": info.get("planned_budget"),
            "metric": info.get("metric"),
            "mode": info.get("mode"),
            "best": self.best,
        }

    def __repr__(self) -> str:
        s = self.summary()
        best = s["best"]
        shown = (
            f"best {s['metric']} {best.value:.4g} (trial {best.trial_id})"
            if best
            else "no value yet"
        )
        return (
            f"<Result {s['study']!r}: {s['scheduler']}, {s['status']}, {s['trials']} trials, "
            f"{s['epochs']} epochs, {shown}>"
        )

    def _repr_html_(self) -> str:
        q = html.escape
        s = self.summary()
        best: Best | None = s["best"]
        planned = f" of {s['planned_epochs']} planned" if s["planned_epochs"] is not None else ""
        counts = ", ".join(f"{k} {v}" for k, v in s["by_status"].items())
        rows = [
            ("study", s["study"]),
            ("scheduler", s["scheduler"]),
            ("status", s["status"]),
            ("trials", f"{s['trials']}" + (f" ({counts})" if counts else "")),
            ("epochs", f"{s['epochs']}{planned}"),
        ]
        if best is None:
            rows.append(("best", "no value yet"))
        else:
            rows.append(
                (
                    "best",
                    f"{s['metric']} {best.value:.4f} ({s['mode']}): trial "
                    f"{best.trial_id}, {best.epochs} epochs, {best.status}",
                )
            )
            rows += [(f"  {k}", repr(v)) for k, v in _flat(best.config).items()]
        table = "".join(
            f"<tr><th style='text-align:left'>{q(str(k))}</th><td style='text-align:left'>"
            f"{q(str(v))}</td></tr>"
            for k, v in rows
        )
        figure = self.plot().to_html(full_html=False, include_plotlyjs="cdn")
        return f"<div class='hpo-result'><table>{table}</table>{figure}</div>"


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    from hpo.space import flatten

    return flatten(config)


def _config_names(settings: dict[str, Any], configs: list[dict[str, Any]]) -> list[str]:
    """The hyperparameters in the space's order (fixed, then searched), then any others the
    configurations hold."""
    names: dict[str, None] = {}
    with contextlib.suppress(Exception):  # a study whose space no longer builds: as recorded
        from hpo.space import SearchSpace

        space = SearchSpace.from_dict(settings["space"], settings.get("fixed"))
        names.update(dict.fromkeys([*space.fixed, *space.params]))
    for config in configs:
        names.update(dict.fromkeys(config))
    return list(names)


def load(
    study: str,
    storage: str | Path = DEFAULT_STORAGE,
    *,
    server: str | None = None,
    token: str | None = None,
    ca: str | Path | None = None,
) -> Result:
    """The :class:`Result` of a recorded study: from the database ``storage`` (the CLI's
    ``--storage``, default ``results/studies.db``), or from the server at ``server``
    (``token`` defaults to ``$HPO_TOKEN``, ``ca`` to ``$HPO_CA``, as the client's).

    Raises :class:`hpo.store.StudyNotFound` (a ValueError) naming the study and the
    studies that are there, or :class:`hpo.store.StoreError` when there is no database.
    """
    if server is not None:
        from hpo.client import connect

        return connect(server, token=token, ca=ca, retry_for=10.0).result(study)
    return Result(LocalSource(storage), study)


__all__ = [
    "TRIAL_COLUMNS",
    "Best",
    "ClientSource",
    "DashboardServer",
    "LocalSource",
    "Result",
    "StudySource",
    "curves_figure",
    "load",
]
