"""Search quality on recorded tables: our methods against Optuna, Syne Tune, DEHB and SMAC.

Every method replays the same table of learning curves under the same rules
(:mod:`hpo.quality`): an epoch is paid when it is trained, a promotion resumes, the same
epoch budget, each epoch takes its recorded seconds on a virtual clock with W workers.
Ours and Optuna's run here; the anchors run in their own environment
(``make bench-anchors``; ``bench/anchors/run_anchor.py`` says how each is held to the rules
and where it differs by design). Without ``.venv-bench`` the anchors are left out and the
report says so.

The tables (``--tables``):

* ``report_grid``: the report's grid on digits (2,520 configurations × 100 epochs,
  recorded here); budget five HyperBand iterations at R = 100, η = 3 (9,515 epochs).
* ``deep_mlp``: the §4 deep-MLP space (continuous rates, depth, width, normalisation,
  dropout, residuals) on ``synthetic10``, a harder ten-class problem (1,000 sampled
  configurations × 81 epochs); budget 100 full trainings (8,100 epochs); rows drawn with
  replacement (the configurations are a sample of a continuous space).
* any other table: ``--table NAME=PATH[:R[:budget]]`` (the documented format of
  ``hpo simulate``).

Figures per table, medians over seeds (JSON under ``results/benchmarks/``):
the median best so far against epochs (1 worker) and simulated wall time (each W); the
speedup to random search's final best; each method's average rank from a tenth of the
budget on; busy fractions; the early/final rank correlation of the table; and the goals:
our best method (by average rank over all tables) against the best anchor and against the
envelope of all anchors at every budget from a tenth on, and ASHA's busy fraction against
Syne Tune's ASHA at each W.

    python bench/search_quality.py            # both tables, 20 seeds, W = 1, 16, 64
    python bench/search_quality.py --quick    # the grid, 3 seeds, W = 1, 16, one iteration
    python bench/search_quality.py --budget-share 0.2 --seeds 5 --all-seeds --workers 1 \
        --anchors syne-mobster,syne-hypertune,… --out results/benchmarks/search_quality_fifth.json

MOBSTER and Hyper-Tune take 40 minutes and more of CPU per run at the full budget (their GP
is refitted as the observations grow); they are compared at a fifth of it (the third line).

Writes ``search_quality.json``, an HTML page of curves per table and (when headless
Chromium is there) ``search_quality.png``, the first table's page; ``--quick`` writes
``*.quick.*`` instead. ``--replot`` draws the pages and the PNG again from the JSON alone
(its 20 points per curve), in seconds, running nothing:

    python bench/search_quality.py --replot
    python bench/search_quality.py --replot --out results/benchmarks/search_quality_fifth.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    ANCHOR_ENV,
    BENCH_VENV,
    CHROMIUM,
    PLAYWRIGHT,
    RESULTS,
    missing,
    require,
    write_report,
)

from hpo import quality, registry
from hpo.settings import SearchSettings
from hpo.tables import Curves

ROOT = RESULTS.parents[1]
ANCHOR_PYTHON = BENCH_VENV / "bin" / "python"
ANCHOR_SCRIPT = ROOT / "bench" / "anchors" / "run_anchor.py"
ANCHOR_CACHE = ROOT / "results" / "anchor-traces"
OURS_CACHE = ROOT / "results" / "ours-traces"

OURS = (
    "random", "tpe", "sh/random", "sh/tpe", "hyperband/random", "hyperband/tpe",
    "hyperband/gp", "asha/random", "asha/tpe", "asha-stop/random", "pasha/random",
    "topk/random", "topk/tpe",
)  # fmt: skip
OPTUNA = tuple(e.name for e in registry.optuna_methods())
ANCHORS = (
    "syne-random", "syne-asha", "syne-asha-stop", "syne-hyperband", "syne-bohb",
    "syne-mobster", "syne-hypertune", "dehb", "dehb-resume", "smac", "smac-resume",
)  # fmt: skip
# Model-based methods whose decisions take seconds each run fewer seeds (at most this
# many), and only the methods whose parallel behaviour is in question run at every W
# (the rest at W = 1, where the ranks are read); the report lists both.
SLOW = {"hyperband/gp": 5, "syne-mobster": 2, "syne-hypertune": 2, "smac": 2, "smac-resume": 2}
EVERY_W = {
    "random", "hyperband/random", "hyperband/tpe", "asha/random", "asha/tpe", "asha-stop/random",
    "pasha/random", "topk/random", "optuna-tpe-hyperband", "optuna-random-sha", "syne-random",
    "syne-asha", "syne-hyperband",
}  # fmt: skip
# Busy fractions and wall-time speedups with W > 1 are stable quantities: the anchors
# (a process each, seconds to minutes per run) run fewer seeds there.
ANCHOR_SEEDS_AT_W = 5


@dataclass(frozen=True)
class Table:
    name: str
    path: Path
    title: str
    max_epochs: int
    budget: int | None = None  # None: iterations × one HyperBand iteration
    iterations: int = 5
    replace: bool = False
    space: str | None = None
    metric: str = "val_accuracy"
    mode: str = "max"


TABLES = {
    "report_grid": Table("report_grid", RESULTS / "report_grid_curves.parquet",
                         "the report's grid on digits", 100),
    "deep_mlp": Table("deep_mlp", RESULTS / "deep_mlp_synthetic10_curves.parquet",
                      "§4 deep-MLP space on synthetic10", 81, budget=8100, replace=True,
                      space="search_spaces/deep_mlp.yaml"),
}  # fmt: skip

_BENCH: quality.Benchmark | None = None  # set before the pool forks


def _run(job: tuple[str, int, int]) -> quality.Trace:
    assert _BENCH is not None
    return _BENCH.run(*job)


def benchmark(table: Table, quick: bool, share: float = 1.0) -> quality.Benchmark:
    space = SearchSettings.from_file(str(ROOT / table.space)).build_space() if table.space else None
    curves = Curves.read(str(table.path))
    bench = quality.Benchmark(curves, metric=table.metric, mode=table.mode,
                              max_epochs=table.max_epochs, replace=table.replace, space=space,
                              name=table.name)  # fmt: skip
    iterations = 1 if quick else table.iterations
    budget = table.budget // (5 if quick else 1) if table.budget else None
    bench.total = max(bench.R, round(share * (budget or iterations * bench.hyperband_budget)))
    return bench


def run_ours(bench: quality.Benchmark, methods: list[str], seeds: int, workers: list[int],
             processes: int, cache: Path | None = None) -> list[quality.Trace]:  # fmt: skip
    """Each (method, seed, W) once; with ``cache`` (the full run: ``results/ours-traces/``)
    kept under a folder that fingerprints the library's source, so that a change to
    ``hpo/`` runs them again."""
    global _BENCH
    _BENCH = bench
    if cache is None:
        cache = Path(tempfile.mkdtemp(prefix="hpo-traces-"))
    cache = cache / _code_fingerprint() / f"{bench.name}-b{bench.total}"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(m, s, w) for m in methods for w in _workers_for(m, workers)
            for s in range(_seeds_for(m, seeds))]  # fmt: skip
    path = {j: cache / f"{j[0].replace('/', '_')}-w{j[2]}-s{j[1]}.json" for j in jobs}
    todo = [j for j in jobs if not path[j].exists()]
    todo.sort(key=lambda j: (j[0] not in SLOW, "tpe" not in j[0], -j[2]))  # long ones first
    if processes > 1 and len(todo) > 1:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for job, trace in zip(todo, pool.imap(_run, todo, chunksize=1), strict=True):
                _save(trace, path[job])
    else:
        for job in todo:
            _save(_run(job), path[job])
    return [_load(path[j]) for j in jobs]


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for f in sorted((ROOT / "hpo").rglob("*.py")):
        digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def _save(trace: quality.Trace, path: Path) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(trace.to_json()))
    partial.rename(path)


def _load(path: Path) -> quality.Trace:
    return quality.Trace.from_json(json.loads(path.read_text()))


def _seeds_for(method: str, seeds: int) -> int:
    return min(seeds, SLOW.get(method, seeds))


def _workers_for(method: str, workers: list[int]) -> list[int]:
    return workers if method in EVERY_W else workers[:1]


def run_anchors(table: Table, bench: quality.Benchmark, methods: list[str], seeds: int,
                workers: list[int], processes: int, timeout: float,
                unfinished: list[dict[str, Any]], cached_only: bool = False,
                ) -> list[quality.Trace]:  # fmt: skip
    """Each (anchor, W, seed) in its own process of ``.venv-bench``, cached under
    ``results/anchor-traces/`` so that an interrupted run keeps what it has. A run that
    takes longer than ``timeout`` seconds is stopped and listed in ``unfinished``."""
    cache = ANCHOR_CACHE / f"{table.name}-b{bench.total}"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(m, w, s) for m in methods for w in _workers_for(m, workers)
            for s in range(min(_seeds_for(m, seeds), 10**9 if w == 1 else ANCHOR_SEEDS_AT_W))]  # fmt: skip
    # The anchors search the space ours see: the same ranges, on the same scales.
    space = bench.curves.space(numeric=True, hint=bench.space)
    ranges = [n for n, p in space.params.items() if hasattr(p, "low")]
    logs = [n for n in ranges if space.params[n].log]

    def one(job: tuple[str, int, int]) -> Path | None:
        m, w, s = job
        out = cache / f"{m}-w{w}-s{s}.jsonl"
        if not out.exists() and cached_only:
            unfinished.append({"method": m, "workers": w, "seed": s, "not_run": True})
            return None
        if not out.exists():
            partial = out.with_suffix(".part")
            partial.unlink(missing_ok=True)
            try:
                _anchor(m, w, s, partial)
            except subprocess.TimeoutExpired:
                unfinished.append({"method": m, "workers": w, "seed": s, "timeout_s": timeout})
                partial.unlink(missing_ok=True)
                return None
            partial.rename(out)
        return out

    def _anchor(m: str, w: int, s: int, partial: Path) -> None:
        subprocess.run(
                [str(ANCHOR_PYTHON), str(ANCHOR_SCRIPT), "--table", str(table.path),
                 "--metric", table.metric, "--mode", table.mode, "--max-epochs", str(bench.R),
                 "--eta", str(bench.eta), "--budget", str(bench.total), "--methods", m,
                 "--seeds", str(s), "--workers", str(w), "--out", str(partial),
                 "--numeric", ",".join(ranges), "--log", ",".join(logs)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
        )  # fmt: skip

    jobs.sort(key=lambda j: (j[0] in SLOW, j[1], j[2]))  # the cheap ones first, seed by seed
    with ThreadPoolExecutor(processes) as pool:
        paths = list(pool.map(one, jobs))
    traces = []
    for path in filter(None, paths):
        for line in path.read_text().splitlines():
            d = json.loads(line)
            traces.append(quality.Trace(
                d["method"], d["seed"], d["workers"], np.asarray(d["ended_at"], float),
                np.asarray(d["values"], float), d["busy_fraction"], float("nan"), d["trials"],
                table.mode,
            ))  # fmt: skip
    return traces


def goals(summary: dict[str, Any], ours: list[str], anchors: list[str], budget: int,
          workers: list[int], mode: str, best_ours: str) -> dict[str, Any]:  # fmt: skip
    """The issue's goals on one table, by epochs with one worker, and ASHA's busy share."""
    out: dict[str, Any] = {"our_best_method": best_ours}
    ran = [a for a in (*anchors, *OPTUNA) if a in summary["_median_epochs"]]  # Optuna too
    if ran:
        out.update(quality.against_rivals(summary, best_ours, ran, budget, mode))
        # Which of our methods, each on its own, meet the goal on this table.
        meets = {}
        for m in ours:
            if m in summary["_median_epochs"] and m not in OPTUNA:
                vs = quality.against_rivals(summary, m, ran, budget, mode)["vs_best_rival"]
                if vs["at_least_as_good_everywhere"] and vs["strictly_ahead_somewhere"]:
                    meets[m] = vs
        out["our_methods_at_least_best_rival_and_ahead"] = meets
    busy: dict[str, Any] = {}
    for w in workers:
        mine = summary["cases"].get("asha/random", {}).get(f"workers_{w}", {}).get("busy_fraction")
        theirs = summary["cases"].get("syne-asha", {}).get(f"workers_{w}", {}).get("busy_fraction")
        if mine is not None and theirs is not None:
            busy[f"workers_{w}"] = {"asha/random": mine, "syne-asha": theirs,
                                    "met": mine >= theirs - 1e-9}  # fmt: skip
    if busy:
        out["asha_busy_at_least_syne_asha"] = busy
    return out


def screenshot(html: Path, png: Path) -> bool:
    """A PNG of a page of curves (the figure alone), through headless Chromium; without
    it, one line saying how to install it."""
    if line := missing(PLAYWRIGHT, CHROMIUM):
        print(f"{line} (no {png.name})", file=sys.stderr)
        return False
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM.path), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(html.resolve().as_uri())
        page.wait_for_function("document.querySelector('.plotly-graph-div .main-svg') !== null")
        page.locator(".plotly-graph-div").first.screenshot(path=str(png))
        browser.close()
    return True


def replot(json_path: Path) -> None:
    """The pages of curves and the PNG again, from a report written before (its 20 points
    per curve), in seconds: nothing runs."""
    report = json.loads(json_path.read_text())
    seeds = report["settings"]["seeds"]
    workers = report["settings"]["workers"]
    first = None
    for name, t in report["tables"].items():
        title = TABLES[name].title if name in TABLES else name
        fig = quality.figure(
            quality.panels_from_cases(t["cases"], t["budget_epochs"], workers),
            t["cases"],
            title=f"{title}: median best {t['table']['metric']} over {seeds} seeds",
            metric=t["table"]["metric"],
        )
        html = json_path.with_name(t["html"])
        fig.write_html(html, include_plotlyjs="directory")
        print(f"wrote {html}", file=sys.stderr)
        first = first or html
    png = json_path.with_suffix(".png")
    if first and screenshot(first, png):
        print(f"wrote {png}", file=sys.stderr)


@dataclass(frozen=True)
class Choices:
    """What one run of the benchmark does, read from the command line."""

    seeds: int
    workers: list[int]
    tables: list[Table]
    methods: list[str]
    anchors: list[str]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the grid, 3 seeds, W = 1, 16")
    parser.add_argument("--tables", default=None, help="comma-separated [report_grid,deep_mlp]")
    parser.add_argument("--table", action="append", default=[],
                        help="another table: NAME=PATH[:R[:budget]]")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--workers", default=None, help="comma-separated [1,16,64; quick: 1,16]")
    parser.add_argument("--methods", default=None, help="ours and Optuna's [all]")
    parser.add_argument("--anchors", default=None,
                        help="comma-separated anchors, or none [all, when .venv-bench exists]")  # fmt: skip
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--anchor-timeout", type=float, default=2400.0,
                        help="seconds one anchor run may take; longer ones are listed as unfinished")  # fmt: skip
    parser.add_argument(
        "--budget-share",
        type=float,
        default=1.0,
        help="run at this share of each table's budget [1]",
    )
    parser.add_argument(
        "--all-seeds",
        action="store_true",
        help="every method runs --seeds seeds (no fewer for the slow ones)",
    )
    parser.add_argument("--anchors-cached", action="store_true",
                        help="only the anchor runs already under results/anchor-traces/")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the HTML and PNG from the JSON (--out, or the default) "
                        "of an earlier run, in seconds")  # fmt: skip
    return parser


def _stem(args: argparse.Namespace) -> str:
    """The name of what this run writes: ``search_quality`` (``.quick``), or --out's."""
    if args.out:
        return str(args.out.stem)
    return "search_quality" + (".quick" if args.quick else "")


