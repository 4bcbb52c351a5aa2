"""The search-quality regression check: a small version of ``bench/search_quality.py`` on the
committed table of recorded learning curves (the report's grid on digits), the goal check
it applies, and the anchors' shared clock (``bench/anchors/run_anchor.py``) without the
anchors themselves.

Five seeds, one worker, one HyperBand iteration of budget (1,903 epochs). The schedulers
must stay ahead of random search from a tenth of that budget on; a scheduler that keeps
the worst trials instead must fail the same check (so the check can fail).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hpo import quality
from hpo.runners._simulator import Curves, SimulatorRunner
from hpo.tuner import Tuner
from hpo.types import Mode
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench" / "anchors"))
import run_anchor

TABLE = ROOT / "results" / "benchmarks" / "report_grid_curves.parquet"
SEEDS = range(5)


@pytest.fixture(scope="module")
def bench() -> quality.Benchmark:
    return quality.Benchmark(Curves.read(str(TABLE)), max_epochs=100)


def upside_down(bench: quality.Benchmark, method: str, seed: int) -> quality.Trace:
    """``method`` with its ranking turned over: it keeps the worst trials."""
    scheduler = bench.scheduler(method, seed)
    scheduler.mode = Mode.parse("min")
    recorder = quality._TimeRecorder()
    Tuner(scheduler, SimulatorRunner(bench.curves, 1), recorder, metric=bench.metric).run()
    points = sorted(recorder.points, key=lambda p: p[0])
    return quality.Trace(f"{method}-upside-down", seed, 1, np.array([p[0] for p in points]),
                         np.array([p[1] for p in points]), 1.0, 1.0, len(scheduler.trials))  # fmt: skip


@pytest.fixture(scope="module")
def summary(bench) -> dict[str, Any]:
    traces = [bench.run(m, s, 1) for m in ("random", "hyperband/random", "asha/random",
                                           "hyperband/tpe") for s in SEEDS]  # fmt: skip
    traces += [upside_down(bench, "hyperband/random", s) for s in SEEDS]
    return quality.summarise(traces, bench.total, [1])


def test_the_committed_table_is_the_report_grid(bench) -> None:
    table = bench.curves
    assert (table.n_configs, table.max_epochs) == (2520, 100)
    assert set(table.param_names) == {
        "hidden_layer_sizes", "activation", "solver", "alpha", "learning_rate",
    }  # fmt: skip
    assert TABLE.stat().st_size < 20 * 2**20
    assert np.isfinite(table.values["seconds"]).all() and (table.values["seconds"] > 0).all()
    assert 0.95 < np.nanmax(table.values["val_accuracy"][:, -1]) <= 1.0
    assert bench.total == 1903  # one HyperBand iteration at R = 100, η = 3


@pytest.mark.parametrize("method", ["hyperband/random", "asha/random", "hyperband/tpe"])
def test_schedulers_stay_ahead_of_random_search_from_a_tenth_of_the_budget(
    bench, summary, method
) -> None:
    check = quality.against_rivals(summary, method, ["random"], bench.total)
    assert check["vs_best_rival"]["at_least_as_good_everywhere"], check
    assert check["vs_best_rival"]["strictly_ahead_somewhere"], check


def test_a_scheduler_that_keeps_the_worst_trials_fails_the_check(bench, summary) -> None:
    check = quality.against_rivals(summary, "hyperband/random-upside-down", ["random"], bench.total)
    assert not check["vs_best_rival"]["at_least_as_good_everywhere"]
    assert check["vs_best_rival"]["margin_at_full_budget"] < 0
    ranks = quality.overall_ranks({"grid": summary["cases"]})
    assert list(ranks)[-1] == "hyperband/random-upside-down"  # ranked last of all


def test_the_envelope_of_rivals_is_the_best_rival_at_each_budget(bench, summary) -> None:
    rivals = ["random", "asha/random", "hyperband/tpe"]
    check = quality.against_rivals(summary, "hyperband/random", rivals, bench.total)
    assert check["best_rival"] in rivals
    envelope = check["vs_envelope_of_rivals"]
    assert envelope["worst_margin"] <= check["vs_best_rival"]["worst_margin"]


def test_the_quick_benchmark_writes_its_json_and_html(tmp_path) -> None:
    out = tmp_path / "sq.json"
    done = subprocess.run(
        [sys.executable, "bench/search_quality.py", "--quick", "--seeds", "2", "--workers", "1,4",
         "--methods", "random,asha/random,optuna-random-sha", "--anchors", "none",
         "--processes", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    grid = report["tables"]["report_grid"]
    assert set(grid["cases"]) == {"random", "asha/random", "optuna-random-sha"}
    case = grid["cases"]["asha/random"]
    assert len(case["median_best_by_epochs"]) == 20 and case["speedup_vs_random_epochs"] > 0
    assert 0 < case["workers_4"]["busy_fraction"] <= 1
    assert (
        grid["table"]["configurations"] == 2520 and "1" in grid["table"]["spearman_early_vs_final"]
    )
    assert set(report["average_rank_over_tables"]) == set(grid["cases"])
    assert report["goals"]["our_best_method"] in {"random", "asha/random"}
    assert (tmp_path / grid["html"]).stat().st_size > 1000


def test_an_unknown_table_or_anchor_is_one_clear_line() -> None:
    for args, expected in ((["--tables", "nope"], "--tables 'nope' is unknown"),
                           (["--anchors", "hyperopt"], "--anchors 'hyperopt' is unknown"),
                           (["--budget-share", "0"], "--budget-share 0.0 must be in (0, 1]")):  # fmt: skip
        done = subprocess.run([sys.executable, "bench/search_quality.py", *args], cwd=ROOT,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr


# -- the anchors' clock, with a stand-in optimiser --------------------------------------------------


class Scripted:
    """Asks for a fixed list of (configuration, fidelity) jobs, as DEHB or SMAC would."""

    def __init__(self, jobs: list[tuple[dict[str, Any], int]]) -> None:
        self.jobs, self.told = list(jobs), []

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        config, fidelity = self.jobs.pop(0) if self.jobs else ({"lr": 0.1, "width": 64}, 9)
        return (config, fidelity), config, float(fidelity)

    def tell(self, job: Any, value: float) -> None:
        self.told.append((job, value))


@pytest.fixture
def small_table(tmp_path) -> run_anchor.Table:
    lr, width = [0.001, 0.01, 0.1], [32, 64]
    rows = [{"config_id": i * 2 + j, "config.lr": a, "config.width": b, "epoch": e,
             "val_accuracy": 0.1 * e + a, "seconds": 1.0 + j}
            for i, a in enumerate(lr) for j, b in enumerate(width) for e in range(1, 10)]  # fmt: skip
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return run_anchor.Table(str(path), "val_accuracy", "max", 9)


def test_anchor_proposals_map_to_the_nearest_recorded_row(small_table) -> None:
    assert small_table.nearest({"lr": 0.01, "width": 64}) == 3  # few values: categories
    assert small_table.nearest({"lr": "0.1", "width": "32"}) == 4  # as ConfigSpace returns them


@pytest.mark.parametrize("resume", [False, True])
def test_anchors_that_retrain_pay_every_epoch_again_unless_measured_as_resuming(
    small_table, monkeypatch, resume
) -> None:
    same = {"lr": 0.01, "width": 32}  # row 2: 1 s per epoch
    script = Scripted([(same, 1), (same, 3), (same, 9)])
    monkeypatch.setattr(run_anchor, "_make_optimiser", lambda *a: script)
    method = "dehb-resume" if resume else "dehb"
    run = run_anchor.run_ask_tell(method, small_table, 0, 1, 13, 3)  # then a 9-epoch job: over
    paid = len(run["ended_at"])
    assert paid == (9 if resume else 13)  # 1 + 2 + 6 resumed; 1 + 3 + 9 retrained
    assert [v for v in run["values"] if v == v] == pytest.approx(
        [0.11, 0.31, 0.91]
    )  # last epochs only
    assert run["ended_at"][-1] == pytest.approx(paid)  # one worker, 1 s epochs, never idle
    assert run["busy_fraction"] == pytest.approx(1.0)


def test_anchors_and_our_samplers_map_a_proposal_to_the_same_row(tmp_path) -> None:
    """The same rule on both sides: the nearest row by the same distance, a new
    configuration on a row not used yet in the run, the same configuration on its row."""
    rng = np.random.default_rng(0)
    n = 60
    configs = pd.DataFrame({"config.lr": 10 ** rng.uniform(-4, -1, n),
                            "config.momentum": rng.uniform(0.8, 0.99, n),
                            "config.act": rng.choice(["relu", "tanh"], n)})  # fmt: skip
    frame = configs.loc[configs.index.repeat(3)].assign(
        config_id=np.repeat(np.arange(n), 3), epoch=np.tile([1, 2, 3], n), val_accuracy=0.5
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    theirs = run_anchor.Table(str(path), "val_accuracy", "max", 3)
    ours = Curves.read(path)
    used: set[int] = set()
    for _ in range(2 * n):
        proposal = {"lr": 10 ** rng.uniform(-4, -1), "momentum": rng.uniform(0.8, 0.99),
                    "act": str(rng.choice(["relu", "tanh"]))}  # fmt: skip
        assert theirs.nearest(proposal) == ours.nearest(proposal)
        row = theirs.row(proposal)
        assert row == ours.nearest(proposal, used if len(used) < n else frozenset())
        assert theirs.row(dict(proposal)) == row  # the same configuration, the same row
        used.add(row)
    assert len(used) == n


# -- the curves page ----------------------------------------------------------------------------------


def fake_cases(ranks: dict[str, float], workers: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """A report's ``cases`` as the benchmark writes them (20 points per curve)."""
    curve = [0.5 + 0.02 * i for i in range(20)]
    return {
        m: {
            "average_rank": rank,
            "median_best_by_epochs": curve,
            **{f"workers_{w}": {"reference_wall_s": 10.0 * w, "median_best_by_wall": curve}
               for w in workers},
        }
        for m, rank in ranks.items()
    }  # fmt: skip


