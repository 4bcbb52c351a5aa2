"""The search-quality regression check: a small version of ``bench/search_quality.py`` on the
committed table of recorded learning curves (the report's grid on digits).

Five seeds, one worker, one HyperBand iteration of budget (1,903 epochs). The schedulers
must stay ahead of random search from a tenth of that budget on; a scheduler that keeps
the worst trials instead must fail the same check (so the check can fail).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hpo.runners._simulator import SimulatorRunner
from hpo.tuner import Tuner
from hpo.types import Mode
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import search_quality as sq

SEEDS = range(5)


@pytest.fixture(scope="module")
def budget() -> int:
    sq._load(str(sq.TABLE))
    return sq.hyperband_budget()


def median_best(method: str, budget: int, mode: str = "max") -> np.ndarray:
    """Median over seeds of the best validation accuracy after 1 … budget epochs."""
    curves = []
    for seed in SEEDS:
        if mode == "max":
            trace = sq.run_ours(method, seed, 1, budget, 0.0)
            curves.append(trace.best_by_epochs(budget))
            continue
        scheduler = sq.make_scheduler(method, seed, budget)
        scheduler.mode = Mode.parse(mode)  # sabotage: rank trials upside down
        recorder = sq._TimeRecorder()
        Tuner(scheduler, SimulatorRunner(sq.curves(), 1), recorder, metric=sq.METRIC).run()
        values = np.array([v for _, v in recorder.points])
        best = np.maximum.accumulate(np.nan_to_num(values[:budget]))
        curves.append(np.pad(best, (0, budget - len(best)), mode="edge"))
    return np.median(np.stack(curves), axis=0)


def test_the_committed_table_is_the_report_grid(budget) -> None:
    table = sq.curves()
    assert (table.n_configs, table.max_epochs) == (2520, 100)
    assert set(table.param_names) == {
        "hidden_layer_sizes", "activation", "solver", "alpha", "learning_rate",
    }  # fmt: skip
    assert sq.TABLE.stat().st_size < 20 * 2**20
    assert np.isfinite(table.values["seconds"]).all() and (table.values["seconds"] > 0).all()
    assert 0.95 < np.nanmax(table.values["val_accuracy"][:, -1]) <= 1.0


@pytest.mark.parametrize("method", ["hyperband/random", "asha/random", "hyperband/tpe"])
def test_schedulers_stay_ahead_of_random_search_from_a_tenth_of_the_budget(budget, method) -> None:
    tenth = budget // 10 - 1
    random = median_best("random", budget)
    ours = median_best(method, budget)
    assert np.all(ours[tenth:] >= random[tenth:]), (
        f"{method} fell behind random search at {int(np.argmin(ours[tenth:] - random[tenth:])) + tenth + 1} epochs"
    )
    assert ours[tenth] > random[tenth]


def test_a_scheduler_that_keeps_the_worst_trials_fails_the_check(budget) -> None:
    tenth = budget // 10 - 1
    random = median_best("random", budget)
    upside_down = median_best("hyperband/random", budget, mode="min")
    assert not np.all(upside_down[tenth:] >= random[tenth:])
    assert upside_down[-1] < random[-1]


def test_the_quick_benchmark_writes_its_json_and_html(tmp_path) -> None:
    out = tmp_path / "sq.json"
    subprocess.run(
        [sys.executable, "bench/search_quality.py", "--quick", "--seeds", "2", "--workers", "1,4",
         "--methods", "random,asha/random,optuna-random-sha", "--processes", "1", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert set(report["cases"]) == {"random", "asha/random", "optuna-random-sha"}
    case = report["cases"]["asha/random"]
    assert len(case["median_best_by_epochs"]) == 20 and case["speedup_vs_random_epochs"] > 0
    assert 0 < case["workers_4"]["busy_fraction"] <= 1
    assert "asha/random vs optuna-random-sha" in report["goals"]["by_epochs_1_worker"]
    assert report["table"]["configurations"] == 2520
    assert out.with_suffix(".html").stat().st_size > 1000


def test_recording_curves_resumes_where_it_stopped(tmp_path) -> None:
    import sqlite3

    import pandas as pd

    def record() -> str:
        return subprocess.run(
            [sys.executable, "bench/record_curves.py", "--limit", "6", "--epochs", "3",
             "--workers", "1", "--progress", str(tmp_path / "p.db"), "--out", str(tmp_path / "c.parquet")],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    assert "0 of 6 configurations recorded; 6 to go" in record()
    first = pd.read_parquet(tmp_path / "c.parquet")
    assert first["config_id"].nunique() == 6 and len(first) == 18
    with sqlite3.connect(tmp_path / "p.db") as conn:  # as if killed before the last two
        conn.execute("DELETE FROM curves WHERE config_id >= 4")
    assert "4 of 6 configurations recorded; 2 to go" in record()
    again = pd.read_parquet(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(
        first.drop(columns="seconds"), again.drop(columns="seconds"), check_like=True
    )
