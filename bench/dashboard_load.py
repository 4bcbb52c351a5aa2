"""Dashboard load with 10,000 trials: first load and a live refresh, in headless Chromium.

A study of 10,000 trials is made through the real tuner and study database (ASHA over a
synthetic table of learning curves, replayed by the simulator runner with 64 workers).
The dashboard then serves it on 127.0.0.1 and headless Chromium measures:

* ``first_view_cold_s``: from navigation (empty browser cache) until the views in sight
  are drawn and painted (views below the fold draw as they scroll into sight);
* ``first_view_warm_s``: the same, opened again (plotly.js from the browser cache);
* ``all_views_s``: first view, then every other view drawn at once;
* ``refresh_s``: one live refresh after more epochs were written: fetch what is new and
  redraw the views in sight, with the whole study already in the page.

Median of repeats. Goal: under 3 s.

    python bench/dashboard_load.py            # 10,000 trials
    python bench/dashboard_load.py --quick    # 2,000 trials

Writes ``results/benchmarks/dashboard_load.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import CHROMIUM as BROWSER
from _common import PLAYWRIGHT, require, write_report

from hpo.runners._simulator import SimulatorRunner
from hpo.schedulers import ASHA
from hpo.service import create_app, serving_in_thread
from hpo.store import StudyWriter
from hpo.tables import TableSampler, synthetic_curves
from hpo.tuner import Tuner

CHROMIUM = os.environ.get("HPO_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
VIEWS = ["curves", "rungs", "best-epochs", "best-time", "timeline", "parcoords", "importance"]


def make_study(db: Path, n_trials: int) -> None:
    curves = synthetic_curves(n_trials)
    space = {"learning_rate_init": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
             "activation": ["relu", "tanh", "elu"]}  # fmt: skip
    writer = StudyWriter(db, "big")
    writer.create({"space": space, "scheduler": "asha", "max_epochs": 27, "n_configs": n_trials},
                  metric="val_accuracy", mode="max", scheduler="asha")  # fmt: skip
    scheduler = ASHA(TableSampler(curves, "random", 0), 27, eta=3, n_configs=n_trials)
    Tuner(scheduler, SimulatorRunner(curves, 64), writer).run()
    writer.close("finished")


def add_epochs(db: Path, n: int) -> None:
    """More epochs arrive, as from a running search."""
    import json
    import sqlite3

    conn = sqlite3.connect(db)
    with conn:
        (study_id,) = conn.execute("SELECT study_id FROM studies WHERE name = 'big'").fetchone()
        (trial,) = conn.execute("SELECT MAX(trial_id) FROM epochs").fetchone()
        now = time.time()
        conn.executemany(
            "INSERT INTO epochs (study_id, trial_id, epoch, value, metrics, seconds, worker, ended_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(study_id, trial + 1, e, 0.5, json.dumps({"val_accuracy": 0.5}), 0.01, "sim0", now + e)
             for e in range(1, n + 1)],
        )  # fmt: skip
    conn.close()


SETTLE = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def _first_view(page, url: str) -> float:
    """Navigation until the views in sight are drawn and painted."""
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("document.getElementById('curves').data && document.getElementById('rungs').data",
                           timeout=60_000)  # fmt: skip
    page.evaluate(SETTLE)
    return time.perf_counter() - start


def measure(url: str, db: Path, repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    url += "?refresh=3600000"  # no automatic polls while measuring
    out: dict[str, list[float]] = {"cold": [], "warm": [], "all": [], "refresh": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1400, "height": 900})  # empty cache
            page = context.new_page()
            out["cold"].append(_first_view(page, url))
            # A live refresh: new epochs arrive; the views in sight fetch and redraw them.
            add_epochs(db, 20)
            start = time.perf_counter()
            fresh = page.evaluate("window.hpoRefresh()")
            page.evaluate(SETTLE)
            out["refresh"].append(time.perf_counter() - start)
            assert fresh > 0, "the refresh found nothing new"
            # Every view, including those below the fold (drawn as they scroll into sight).
            start = time.perf_counter()
            page.evaluate("window.hpoDrawAll()")
            page.evaluate(SETTLE)
            out["all"].append(out["cold"][-1] + time.perf_counter() - start)
            # The same user opening it again: plotly.js comes from the browser's cache.
            out["warm"].append(_first_view(page, url))
            context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 trials")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    require(PLAYWRIGHT, BROWSER)
    n = 2_000 if args.quick else 10_000
    repeats = args.repeats or (2 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        t0 = time.perf_counter()
        make_study(db, n)
        build = time.perf_counter() - t0
        with serving_in_thread(create_app(str(db), readonly=True)) as url:
            times = measure(url + "/studies/big", db, repeats)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    report = {
        "benchmark": "dashboard_load",
        "mode": "quick" if args.quick else "full",
        "cases": {
            f"asha-{n}-trials": {
                "trials": n,
                "study_build_s": round(build, 1),
                "repeats": repeats,
                "first_view_cold_s": med["cold"],
                "first_view_warm_s": med["warm"],
                "all_views_s": med["all"],
                "refresh_s": med["refresh"],
                "goal_s": 3.0,
                "meets_goal_first_view_and_refresh": med["cold"] < 3.0 and med["refresh"] < 3.0,
            }
        },
        "browser": "headless Debian chromium on loopback, software WebGL (no GPU)",
        "note": "first view: the views in sight drawn and painted; views below draw as they scroll in",
    }
    write_report("dashboard_load", report, args.quick)


if __name__ == "__main__":
    main()
