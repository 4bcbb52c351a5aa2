"""A recorded study as a Python object: ``hpo.load(study)`` and what ``hpo.search`` returns.

:class:`Result` reads a study (finished, interrupted, or running now) through a small
:class:`StudySource`: the study database (:class:`LocalSource`, over
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
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from hpo.store import DEFAULT_STORAGE, StudyNotFound, StudyReader

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hpo.client import Client

#: The trial columns of :attr:`Result.trials` (then one ``config.<name>`` per hyperparameter).
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
#: The columns of :attr:`Result.curves` that are not metrics.
_EPOCH_FIELDS = ["seconds", "worker", "node", "ended_at"]

# The dashboard's learning-curve view (hpo/dashboard/page.js: drawCurves, layoutBase,
# COLORS, EVENT_STYLE, MAX_MARKERS), ported so that Result.plot() draws the same figure.
MAX_MARKERS = 2000
COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
EVENT_STYLE = {
    "pause": {"symbol": "circle-open", "color": "#555"},
    "promote": {"symbol": "triangle-up", "color": "#2ca02c"},
    "stop": {"symbol": "x", "color": "#d62728"},
    "complete": {"symbol": "star", "color": "#000"},
    "diverge": {"symbol": "x-thin-open", "color": "#ff00ff"},
    "fail": {"symbol": "square-x-open", "color": "#ff0000"},
}
_MODEBAR_PX, _TITLE_PAD = 30, 6


class StudySource(Protocol):
    """Where a :class:`Result` reads a study; each method raises :class:`StudyNotFound`
    for an unknown name.

    ``study`` is the header (name, status, scheduler, metric, mode, epochs_spent,
    planned_budget, best_trial, best_value, settings, brackets); ``trials``, ``epochs``
    and ``events`` are the frames of :class:`hpo.store.StudyReader`; ``best`` its best
    trial (a dict).
    """

    def study(self, name: str) -> dict[str, Any]: ...

    def trials(self, name: str) -> pd.DataFrame: ...

    def epochs(self, name: str) -> pd.DataFrame: ...

    def events(self, name: str) -> pd.DataFrame: ...

    def best(self, name: str) -> dict[str, Any]: ...


class LocalSource:
    """A study database on this machine, read with a fresh connection per call (so that a
    result may be read from any thread, and never holds the file open)."""

    def __init__(self, storage: str | Path) -> None:
        self.storage = storage
        with StudyReader(storage):  # no database there: one line now (StoreError)
            pass

    def study(self, name: str) -> dict[str, Any]:
        from hpo.dashboard import DashboardData

        with StudyReader(self.storage) as r:
            info = r.study(name)  # its message lists the studies that are there
        info["brackets"] = DashboardData(self.storage).study(name)["brackets"]
        return info

    def trials(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.trials(name)

    def epochs(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.epochs(name)

    def events(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.events(name)

    def best(self, name: str) -> dict[str, Any]:
        with StudyReader(self.storage) as r:
            return r.best(name)


# SQLite's largest INTEGER: a cursor past every row (the dashboard route's upper bound).
_PAST_EVERY_ROW = 2**63 - 1


class ClientSource:
    """A study on a server (``hpo serve``), read through its HTTP API: the header and the
    decisions from the dashboard's ``delta`` route, the trials and the best trial from the
    study routes, every metric of every epoch from the export (Parquet)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _get(self, name: str, tail: str = "", **params: Any) -> Any:
        from urllib.parse import quote

        from hpo.client import ClientError

        try:
            return self.client.request(
                "GET", f"/api/studies/{quote(name, safe='')}{tail}", params=params
            )
        except ClientError as exc:
            if exc.status == 404:
                raise StudyNotFound(f"{exc.message} (on {self.client.url})") from None
            raise

    def _delta(self, name: str, **cursors: Any) -> dict[str, Any]:
        return self._get(name, "/delta", **cursors).json()

    def study(self, name: str) -> dict[str, Any]:
        # Cursors past every row: the header alone.
        delta = self._delta(name, epochs=_PAST_EVERY_ROW, events=_PAST_EVERY_ROW, trials=1e308)
        return delta["study"]

    def trials(self, name: str) -> pd.DataFrame:
        rows = self._get(name, "/trials").json()
        if not rows:  # no records to read the columns from
            return pd.DataFrame(columns=[*TRIAL_COLUMNS, "config"])
        return pd.DataFrame.from_records(rows)

    def epochs(self, name: str) -> pd.DataFrame:
        import io

        frame = pd.read_parquet(io.BytesIO(self._get(name, "/export", format="parquet").content))
        # The export is the epochs joined with their trial's status, bracket, seed and
        # config.* columns (StudyReader.export_frame): keep the epochs' own columns.
        columns = list(frame.columns)
        for i in range(len(columns) - 3, -1, -1):
            if columns[i : i + 3] == ["status", "bracket", "seed"]:
                return frame[columns[:i]]
        return frame

    def events(self, name: str) -> pd.DataFrame:
        events = self._delta(name, epochs=_PAST_EVERY_ROW, trials=1e308)["events"]
        events.pop("cursor", None)
        return pd.DataFrame(events)

    def best(self, name: str) -> dict[str, Any]:
        return self._get(name, "/best").json()


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
            or anything with the :class:`StudySource` methods).
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


