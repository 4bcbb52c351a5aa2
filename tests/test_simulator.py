"""The simulator runner: recorded curves replayed on a virtual clock through the real tuner."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest

from hpo.runners._simulator import SimulatorRunner
from hpo.schedulers import ASHA, HyperBand, RandomSearch, SuccessiveHalving, TrialStatus
from hpo.simulate import simulate_table
from hpo.tables import Curves, TableSampler, synthetic_curves
from hpo.tuner import MemoryRecorder, Tuner


def _run(scheduler, curves: Curves, workers: int, resume_seconds: float = 0.0):
    runner = SimulatorRunner(curves, workers, resume_seconds)
    recorder = MemoryRecorder()
    Tuner(scheduler, runner, recorder).run()
    return runner, recorder


@pytest.mark.parametrize(
    "make",
    [
        lambda c: RandomSearch(TableSampler(c, "random", 1), 5, 27),
        lambda c: HyperBand(TableSampler(c, "random", 1), 27, eta=3),
        lambda c: ASHA(TableSampler(c, "random", 1), 27, eta=3, n_configs=40),
        lambda c: SuccessiveHalving(TableSampler(c, "random", 1), 8, budget=240, iterations=2),
    ],
    ids=["random", "hyperband", "asha", "sh-report"],
)
@pytest.mark.parametrize("workers", [1, 7])
def test_every_trial_trains_its_epochs_in_order_and_none_fails(make, workers) -> None:
    curves = synthetic_curves(200, epochs=81)
    scheduler = make(curves)
    _runner, recorder = _run(scheduler, curves, workers)
    statuses = collections.Counter(t.status for t in scheduler.trials.values())
    assert set(statuses) <= {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    assert statuses[TrialStatus.COMPLETED] >= 1
    per_trial = collections.defaultdict(list)
    for trial_id, epoch, metrics, _, _ in recorder.epochs:
        per_trial[trial_id].append(epoch)
        cid = curves.config_id(scheduler.trials[trial_id].config)
        assert metrics["val_accuracy"] == pytest.approx(
            curves.values["val_accuracy"][cid, epoch - 1]
        )
    for trial_id, epochs in per_trial.items():
        assert epochs == list(range(1, scheduler.trials[trial_id].epochs + 1))
    assert scheduler.epochs_spent == len(recorder.epochs)


def test_the_virtual_clock_adds_up_recorded_seconds() -> None:
    curves = synthetic_curves(50, epochs=27)
    scheduler = RandomSearch(TableSampler(curves, "random", 0), 6, 27)
    runner, _recorder = _run(scheduler, curves, 1)
    total = sum(curves.values["seconds"][curves.config_id(t.config)].sum()
                for t in scheduler.trials.values())  # fmt: skip
    assert runner.now == pytest.approx(total)
    assert runner.busy_fraction() == pytest.approx(1.0)
    # Three workers on six equal-length trials: the clock ends at the slowest worker's sum.
    scheduler = RandomSearch(TableSampler(curves, "random", 0), 6, 27)
    runner3, _ = _run(scheduler, curves, 3)
    assert total / 3 <= runner3.now < total


def test_resumes_on_another_worker_cost_resume_seconds() -> None:
    curves = synthetic_curves(100, epochs=27)
    free, _ = _run(ASHA(TableSampler(curves, "random", 0), 27, n_configs=30), curves, 4, 0.0)
    paid, _ = _run(ASHA(TableSampler(curves, "random", 0), 27, n_configs=30), curves, 4, 5.0)
    assert paid.now > free.now + 5.0  # at least one promotion moved to another worker
    assert paid.busy_seconds > free.busy_seconds


def test_a_simulation_is_deterministic_for_a_seed() -> None:
    curves = synthetic_curves(300, epochs=27, seed=3)
    results = []
    for _ in range(2):
        scheduler = ASHA(TableSampler(curves, "tpe", 5), 27, n_configs=60)
        runner, recorder = _run(scheduler, curves, 16)
        results.append(
            (runner.now, [(t, e, m["val_accuracy"]) for t, e, m, _, _ in recorder.epochs])
        )
    assert results[0] == results[1]


def test_asha_keeps_many_workers_busy_while_it_has_work() -> None:
    curves = synthetic_curves(3000, epochs=27, seed=1)
    scheduler = ASHA(TableSampler(curves, "random", 0), 27, n_configs=3000)
    runner, _ = _run(scheduler, curves, 64)
    # While trials remain to start, no worker ever waits (asynchronous promotion) ...
    assert runner.busy_fraction_while_starting() == pytest.approx(1.0)
    # ... and only the drain of the last promotions at the end leaves workers idle.
    assert 0.8 < runner.busy_fraction() < 1.0
    assert runner.busy_fraction(until=runner.now) == pytest.approx(runner.busy_fraction())


def test_a_curve_shorter_than_the_assignment_fails_that_trial_with_a_reason() -> None:
    frame = pd.DataFrame({
        "config_id": [0] * 3 + [1] * 9, "epoch": [1, 2, 3, *list(range(1, 10))],
        "val_accuracy": np.linspace(0.1, 0.9, 12), "seconds": 1.0,
        "config.lr": [0.1] * 3 + [0.01] * 9,
    })  # fmt: skip
    curves = Curves(frame)
    scheduler = RandomSearch(TableSampler(curves, "grid", 0), 2, 9)
    _, recorder = _run(scheduler, curves, 1)
    failed = [t for t in scheduler.trials.values() if t.status is TrialStatus.FAILED]
    assert len(failed) == 1 and failed[0].config == {"lr": 0.1}
    assert any("ends at epoch 3" in (e.reason or "") for e in recorder.events)


def test_table_sampler_never_repeats_and_tpe_maps_to_recorded_rows() -> None:
    curves = synthetic_curves(40, epochs=5)
    for kind in ("random", "grid", "tpe"):
        sampler = TableSampler(curves, kind, 0)
        seen = []
        while (config := sampler.sample()) is not None:
            seen.append(curves.config_id(config))
            sampler.observe(config, 5, -float(len(seen)))
        assert sorted(seen) == list(range(40))


def test_nearest_takes_the_closest_recorded_row_and_skips_excluded_ones() -> None:
    rows = [(lr, act) for lr in (0.001, 0.01, 0.1) for act in ("relu", "tanh")]
    frame = pd.DataFrame({
        "config_id": range(6), "epoch": 1, "val_accuracy": 0.5, "seconds": 1.0,
        "config.lr": [lr for lr, _ in rows], "config.act": [a for _, a in rows],
    })  # fmt: skip
    curves = Curves(frame)
    index = {r: curves.config_id({"lr": r[0], "act": r[1]}) for r in rows}
    assert curves.nearest({"lr": 0.01, "act": "relu"}) == index[(0.01, "relu")]  # exact
    assert curves.nearest({"lr": 0.012, "act": "relu"}) == index[(0.01, "relu")]  # log distance
    # Without it: rates are scaled to [0, 1] over the table's log range (ln 100 = 4.6), so
    # 0.1 (2.12 / 4.6 = 0.46) beats another activation at the same rate (1 + 0.18 / 4.6).
    assert (
        curves.nearest({"lr": 0.012, "act": "relu"}, {index[(0.01, "relu")]})
        == index[(0.1, "relu")]
    )
    excluded = {index[(0.01, "relu")], index[(0.1, "relu")], index[(0.001, "relu")]}
    assert curves.nearest({"lr": 0.012, "act": "relu"}, excluded) == index[(0.01, "tanh")]


def test_simulate_table_reports_time_and_best() -> None:
    result = simulate_table(synthetic_curves(500, epochs=27), scheduler="hyperband", workers=8)
    assert result.scheduler.best_trial is not None
    assert 0 < result.busy_fraction <= 1 and result.simulated_seconds > 0
    assert "simulated hyperband with 8 workers" in result.lines()[0]


def test_simulate_table_repeats_brackets_and_samples_with_tpe() -> None:
    table = synthetic_curves(800, epochs=27)
    once = simulate_table(table, scheduler="hyperband", workers=4)
    twice = simulate_table(table, scheduler="hyperband", sampler="tpe", iterations=2, workers=4)
    assert len(twice.scheduler.trials) == 2 * len(once.scheduler.trials)
    assert twice.scheduler.epochs_spent == 2 * once.scheduler.epochs_spent
