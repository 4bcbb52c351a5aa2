"""Live dashboards of a study, served on localhost or written as one offline HTML file.

The dashboard reads only the study database. Its page (``page.js``) asks the JSON API
for what is new every couple of seconds and redraws its plotly views: learning curves
with the points where trials were paused, promoted or stopped (and why), the
successive-halving picture, best so far against epochs and wall time, the worker
timeline, parallel coordinates, hyperparameter importance, a trial table and a page per
trial, the best-model report, and comparisons with Optuna.

The server binds 127.0.0.1 unless told otherwise and serves only fixed routes: no URL
maps to a file path, so nothing outside the study can be read.

Plots are SVG, not WebGL: on a machine without a GPU (a headless browser, a server), the
browser paints 35,000 line points in about 0.5 s as SVG and 3 s through software WebGL.
Views out of sight are drawn when they scroll into view.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import subprocess
import sys
import threading
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from hpo.dashboard._data import DashboardData
from hpo.store import StoreError

HERE = Path(__file__).resolve().parent

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; }
header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: .5em 0; z-index: 5; }
h1 { font-size: 20px; margin: .2em 0; } nav a { margin-right: 1em; } #live { color: #2ca02c; margin-left: 1em; }
.plot { width: 100%; min-height: 380px; } .row { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
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


def render_page(
    study: str = "", trial: str = "", compare: str = "", *, embedded: dict | None = None
) -> str:
    """The dashboard page; with ``embedded`` data it is one self-contained offline file."""
    q = html.escape
    title = f"comparison {compare}" if compare else study
    head = f"<!doctype html><html><head><meta charset='utf-8'><title>hpo · {q(title)}</title><style>{STYLE}</style>"
    if embedded is None:
        head += "<script src='/static/plotly.min.js'></script></head><body>"
        overview = f"/?study={q(study)}"
        report = f"/?study={q(study)}#report"
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
        f"<tr><td><a href='{q('/compare/' + s['name'] if s['status'] == 'comparison' else '/?study=' + s['name'])}'>"
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


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the page went away
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = unquote(url.path)
        try:
            if path == "/":
                study = query.get("study") or self.server.default_study
                if study:
                    self.server.data.study(study)  # 404 for an unknown study
                    return self._send(render_page(study).encode(), "text/html")
                return self._send(render_index(self.server.data.studies()).encode(), "text/html")
            if path.startswith("/trial/") and path[7:].isdigit():
                study = query.get("study") or self.server.default_study or ""
                return self._send(render_page(study, trial=path[7:]).encode(), "text/html")
            if path.startswith("/compare/") and len(path) > 9:
                name = path[9:]
                if self.server.data.comparison(name) is None:
                    return self._error(HTTPStatus.NOT_FOUND, f"no comparison named {name!r}")
                return self._send(render_page(compare=name).encode(), "text/html")
            if path == "/favicon.ico":
                self.send_response(HTTPStatus.NO_CONTENT)
                self.end_headers()
                return None
            if path == "/static/plotly.min.js":
                return self._send(plotly_js(), "application/javascript", cache=True)
            if path == "/static/page.js":
                return self._send(page_js(), "application/javascript")
            if path.startswith("/api/"):
                return self._api(path[5:], query)
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        except StoreError as exc:
            return self._error(HTTPStatus.NOT_FOUND, str(exc))
        except (ValueError, KeyError) as exc:
            return self._error(HTTPStatus.BAD_REQUEST, f"bad request: {exc}")

    def _api(self, endpoint: str, query: dict[str, str]) -> None:
        data = self.server.data
        study = query.get("study") or self.server.default_study or ""
        if endpoint == "delta":
            payload: Any = data.delta(study, int(query.get("epochs", 0)), int(query.get("events", 0)),
                                      float(query.get("trials", 0)))  # fmt: skip
        elif endpoint == "trial":
            payload = data.trial(study, int(query["id"]))
        elif endpoint == "importance":
            payload = self.server.importance(study)
        elif endpoint == "report":
            payload = data.report(study)
        elif endpoint == "comparison":
            payload = data.comparison(query["name"])
        elif endpoint == "studies":
            payload = data.studies()
        else:
            return self._error(HTTPStatus.NOT_FOUND, "no such API endpoint")
        try:  # the data API already sends null for NaN; _clean walks everything, so only if needed
            body = json.dumps(payload, allow_nan=False, default=str, separators=(",", ":"))
        except ValueError:
            body = json.dumps(_clean(payload), allow_nan=False, default=str, separators=(",", ":"))
        self._send(body.encode(), "application/json")

    def _send(self, body: bytes, kind: str, cache: bool = False) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=86400" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:",
        )
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DashboardServer(ThreadingHTTPServer):
    """The dashboard's HTTP server (127.0.0.1 by default)."""

    daemon_threads = True

    def __init__(self, storage: str | Path, study: str | None = None, host: str = "127.0.0.1",
                 port: int = 8050, verbose: bool = False) -> None:  # fmt: skip
        self.data = DashboardData(storage)
        if study is not None:
            self.data.study(study)
        self.default_study = study
        self.verbose = verbose
        self._importance: dict[str, tuple[int, dict]] = {}
        self._lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def importance(self, study: str) -> dict[str, float]:
        """Cached until the number of trials with a value changes; computed in a separate
        Python process, so that a slow computation never holds up the live views' requests
        (threads would share the GIL; a forked worker of this threaded server could deadlock)."""
        n = sum(v is not None for v in self.data.trials(study)["best_value"])
        with self._lock:
            cached = self._importance.get(study)
            if cached and cached[0] == n:
                return cached[1]
        command = [sys.executable, "-m", "hpo.dashboard._data", str(self.data.storage), study]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
            scores = json.loads(done.stdout)
        except (subprocess.SubprocessError, ValueError):
            scores = {}
        with self._lock:
            self._importance[study] = (n, scores)
        return scores

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


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


__all__ = ["DashboardData", "DashboardServer", "render_page", "write_comparison_html", "write_html"]
