"""The dashboard's learning-curve view as a plotly Figure: what :meth:`hpo.result.Result.plot`
and a result's notebook view draw.

A port of ``page.js`` (``drawCurves``, ``layoutBase``, its ``COLORS``, ``EVENT_STYLE`` and
``MAX_MARKERS``), beside it so that the two stay alike: the same traces, colours, markers
and layout as the live page. Reads nothing: it draws the frames it is given.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

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