def _choices(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Choices:
    """The seeds, workers, tables, methods and anchors to run; a bad one is a usage error.
    ``--all-seeds`` lifts the slow methods' cap on seeds (before the defaults are read)."""
    seeds = args.seeds or (3 if args.quick else 20)
    if not 0 < args.budget_share <= 1:
        parser.error(f"--budget-share {args.budget_share} must be in (0, 1]")
    if args.all_seeds:
        SLOW.clear()
    workers = [int(w) for w in (args.workers or ("1,16" if args.quick else "1,16,64")).split(",")]
    workers = sorted(set(workers) | {1})
    tables = _tables(parser, args)
    default = [m for m in (*OURS, *OPTUNA) if not (args.quick and m in SLOW)]
    methods = args.methods.split(",") if args.methods else default
    unknown = [m for m in methods if m not in quality.known_methods()]
    if unknown or "random" not in methods:
        parser.error(
            f"--methods must include random and come from {', '.join(quality.known_methods())}"
        )
    return Choices(seeds, workers, tables, methods, _anchors(parser, args))


def _tables(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Table]:
    """The named tables (--tables), then the others (--table NAME=PATH[:R[:budget]])."""
    names = (args.tables or ("report_grid" if args.quick else "report_grid,deep_mlp")).split(",")
    tables = []
    for name in names:
        if name not in TABLES:
            parser.error(f"--tables {name!r} is unknown; expected some of {', '.join(TABLES)}")
        tables.append(TABLES[name])
    for spec in args.table:
        name, _, rest = spec.partition("=")
        path, *numbers = rest.split(":")
        if not name or not path or not Path(path).exists():
            parser.error(f"--table {spec!r}: expected NAME=PATH[:R[:budget]] with an existing file")
        r = int(numbers[0]) if numbers else Curves.read(path).max_epochs
        tables.append(
            Table(name, Path(path), name, r, int(numbers[1]) if len(numbers) > 1 else None)
        )
    return tables


def _anchors(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The anchors to run: those named, none, or (by default) all that are installed, less
    the ones that take hours at the full budget and, with --quick, the slow ones."""
    if args.anchors == "none":
        anchors: list[str] = []
    elif args.anchors:
        anchors = args.anchors.split(",")
        if bad := [a for a in anchors if a not in ANCHORS]:
            parser.error(f"--anchors {bad[0]!r} is unknown; expected some of {', '.join(ANCHORS)}")
    else:
        anchors = list(ANCHORS) if ANCHOR_PYTHON.exists() else []
        if args.budget_share == 1:  # at the full budget they take hours: see the docstring
            anchors = [a for a in anchors if a not in ("syne-mobster", "syne-hypertune")]
    if args.anchors and args.anchors != "none":
        require(ANCHOR_ENV)
    elif not args.anchors and (line := missing(ANCHOR_ENV)):  # left out; the report says so
        print(f"{line} (the anchors are left out)", file=sys.stderr)
    if args.quick and not args.anchors:
        anchors = [a for a in anchors if a not in SLOW]
    return anchors


def _settings(choices: Choices, args: argparse.Namespace) -> dict[str, Any]:
    """The report's ``settings``: what ran, and under which rules."""
    seeds, workers = choices.seeds, choices.workers
    return {
        "seeds": seeds,
        "workers": workers,
        "seeds_for_slow_methods": {m: _seeds_for(m, seeds) for m in SLOW},
        "budget_share": args.budget_share,
        "anchor_seeds_with_more_than_one_worker": min(seeds, ANCHOR_SEEDS_AT_W),
        "methods_at_every_w": sorted(EVERY_W),
        "other_methods_at_w": workers[:1],
        "anchors": choices.anchors or "not run (make bench-anchors)",
        "rules": "an epoch is paid when trained; promotions resume (0 s resume cost for every "
        "method); dehb/smac retrain from scratch at each fidelity by design, "
        "dehb-resume/smac-resume count only the epochs beyond what that configuration "
        "trained before; anchors map a proposal to the nearest recorded row",
        "curve_points": "median_best_* lists hold 20 points: budget/20, 2·budget/20, … budget",
    }


@dataclass
class TableRun:
    """One table's runs: its benchmark, the summary of every trace, the anchor runs that
    did not finish."""

    table: Table
    bench: quality.Benchmark
    summary: dict[str, Any]
    unfinished: list[dict[str, Any]]


def _run_table(table: Table, choices: Choices, args: argparse.Namespace) -> TableRun:
    """Every method on one table (ours, then the anchors), summarised and printed."""
    bench = benchmark(table, args.quick, args.budget_share)
    print(f"{table.name}: {bench.curves.n_configs} configurations × {bench.R} epochs, "
          f"budget {bench.total} epochs", file=sys.stderr, flush=True)  # fmt: skip
    traces = run_ours(bench, choices.methods, choices.seeds, choices.workers, args.processes,
                      None if args.quick else OURS_CACHE)  # fmt: skip
    unfinished: list[dict[str, Any]] = []
    if choices.anchors:
        traces += run_anchors(table, bench, choices.anchors, choices.seeds, choices.workers,
                              args.processes, args.anchor_timeout, unfinished, args.anchors_cached)  # fmt: skip
    summary = quality.summarise(traces, bench.total, choices.workers, table.mode)
    for line in quality.lines(summary, bench.total, choices.workers):
        print(line, file=sys.stderr)
    return TableRun(table, bench, summary, unfinished)


def _best_of_ours(runs: list[TableRun], methods: list[str]) -> tuple[dict[str, float], str]:
    """Every method's average rank over the tables, and our best by it (random if none)."""
    ranks = quality.overall_ranks({r.table.name: r.summary["cases"] for r in runs})
    ours_ranked = [m for m in ranks if m in methods and m not in OPTUNA]
    return ranks, ours_ranked[0] if ours_ranked else "random"


def _table_report(run: TableRun, choices: Choices, args: argparse.Namespace,
                  best_ours: str) -> dict[str, Any]:  # fmt: skip
    """One table's part of the report, after writing its page of curves."""
    table, bench, summary = run.table, run.bench, run.summary
    html = (args.out or RESULTS / "search_quality.json").with_name(
        f"{_stem(args)}_{table.name}.html"
    )
    quality.write_html(summary, bench.total, choices.workers, html, metric=table.metric,
                       title=f"{table.title}: median best {table.metric} over {choices.seeds} seeds")  # fmt: skip
    path = table.path.relative_to(ROOT) if table.path.is_relative_to(ROOT) else table.path
    met = goals(summary, choices.methods, choices.anchors, bench.total, choices.workers,
                table.mode, best_ours)  # fmt: skip
    return {
        "table": {"path": str(path), **quality.describe_table(bench.curves, table.metric, bench.R)},
        "budget_epochs": bench.total,
        "max_epochs": bench.R,
        "eta": bench.eta,
        "replace": table.replace,
        "html": html.name,
        "cases": summary["cases"],
        "goals": met,
        "anchor_runs_unfinished": run.unfinished,
    }


def _overall_goals(tables: dict[str, Any], ranks: dict[str, float], best_ours: str,
                   anchors: list[str]) -> dict[str, Any]:  # fmt: skip
    """The goals over all tables: our best method is the best of all by average rank, and
    on every table at least the best anchor from a tenth on and ahead somewhere."""

    def everywhere(goal: str) -> bool | None:
        if not anchors:
            return None
        return all(t["goals"].get("vs_best_rival", {}).get(goal, False) for t in tables.values())

    return {
        "our_best_method": best_ours,
        "average_rank_best_of_all": bool(ranks) and next(iter(ranks)) == best_ours,
        "every_table_at_least_best_anchor_from_a_tenth": everywhere("at_least_as_good_everywhere"),
        "every_table_strictly_ahead_somewhere": everywhere("strictly_ahead_somewhere"),
    }


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if args.replot:
        replot(args.out or RESULTS / f"{_stem(args)}.json")
        return
    choices = _choices(parser, args)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "search_quality",
        "settings": _settings(choices, args),
        "tables": {},
    }
    runs = [_run_table(table, choices, args) for table in choices.tables]
    ranks, best_ours = _best_of_ours(runs, choices.methods)
    for run in runs:
        report["tables"][run.table.name] = _table_report(run, choices, args, best_ours)
    report["average_rank_over_tables"] = ranks
    report["goals"] = _overall_goals(report["tables"], ranks, best_ours, choices.anchors)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    out = write_report("search_quality", report, args.quick, args.out)
    first = next(iter(report["tables"].values()))["html"]
    png = out.with_suffix(".png")
    if screenshot(out.with_name(first), png):
        print(f"wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
