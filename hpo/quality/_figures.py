"""The curves page of a comparison: plotly panels of the median anytime curves.

:func:`panels` draws them from a summary (every epoch, 2,000 points of wall time),
:func:`panels_from_cases` from a written report's 20 points per curve (``--replot``);
:func:`figure` lays them out two to a row with one legend of every method by average rank,
and :func:`write_html` writes the page (plotly.js beside it, never a CDN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# A panel of the curves page: its title, then each method's (x, y) median curve.
Panel = tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]]


def panels(summary: dict[str, Any], budget: int, workers: Sequence[int]) -> list[Panel]:
    """The median anytime curves of :func:`summarise`, every epoch (one worker) and 2,000
    points of wall time (each W)."""
    axis_e = np.arange(1, budget + 1)
    step = max(1, budget // 1000)
    out: list[Panel] = [(_epochs_title(workers), {m: (axis_e[::step], c[::step])
                                                  for m, c in summary["_median_epochs"].items()})]  # fmt: skip
    for w in workers:
        axis, by_method = summary["_wall"][w]
        out.append((_wall_title(w), {m: (axis, c) for m, c in by_method.items()}))
    return out


def panels_from_cases(cases: dict[str, Any], budget: int, workers: Sequence[int]) -> list[Panel]:
    """The same panels from a written report's ``cases`` (its 20 points per curve: at
    budget/20, 2·budget/20, …, and at the same shares of random search's wall time)."""
    points = len(next(iter(cases.values()))["median_best_by_epochs"])
    share = np.arange(1, points + 1) / points
    nan = float("nan")

    def curve(values: list[float | None]) -> np.ndarray:
        return np.array([nan if v is None else v for v in values], float)

    out: list[Panel] = [(_epochs_title(workers), {
        m: (np.round(share * budget), curve(c["median_best_by_epochs"])) for m, c in cases.items()
    })]  # fmt: skip
    for w in workers:
        key = f"workers_{w}"
        out.append((_wall_title(w), {
            m: (share * c[key]["reference_wall_s"], curve(c[key]["median_best_by_wall"]))
            for m, c in cases.items() if key in c
        }))  # fmt: skip
    return out


def _epochs_title(workers: Sequence[int]) -> str:
    return f"best so far against epochs spent ({min(workers)} worker)"


def _wall_title(w: int) -> str:
    return f"against simulated wall time in s, {w} worker{'s' * (w > 1)}"


def _family(method: str) -> str:
    """Who made a method: ours, or the anchor (Optuna, Syne Tune, DEHB, SMAC) it comes from."""
    for prefix, family in (("optuna-", "Optuna"), ("syne-", "Syne Tune"), ("dehb", "DEHB"),
                           ("smac", "SMAC")):  # fmt: skip
        if method.startswith(prefix):
            return family
    return "ours"


def shown_methods(cases: dict[str, Any], few: int = 3) -> list[str]:
    """The methods a curves page draws at first, best average rank first: our ``few`` best,
    the best of each anchor (Optuna, Syne Tune, DEHB, SMAC) and random search, whose final
    best every speedup is measured to. The others are a click on their name away."""
    ranked = sorted(cases, key=lambda m: cases[m].get("average_rank", math.inf))
    best_of: dict[str, list[str]] = {}
    for m in ranked:
        best_of.setdefault(_family(m), []).append(m)
    chosen = {*best_of.get("ours", [])[:few], "random"}
    chosen |= {ms[0] for family, ms in best_of.items() if family != "ours"}
    return [m for m in ranked if m in chosen]


def figure(panels: list[Panel], cases: dict[str, Any], *, title: str, metric: str,
           few: int = 3) -> Any:  # fmt: skip
    """The curves page: a panel per clock, two to a row, a legend of every method sorted by
    average rank; each panel draws :func:`shown_methods` of the methods it has (with more
    than one worker, fewer methods ran) and hides the rest until their name is clicked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = 2
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[t for t, _ in panels],
                        vertical_spacing=0.12)  # fmt: skip
    palette = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
               "#b6e880", "#ff97ff", "#fecb52", "#222222", "#8c564b", "#1f1fbf", "#bcbd22"]  # fmt: skip
    ranked = sorted(cases, key=lambda m: cases[m].get("average_rank", math.inf))
    shown = [
        shown_methods({m: cases[m] for m in curves if m in cases}, few) for _, curves in panels
    ]
    drawn = [m for m in ranked if any(m in s for s in shown)]
    order = drawn + [m for m in ranked if m not in drawn]  # the drawn ones get the first colours
    colour = {m: palette[i % len(palette)] for i, m in enumerate(order)}
    # A method's legend entry is its first drawn trace (or its first): the entry is greyed
    # out only when none of its curves is drawn; a click shows or hides all of them.
    carrier: dict[str, int] = {}
    for m in ranked:
        panels_with = [i for i, (_, curves) in enumerate(panels) if m in curves]
        drawn_in = [i for i in panels_with if m in shown[i]]
        if panels_with:
            carrier[m] = (drawn_in or panels_with)[0]
    for i, (_, curves) in enumerate(panels):
        # From a twentieth of the budget (of random search's wall time) on, the values from
        # a tenth on in view (the ranks are read from a tenth): before, the curves are far
        # below the rest and would squash them.
        right = max((float(np.nanmax(x)) for x, _ in curves.values()), default=1.0)
        seen: list[float] = []
        for m in ranked:
            if m not in curves:
                continue
            x, y = curves[m]
            rank = cases[m].get("average_rank")
            fig.add_trace(
                go.Scatter(
                    x=x, y=y, name=m if rank is None else f"{m} · {rank:.2f}", legendgroup=m,
                    legendrank=ranked.index(m) + 1,
                    showlegend=carrier[m] == i, visible=True if m in shown[i] else "legendonly",
                    line={"color": colour[m], "shape": "hv",
                          "dash": "solid" if _family(m) == "ours" else "dot"},
                ),
                1 + i // cols, 1 + i % cols,
            )  # fmt: skip
            if m in shown[i]:
                seen += [float(v) for v in y[(x >= right / 10) & np.isfinite(y)]]
        where = {"row": 1 + i // cols, "col": 1 + i % cols}
        fig.update_xaxes(type="log", range=[math.log10(right / 20), math.log10(right)], **where)
        if seen:
            pad = (max(seen) - min(seen)) * 0.08 or 0.01
            fig.update_yaxes(range=[min(seen) - pad, max(seen) + pad], **where)
    fig.update_yaxes(title_text=f"median best {metric}")
    # The legend below the panels, about 45 px under the last row's tick labels whatever
    # the number of rows (its y is a share of the panels' height).
    fig.update_layout(
        height=380 * rows + 170, title=title, margin={"t": 80, "b": 20},
        legend={"orientation": "h", "yanchor": "top", "y": -45 / (380 * rows), "x": 0,
                "traceorder": "normal",
                "title": {"side": "top",
                          "text": "methods by average rank (1 is best); dotted: Optuna and the "
                          "anchors; a click on a name shows or hides its curves"}},
    )  # fmt: skip
    return fig


def write_html(summary: dict[str, Any], budget: int, workers: Sequence[int], path: str | Path,
               *, title: str, metric: str) -> Path:  # fmt: skip
    """The median anytime curves: against epochs (1 worker) and wall time (each W)."""
    fig = figure(panels(summary, budget, workers), summary["cases"], title=title, metric=metric)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs="directory")
    return path
