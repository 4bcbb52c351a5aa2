"""The dashboard: its data API, its security, and its views in a real headless Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hpo.dashboard import write_html
from hpo.dashboard._data import DashboardData
from hpo.service import create_app, serving_in_thread
from tests.conftest import ROOT, hpo

CHROMIUM = os.environ.get("HPO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-extensions",
]  # fmt: skip
VIEWS = ["curves", "rungs", "best-epochs", "best-time", "timeline", "parcoords", "importance"]
SHOTS = ROOT / "results" / "screenshots"
XSS = "<img src=x onerror=window.__xss=1>"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small finished study of the MLP on iris, with its best-model report."""
    db = tmp_path_factory.mktemp("dash") / "s.db"
    space = db.parent / "space.yaml"
    space.write_text(
        "space:\n  hidden_layer_sizes: {values: [[8], [16]]}\n  activation: [relu, tanh]\n"
        "  learning_rate_init: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"
    )
    hpo("run", str(space), "--executor", "serial", "--dataset", "iris", "--max-epochs", "9",
        "--study", "done", "--storage", str(db), check=True)  # fmt: skip
    hpo("report", "done", "--storage", str(db), "--repeats", "1", check=True)
    return db


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A study whose configurations carry HTML in their values."""
    db = tmp_path_factory.mktemp("xss") / "s.db"
    space = db.parent / "space.yaml"
    space.write_text(
        f"space:\n  quality: {{type: float, low: 0.1, high: 1.0}}\n  tag: ['{XSS}', '<b>bold</b>']\n"
    )
    hpo("run", str(space), "--executor", "serial", "--trainer", "trainers.toy:ToyTrainer", "--max-epochs", "9",
        "--study", "x<script>", "--storage", str(db), check=True)  # fmt: skip
    return db


class Served:
    """A dashboard served by uvicorn from a thread, on loopback; ``url`` ends in a slash."""

    def __init__(self, url: str, study: str | None) -> None:
        self.url = url + "/"
        self.host = url.split("//")[1].rsplit(":", 1)[0]
        self.page = self.url + ("studies/" + urllib.request.quote(study, safe="") if study else "")


@pytest.fixture
def serve():
    with contextlib.ExitStack() as stack:

        def start(db: Path, study: str | None) -> Served:
            url = stack.enter_context(serving_in_thread(create_app(str(db), readonly=True)))
            return Served(url, study)

        yield start


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"headless Chromium is needed at {CHROMIUM} (make test installs Debian's chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page, errors


def points_per_view(page) -> dict[str, int]:
    """How many data points each plotly view drew (0 when a view is empty or missing)."""
    return page.evaluate(
        """(ids) => Object.fromEntries(ids.map((id) => {
            const d = document.getElementById(id);
            if (!d || !d.data) return [id, 0];
            const n = d.data.map((t) => t.dimensions ? t.dimensions[0].values.length
                : (t.x || []).filter((v) => v !== null).length).reduce((a, b) => a + b, 0);
            return [id, n]; }))""",
        VIEWS,
    )


def wait_for_views(page, timeout: float = 20.0) -> dict[str, int]:
    """Views draw as they scroll into sight; this draws them all, then counts their data."""
    page.wait_for_function("typeof window.hpoDrawAll === 'function'")
    page.evaluate("window.hpoDrawAll()")
    end = time.time() + timeout
    while True:
        counts = points_per_view(page)
        if all(counts.values()) or time.time() > end:
            return counts
        page.wait_for_timeout(200)


# -- data and server, no browser -----------------------------------------------------------------


def test_delta_returns_only_what_is_new(finished) -> None:
    data = DashboardData(finished)
    first = data.delta("done")
    n = len(first["epochs"]["trial_id"])
    assert n == data.study("done")["epochs_spent"] > 0
    again = data.delta(
        "done", first["epochs"]["cursor"], first["events"]["cursor"], first["trials"]["cursor"]
    )
    assert (
        again["epochs"]["trial_id"] == []
        and again["events"]["trial_id"] == []
        and again["trials"]["trial_id"] == []
    )
    assert [b["s"] for b in first["study"]["brackets"]] == [2, 1, 0]


def test_server_binds_loopback_and_serves_no_files(finished, serve) -> None:
    server = serve(finished, "done")
    assert server.host == "127.0.0.1"
    base = server.url.rstrip("/")
    for path in ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd",
                 "/static/plotly.min.js/../../../hpo/store.py", "/trial/../../etc/passwd", "/api/../etc/passwd",
                 "/results/studies.db", "/s.db"]:  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + path)
        assert info.value.code == 404, path
    body = urllib.request.urlopen(base + "/static/plotly.min.js").read()
    assert len(body) > 1_000_000  # the plotly.js of the plotly package
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "/?study=nope")  # the old address: redirected, then 404
    assert info.value.code == 404


def test_exported_html_is_self_contained(finished, tmp_path) -> None:
    from html.parser import HTMLParser

    class Sources(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.external: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.external += [v for k, v in attrs if k in ("src", "href") and v and "://" in v]

    path = write_html(finished, "done", tmp_path / "done.html")
    parser = Sources()
    parser.feed(path.read_text())
    assert parser.external == []  # no CDN, no remote anything: plotly.js is inside
    assert "study-data" in path.read_text()


# -- in the browser --------------------------------------------------------------------------------


def test_every_view_draws_its_data(finished, serve, browser) -> None:
    server = serve(finished, "done")
    page, errors = open_page(browser, server.page)
    counts = wait_for_views(page)
    assert all(n > 0 for n in counts.values()), counts
    rows = page.evaluate("document.querySelectorAll('#trial-table tbody tr').length")
    assert rows == 17
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-finished.png"), full_page=True)
    # Sorting and filtering the trial table.
    page.fill("#filter", "completed")
    assert page.evaluate("document.querySelectorAll('#trial-table tbody tr').length") == 5
    # A trial's own page.
    page.goto(server.page + "/trials/0")
    page.wait_for_function(
        "document.getElementById('trial-curves') && document.getElementById('trial-curves').data"
    )
    assert "Trial 0" in page.inner_text("#trial-view")
    # The best-model report.
    page.goto(server.page + "#report")
    page.wait_for_function("document.getElementById('roc') && document.getElementById('roc').data")
    assert page.evaluate("document.getElementById('roc').data.length") == 3
    assert "cross-validation accuracy" in page.inner_text("#report")
    assert not errors, errors


def test_new_epochs_appear_without_a_reload(tmp_path, serve, browser) -> None:
    db = tmp_path / "live.db"
    space = tmp_path / "space.yaml"
    space.write_text(
        "space:\n  activation: [relu, tanh, elu]\n  alpha: {type: float, low: 1.0e-5, high: 0.1, log: true}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo", "run", str(space), "--executor", "serial", "--dataset", "digits",
         "--max-epochs", "243", "--study", "live", "--storage", str(db)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            if (
                db.exists()
                and DashboardData(db).studies()
                and DashboardData(db).study("live")["epochs_spent"] > 5
            ):
                break
            time.sleep(0.1)
        server = serve(db, "live")
        page, errors = open_page(browser, server.page + "?refresh=300")
        before = wait_for_views(page)["curves"]
        page.wait_for_timeout(3000)
        after = points_per_view(page)["curves"]
        assert after > before, (before, after)
        assert page.evaluate("location.href").endswith("refresh=300")  # same page, no reload
        # Every trial's curve holds each epoch once, in order, however the polls interleave.
        assert page.evaluate(
            "[...S.curves.values()].every((c) => c.x.every((e, i) => e === i + 1))"
        )
        assert "live" in page.inner_text("#live")
        page.screenshot(path=str(SHOTS / "dashboard-live.png"))
        assert not errors, errors
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


Box = tuple[float, float, float, float]  # left, top, right, bottom in CSS pixels


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def boxes(finished, browser) -> dict[str, dict]:
    """Where each view of the study page drew its title, mode bar and (parallel
    coordinates) dimension labels, and how tall its element and its plot are."""
    with serving_in_thread(create_app(str(finished), readonly=True)) as url:
        page, errors = open_page(browser, url + "/studies/done")
        counts = wait_for_views(page)
        assert all(counts.values()), counts
        found = page.evaluate(
            """(ids) => {
              const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
              return Object.fromEntries(ids.map((id) => { const d = document.getElementById(id); return [id, {
                title: [...d.querySelectorAll('.gtitle')].map(box),
                modebar: [...d.querySelectorAll('.modebar')].map(box),
                labels: [...d.querySelectorAll('.axis-title')].map(box),
                element: box(d), plot: box(d.querySelector('.main-svg'))}]; })); }""",
            VIEWS,
        )
        page.close()
    assert not errors, errors
    return found


def test_dashboard_titles_clear_the_mode_bar(boxes) -> None:
    """The mode bar sits in the top right corner of a view: no title runs under it (the
    importance's and the half-width best-so-far views' did)."""
    for view, b in boxes.items():
        assert len(b["title"]) == 1 and len(b["modebar"]) == 1, (view, b)
        assert not overlap(b["title"][0], b["modebar"][0]), (view, b)


def test_dashboard_parcoords_title_clears_its_labels(boxes) -> None:
    b = boxes["parcoords"]
    assert len(b["labels"]) == 4  # three hyperparameters and the metric
    for label in b["labels"]:
        assert not overlap(b["title"][0], label), b


def test_dashboard_timeline_is_as_tall_as_its_plot(boxes) -> None:
    """No empty band under the worker timeline: its element ends where its plot ends."""
    b = boxes["timeline"]
    assert abs(b["element"][3] - b["plot"][3]) <= 1, b


def test_stored_strings_show_as_text(hostile, serve, browser) -> None:
    server = serve(hostile, "x<script>")
    page, errors = open_page(browser, server.page)
    wait_for_views(page)
    assert page.evaluate("window.__xss") is None
    assert (
        page.evaluate("document.querySelectorAll('#trial-table img, #trial-table b').length") == 0
    )
    assert XSS in page.inner_text("#trial-table")
    assert page.inner_text("#title") == "x<script>"
    page.hover("#curves")
    assert page.evaluate("window.__xss") is None
    assert not errors, errors


def test_exported_file_works_offline(finished, tmp_path, browser) -> None:
    path = write_html(finished, "done", tmp_path / "done.html")
    page = browser.new_page()
    requests: list[str] = []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
               if not route.request.url.startswith("file:") else route.continue_())  # fmt: skip
    page.goto(path.as_uri())
    counts = wait_for_views(page)
    assert all(n > 0 for n in counts.values()), counts
    assert requests == []


def test_comparison_page_draws_both_curves(finished, serve, browser) -> None:
    from hpo.compare import compare, save_comparison
    from hpo.settings import SearchSettings

    settings = SearchSettings.from_dict(
        {"space": {"activation": ["relu", "tanh"]}, "dataset": "iris", "max_epochs": 3}
    )
    save_comparison(
        finished, compare(settings, [0], ("hyperband", "optuna-random-sha"), name="cmp<1>")
    )
    server = serve(finished, None)
    page, errors = open_page(browser, server.url + "compare/" + urllib.request.quote("cmp<1>"))
    page.wait_for_function(
        "document.getElementById('compare-time') && document.getElementById('compare-time').data"
    )
    assert page.evaluate("document.getElementById('compare-epochs').data.length") == 2
    assert page.evaluate("document.querySelectorAll('#compare-table tbody tr').length") == 4
    assert "cmp<1>" in page.inner_text("#compare-view")
    index = urllib.request.urlopen(server.url).read().decode()
    assert "cmp&lt;1&gt;" in index and "cmp<1>" not in index
    assert not errors, errors


def test_the_service_serves_the_dashboard_of_a_study_its_clients_run(server, browser) -> None:
    """Through `hpo serve`: a study trained by a client shows, and grows without a reload."""
    from hpo import client as hpo_client
    from tests.faulty import SlowToy

    s = server()
    study = hpo_client.connect(s.url).create_study(
        "served", {"quality": {"type": "float", "low": 0.1, "high": 1.0}}, max_epochs=81
    )

    def train(config: dict, trial) -> None:
        trainer = SlowToy()
        state = trial.restore()
        trainer.setup(config, trial.seed) if state is None else trainer.restore(state)
        for epoch in trial.epochs():
            if trial.report(epoch, trainer.step()) != "continue":
                break
        trial.checkpoint(trainer.save())

    import threading

    worker = threading.Thread(target=study.run, args=(train,), daemon=True)
    worker.start()
    try:
        while study.info()["epochs_spent"] < 20:
            time.sleep(0.1)
        page, errors = open_page(browser, s.url + "/studies/served?refresh=300")
        before = wait_for_views(page)
        assert all(n > 0 for n in before.values() if n is not None), before
        page.wait_for_timeout(2500)
        assert points_per_view(page)["curves"] > before["curves"]
        assert not errors, errors
    finally:
        study.stop()
        worker.join(timeout=60)


def test_hpo_dashboard_serves_the_pages_read_only(finished) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo", "dashboard", "done", "--port", "0", "--storage", str(finished)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("dashboard of done at http://127.0.0.1:")
        url = banner.split(" at ")[1].split()[0]
        assert '<div id="app" data-study="done"' in urllib.request.urlopen(url).read().decode()
        base = url.split("/studies/")[0]
        request = urllib.request.Request(base + "/api/studies", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as info:  # no writes: nothing takes work here
            urllib.request.urlopen(request)
        assert info.value.code == 405
    finally:
        proc.terminate()
        proc.wait()
    missing = hpo("dashboard", "nope", "--storage", str(finished))
    assert missing.returncode == 2 and missing.stderr.startswith("hpo: no study named 'nope'")