def _esc(text: Any) -> str:
    """page.js's esc(): plotly renders titles and hover texts as HTML."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def curves_figure(
    study: dict[str, Any],
    epochs: pd.DataFrame,
    trials: pd.DataFrame,
    events: pd.DataFrame,
    *,
    color_by: str = "bracket",
    all_marks: bool = False,
) -> go.Figure:
    """The dashboard's learning-curve view (page.js ``drawCurves``) as a plotly Figure.

    One line trace per group (bracket, or rung reached), each trial a segment of it ended
    by a gap, a one-epoch trial a short tick; a marker trace per kind of decision. Trials
    come in the order their first epoch ended, as the page receives them.
    """
    import plotly.graph_objects as go

    brackets = study.get("brackets") or []
    rows = {int(r.trial_id): r for r in trials.itertuples()} if len(trials) else {}

    def group_of(trial: int) -> str:
        row = rows.get(trial)
        if row is None:
            return "?"
        if color_by == "rung":
            return f"rung {row.rung}"
        b = int(row.bracket)
        return f"bracket s={brackets[b]['s']}" if 0 <= b < len(brackets) else f"bracket {b}"

    def group_index(trial: int) -> int:
        row = rows.get(trial)
        return int(row.rung if color_by == "rung" else row.bracket) if row is not None else 0

    curves: dict[int, tuple[list[Any], list[Any]]] = {}
    if len(epochs):
        order = epochs.sort_values("ended_at", kind="stable") if "ended_at" in epochs else epochs
        first = list(dict.fromkeys(int(t) for t in order["trial_id"]))
        by_trial = {int(t): g.sort_values("epoch") for t, g in epochs.groupby("trial_id")}
        for t in first:
            g = by_trial[t]
            curves[t] = ([int(x) for x in g["epoch"]], [_finite(v) for v in g["value"]])

    groups: dict[str, dict[str, list[Any]]] = {}
    index: dict[str, int] = {}
    for trial, (xs, ys) in curves.items():
        g = group_of(trial)
        index.setdefault(g, group_index(trial))
        gr = groups.setdefault(g, {"x": [], "y": [], "text": []})
        label = f"trial {trial}"
        if len(xs) == 1:  # a short tick, so that a one-epoch trial shows in the line trace
            gr["x"] += [xs[0] - 0.15, xs[0] + 0.15, None]
            gr["y"] += [ys[0], ys[0], None]
            gr["text"] += [label, label, None]
            continue
        gr["x"] += [*xs, None]
        gr["y"] += [*ys, None]
        gr["text"] += [label] * len(xs) + [None]
    names = sorted(groups, key=lambda g: index[g])
    traces: list[Any] = [
        go.Scatter(
            mode="lines",
            name=g,
            x=groups[g]["x"],
            y=groups[g]["y"],
            text=groups[g]["text"],
            hoverinfo="text+x+y",
            line={"width": 1, "color": COLORS[index[g] % len(COLORS)]},
            connectgaps=False,
            legendgroup=g,
        )
        for g in names
    ]

    shown = (
        [
            (int(e.trial_id), e.kind, int(e.epoch), e.reason)
            for e in events.itertuples()
            if e.kind in EVENT_STYLE and e.epoch >= 1
        ]
        if len(events)
        else []
    )
    capped = shown if all_marks else shown[-MAX_MARKERS:]
    marks: dict[str, dict[str, list[Any]]] = {}
    for trial, kind, epoch, reason in capped:
        if trial not in curves:
            continue
        xs, ys = curves[trial]
        if epoch not in xs:
            continue
        i = len(xs) - 1 - xs[::-1].index(epoch)
        m = marks.setdefault(kind, {"x": [], "y": [], "text": []})
        m["x"].append(epoch)
        m["y"].append(ys[i])
        m["text"].append(f"trial {trial} {_esc(kind)}: {_esc(reason)}")
    for kind, m in marks.items():
        traces.append(
            go.Scatter(
                mode="markers",
                name=kind,
                x=m["x"],
                y=m["y"],
                text=m["text"],
                hoverinfo="text",
                marker={**EVENT_STYLE[kind], "size": 7},
            )
        )

    metric = _esc(study.get("metric", ""))
    samples = (study.get("settings") or {}).get("resource") == "samples"
    title = (
        f"{metric} against training samples (a refit per rung)"
        if samples
        else f"Learning curves: {metric} per epoch"
    )
    layout = {
        "title": {
            "text": title,
            "font": {"size": 14},
            "yref": "paper",
            "y": 1,
            "yanchor": "bottom",
            "pad": {"b": _TITLE_PAD},
        },
        "margin": {"l": 55, "r": 15, "t": _MODEBAR_PX + 28, "b": 40},
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"title": {"text": "samples" if samples else "epoch"}},
        "yaxis": {"title": {"text": metric}},
        "template": "none",  # plotly.js's own look, as the dashboard draws it
    }
    return go.Figure(data=traces, layout=layout)


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
    "Best",
    "ClientSource",
    "DashboardServer",
    "LocalSource",
    "Result",
    "StudySource",
    "curves_figure",
    "load",
]