def test_shown_methods_are_our_few_best_each_anchors_best_and_random() -> None:
    ranks = {"sh/random": 3.4, "syne-asha": 4.0, "asha/tpe": 5.0, "hyperband/gp": 6.0,
             "sh/tpe": 7.0, "optuna-tpe": 8.0, "syne-bohb": 9.0, "optuna-random-sha": 9.5,
             "smac-resume": 10.0, "dehb-resume": 11.0, "dehb": 12.0, "random": 18.0}  # fmt: skip
    assert quality.shown_methods(fake_cases(ranks)) == [
        "sh/random", "syne-asha", "asha/tpe", "hyperband/gp", "optuna-tpe", "smac-resume",
        "dehb-resume", "random",
    ]  # fmt: skip


def test_curves_figure_draws_the_few_and_lists_the_rest_below_the_panels() -> None:
    ranks = {f"m{i}/random": float(i) for i in range(1, 21)} | {"random": 21.0, "syne-asha": 2.5}
    cases = fake_cases(ranks, workers=(1, 16))
    fig = quality.figure(quality.panels_from_cases(cases, 1000, [1, 16]), cases,
                         title="t", metric="val_accuracy")  # fmt: skip
    drawn = {t.legendgroup for t in fig.data if t.visible is True}
    assert drawn == {"m1/random", "m2/random", "m3/random", "syne-asha", "random"}
    hidden = {t.legendgroup for t in fig.data if t.visible == "legendonly"}
    assert hidden == set(cases) - drawn  # every other method is one click away
    legend = [t for t in fig.data if t.showlegend is not False]
    assert sorted(t.legendgroup for t in legend) == sorted(cases)  # each listed once
    assert [t.legendrank for t in sorted(legend, key=lambda t: t.legendrank)][:2] == [1, 2]
    # Below the panels, across the page (not a clipped column beside them).
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
    assert fig.layout.height == 2 * 380 + 170  # two rows of panels and the legend, no more


def test_search_quality_replot_redraws_the_pages_from_the_json(tmp_path) -> None:
    cases = fake_cases({"random": 2.0, "asha/random": 1.0}, workers=(1, 4))
    report = {
        "settings": {"seeds": 2, "workers": [1, 4]},
        "tables": {"report_grid": {"table": {"metric": "val_accuracy"}, "budget_epochs": 1000,
                                   "html": "sq_report_grid.html", "cases": cases}},
    }  # fmt: skip
    out = tmp_path / "sq.json"
    out.write_text(json.dumps(report))
    done = subprocess.run(
        [sys.executable, "bench/search_quality.py", "--replot", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "sq_report_grid.html").read_bytes().decode("unicode_escape")  # as JSON
    assert "asha/random · 1.00" in page and "the report's grid on digits" in page
