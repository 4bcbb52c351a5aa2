"""Live dashboards of a study, served on localhost or written as one offline HTML file.

The dashboard reads only the study database. Its page (``page.js``) asks the JSON API
for what is new every couple of seconds and redraws its plotly views: learning curves
with the points where trials were paused, promoted or stopped (and why), the
successive-halving picture, best so far against epochs and wall time, the worker
timeline, parallel coordinates, hyperparameter importance, a trial table and a page per
trial, the best-model report, and comparisons with Optuna.

The pages and their data are routes of the service's ASGI application
(:mod:`hpo.dashboard._routes`); ``hpo dashboard`` serves them alone, read-only, and
``hpo serve`` beside the API. Fixed routes only: no URL maps to a file path, so nothing
outside the study can be read.

Plots are SVG, not WebGL: on a machine without a GPU (a headless browser, a server), the
browser paints 35,000 line points in about 0.5 s as SVG and 3 s through software WebGL.
Views out of sight are drawn when they scroll into view.
"""

from __future__ import annotations

import html
import json
import math
import subprocess
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hpo.dashboard._data import DashboardData
from hpo.dashboard._figure import curves_figure

HERE = Path(__file__).resolve().parent

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; }
header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: .5em 0; z-index: 5; }
h1 { font-size: 20px; margin: .2em 0; } nav a { margin-right: 1em; } #live { color: #2ca02c; margin-left: 1em; }
.plot { width: 100%; min-height: 380px; } #timeline { min-height: 250px; /* as tall as its workers need (page.js), no taller */ } .row { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
table { border-collapse: collapse; font-size: 12px; } th, td { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left; }
th { cursor: pointer; background: #f6f6f6; } td.config { max-width: 520px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.reason { max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pager { margin: .5em 0; } #filter { width: 24em; margin: .5em 0; }
"""

BODY = """
<div id="app" data-study="{study}" data-trial="{trial}" data-compare="{compare}">
<header><h1 id="title">{title}</h1><span id="summary"></span><span id="live"></span>
<nav><a href="{overview}">overview</a><a href="{report}">best-model report</a>{index}</nav></header>
<section id="overview">
  <p><label>colour by <select id="color-by"><option value="bracket">bracket</option>
  <option value="rung">rung reached</option></select></label>
  <label><input type="checkbox" id="all-marks"> every decision marker</label> <span id="marks-note"></span></p>
  <div id="curves" class="plot"></div>
  <div id="rungs" class="plot"></div>
  <div class="row"><div id="best-epochs" class="plot"></div><div id="best-time" class="plot"></div></div>
  <div id="timeline" class="plot"></div>
  <div class="row"><div id="parcoords" class="plot"></div><div id="importance" class="plot"></div></div>
  <h2>Trials</h2><input id="filter" placeholder="filter: any text in any column"><div id="table"></div>
</section>
<section id="report-section" hidden><h2>Best-model report</h2><div id="report"></div></section>
<section id="trial-section" hidden><div id="trial-view"></div></section>
<section id="compare-section" hidden><div id="compare-view"></div></section>
</div>
"""


@cache
def plotly_js() -> bytes:
    """The plotly.js that ships with the plotly package (never a CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def page_js() -> bytes:
    return (HERE / "page.js").read_bytes()


def study_url(study: str) -> str:
    """The page of ``study`` (any name: it is quoted into one path segment)."""
    return "/studies/" + quote(study, safe="")


def render_page(
    study: str = "", trial: str = "", compare: str = "", *, embedded: dict | None = None
) -> str:
    """The dashboard page; with ``embedded`` data it is one self-contained offline file."""
    q = html.escape
    title = f"comparison {compare}" if compare else study
    head = f"<!doctype html><html><head><meta charset='utf-8'><title>hpo · {q(title)}</title><style>{STYLE}</style>"
    if embedded is None:
        if study and not trial and not compare:
            # Ask for the study's data at once, so that the server reads it while the browser
            # loads and compiles plotly.js (the largest part of a cold first view).
            url = json.dumps(f"/api/studies/{quote(study, safe='')}/delta").replace("</", "<\\/")
            head += f"<script>window.hpoFirstDelta = fetch({url}, {{cache: 'no-store'}});</script>"
        head += "<script src='/static/plotly.min.js'></script></head><body>"
        overview = q(study_url(study))
        report = q(study_url(study)) + "#report"
        index = "<a href='/'>all studies</a>"
    else:
        head += f"<script>{plotly_js().decode()}</script></head><body>"
        overview, report, index = "#", "#report", ""
    body = BODY.format(study=q(study), trial=q(trial), compare=q(compare), title=q(title),
                       overview=overview, report=report, index=index)  # fmt: skip
    data = ""
    if embedded is not None:
        # "</" would end the script element early; JSON allows "<\/" for it.
        text = json.dumps(embedded, allow_nan=False, default=str).replace("</", "<\\/")
        data = f"<script type='application/json' id='study-data'>{text}</script>"
    script = (
        "<script src='/static/page.js'></script>"
        if embedded is None
        else f"<script>{page_js().decode()}</script>"
    )
    return head + body + data + script + "</body></html>"


def render_index(studies: list[dict[str, Any]]) -> str:
    q = html.escape
    rows = "".join(
        f"<tr><td><a href='{q('/compare/' + quote(s['name'], safe='') if s['status'] == 'comparison' else study_url(s['name']))}'>"
        f"{q(s['name'])}</a></td><td>{q(str(s['status']))}</td><td>{q(str(s.get('scheduler', '')))}</td>"
        f"<td>{q(str(s.get('best_value', '')))}</td></tr>"
        for s in studies
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>hpo studies</title><style>{STYLE}</style>"
        f"</head><body><h1>Studies</h1><table><tr><th>study</th><th>status</th><th>scheduler</th>"
        f"<th>best</th></tr>{rows}</table></body></html>"
    )


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class Importance:
    """Hyperparameter importance per study, cached until the number of trials with a value
    changes, and computed in a separate Python process, so that a slow computation never
    holds up the live views' requests."""

    def __init__(self, data: DashboardData) -> None:
        self.data = data
        self._cache: dict[str, tuple[int, dict]] = {}
        self._lock = threading.Lock()

    def __call__(self, study: str) -> dict[str, float]:
        n = sum(v is not None for v in self.data.trials(study)["best_value"])
        with self._lock:
            cached = self._cache.get(study)
            if cached and cached[0] == n:
                return cached[1]
        command = [sys.executable, "-m", "hpo.dashboard._data", str(self.data.storage), study]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
            scores = json.loads(done.stdout)
        except (subprocess.SubprocessError, ValueError):
            scores = {}
        with self._lock:
            self._cache[study] = (n, scores)
        return scores


def to_json(payload: Any) -> bytes:
    """JSON without NaN or infinity (they become null)."""
    try:  # the data API already sends null for NaN; _clean walks everything, so only if needed
        body = json.dumps(payload, allow_nan=False, default=str, separators=(",", ":"))
    except ValueError:
        body = json.dumps(_clean(payload), allow_nan=False, default=str, separators=(",", ":"))
    return body.encode()


def write_html(storage: str | Path, study: str, path: str | Path) -> Path:
    """One self-contained file that works offline: plotly.js, the page and the data inside."""
    data = DashboardData(storage)
    payload = _clean(data.everything(study))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(study, embedded=payload), encoding="utf-8")
    return path


def write_comparison_html(comparison: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_page(compare=comparison["name"], embedded={"comparison": _clean(comparison)})
    path.write_text(page, encoding="utf-8")
    return path


__all__ = [
    "DashboardData",
    "Importance",
    "curves_figure",
    "render_page",
    "to_json",
    "write_comparison_html",
    "write_html",
]
