"""Search quality machinery: foreign tables, the new methods (one-epoch top-k, PASHA,
budget-aware ASHA, the GP sampler), and the comparison that hpo simulate runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hpo.quality import Benchmark, Trace, rank_correlation, summarise
from hpo.runners._base import is_diverged
from hpo.schedulers import ASHA, PASHA, OneEpochTopK
from hpo.simulate import simulate_table
from hpo.space import SearchSpace
from hpo.tables import Curves, TableSampler
from tests.conftest import drive, hpo


def foreign_table(n: int = 400, epochs: int = 81, seed: int = 0) -> pd.DataFrame:
    """Learning curves as another library would record them: plain hyperparameter columns,
    no config_id, no seconds; quality depends on the learning rate (best near 1e-2), and a
    few curves cross (fast starters that plateau low)."""
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-4, 0, n)
    width = rng.choice([32, 64, 128], n)
    quality = 0.95 - 0.08 * (np.log10(lr) + 2) ** 2 + 0.01 * (width == 128)
    speed = rng.uniform(0.02, 0.4, n)
    t = np.arange(1, epochs + 1)
    acc = quality[:, None] * (1 - np.exp(-speed[:, None] * t)) + rng.normal(0, 0.003, (n, epochs))
    return pd.DataFrame({"lr": np.repeat(lr, epochs), "width": np.repeat(width, epochs),
                         "epoch": np.tile(t, n), "accuracy": acc.ravel()})  # fmt: skip


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "foreign.csv"
    foreign_table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def curves(table_file):
    return Curves.read(table_file, params=["lr", "width"])


# -- tables as users bring them ---------------------------------------------------------------------


def test_a_foreign_table_reads_without_ids_or_timings(curves) -> None:
    assert curves.n_configs == 400 and curves.max_epochs == 81
    assert (curves.values["seconds"] == 1.0).all()  # no timings: one simulated second each
    space = curves.space(numeric=True)
    assert type(space.params["lr"]).__name__ == "Float" and space.params["lr"].log  # spans 1e-4..1
    assert type(space.params["width"]).__name__ == "Categorical"  # three values stay choices


def test_a_plan_the_table_cannot_carry_is_refused_before_it_runs(table_file) -> None:
    done = hpo("simulate", str(table_file), "--params", "lr,width", "--metric", "accuracy",
               "--scheduler", "sh", "--budget", "8100")  # fmt: skip
    assert done.returncode == 2
    assert (
        "trains its last survivors to 941 epochs, but the table's curves end at 81" in done.stderr
    )


def test_a_table_too_small_for_the_plan_offers_sampling_with_replacement(curves) -> None:
    with pytest.raises(ValueError, match=r"the table has 400 configurations.*--replace"):
        simulate_table(curves, scheduler="hyperband", iterations=3, metric="accuracy")
    result = simulate_table(
        curves, scheduler="hyperband", iterations=3, metric="accuracy", replace=True
    )
    assert len(result.scheduler.trials) == 429 and result.failures == {}


def test_sampling_with_replacement_repeats_rows_once_all_are_used(curves) -> None:
    sampler = TableSampler(curves, "random", 0, replace=True)
    ids = [curves.config_id(sampler.sample()) for _ in range(800)]
    assert sampler.size is None
    assert len(set(ids[:400])) == 400 and len(set(ids[400:])) == 400  # two rounds
    assert ids[:400] != ids[400:]  # in a new order


def test_a_model_based_sampler_with_replacement_repeats_a_row_only_once_all_are_used(
    curves,
) -> None:
    sampler = TableSampler(curves, "tpe", 0, replace=True)
    ids = []
    for i in range(500):
        config = sampler.sample()
        ids.append(curves.config_id(config))
        sampler.observe(config, 1, float(curves.values["accuracy"][ids[-1], 0]) + i * 0.0)
    assert len(set(ids[:400])) == 400  # TPE homes in on good rows, but takes fresh ones
    assert len(set(ids)) == 400  # then the table is used again


def test_failures_in_a_simulation_are_never_silent() -> None:
    frame = foreign_table(n=30, epochs=9)
    frame = frame[~((frame["lr"] == frame["lr"].iloc[0]) & (frame["epoch"] > 3))]  # one short curve
    result = simulate_table(Curves(frame, params=["lr", "width"]), scheduler="random", n_configs=30,
                            metric="accuracy", workers=2)  # fmt: skip
    assert result.failures and "ends at epoch 3" in next(iter(result.failures))
    assert any(line.startswith("FAILED: 1 trial(s)") for line in result.lines())


def test_an_infinite_loss_is_divergence() -> None:
    assert is_diverged({"val_loss": float("inf")}) and is_diverged({"train_loss": float("-inf")})
    assert not is_diverged({"val_loss": 1e30})


# -- the new methods ---------------------------------------------------------------------------------


def test_one_epoch_top_k_screens_all_then_trains_the_best_fully(space) -> None:
    from hpo.samplers import RandomSampler

    scheduler = OneEpochTopK(RandomSampler(space, 0), 30, 27, k=4)
    drive(scheduler, workers=4)
    completed = sorted((t.best_score, t.trial_id) for t in scheduler.trials.values()
                       if t.status.value == "completed")  # fmt: skip
    assert len(completed) == 4 and scheduler.epochs_spent == 30 + 4 * 26
    first = {t.trial_id: t.scores[0] for t in scheduler.trials.values()}
    assert {t for _, t in completed} == set(
        sorted(first, key=first.get)[:4]
    )  # the top 4 after one epoch


def test_budget_aware_asha_feeds_its_top_rung(curves) -> None:
    """Under a fixed budget, ASHA used to open new bottom-rung trials until the budget was
    gone: the top rung starved (what the issue saw on a foreign table). It now starts only
    the trials the budget can carry up the rungs."""
    sampler = TableSampler(curves, "random", 0, replace=True)
    asha = ASHA(sampler, 81, eta=3, budget=8100, seed=0)
    from hpo.runners._simulator import SimulatorRunner
    from hpo.tuner import NullRecorder, Tuner

    Tuner(asha, SimulatorRunner(curves, 4), NullRecorder(), metric="accuracy").run()
    at_top = sum(t.epochs == 81 for t in asha.trials.values())
    planned_top = asha.planned_brackets()[0].rungs[-1].n_trials
    assert len(asha.trials) <= asha.planned_brackets()[0].rungs[0].n_trials
    assert at_top >= planned_top - 1 >= 20  # yesterday's ASHA reached R with a handful
    assert asha.epochs_spent <= 8100


@pytest.mark.parametrize("scheduler", [ASHA, PASHA])
@pytest.mark.parametrize("workers", [1, 4])  # with 1, the table runs out while nothing runs
def test_asha_spends_its_budget_when_the_table_runs_out_of_configurations(
    curves, scheduler, workers
) -> None:
    """The weakness the issue saw: on a 400-row table, each row once, under a budget of
    100 full trainings, ASHA started all 400 rows at the bottom rung, promoted its ⌊n/η⌋,
    and ended at about a fifth of the budget, its best found early and never improved. It
    now finishes like synchronous SH: the best paused trials of the highest rung go on
    while the budget lasts."""
    from hpo.runners._simulator import SimulatorRunner
    from hpo.tuner import NullRecorder, Tuner

    asha = ASHA(TableSampler(curves, "random", 0), 81, eta=3, budget=8100, seed=0)
    Tuner(asha, SimulatorRunner(curves, workers), NullRecorder(), metric="accuracy").run()
    assert len(asha.trials) == curves.n_configs == 400
    assert asha.epochs_spent >= 0.9 * 8100  # it used to stop near 1,500
    at_top = sum(t.epochs == 81 for t in asha.trials.values())
    assert at_top >= 60  # ⌊400/81⌋ = 4 by the rule alone
    best = max(curves.values["accuracy"][:, -1])
    assert asha.best_value >= best - 0.01


def test_pasha_stops_raising_its_top_rung_when_the_ranking_settles(space) -> None:
    from hpo.samplers import RandomSampler

    # Curves that never cross: the ranking after one epoch is the final one.
    pasha = PASHA(RandomSampler(space, 0), 81, eta=3, n_configs=81, seed=0)
    drive(pasha, lambda c, e: c["x"] * (1 - 0.5 / e), workers=4)
    assert pasha._top < len(pasha.rung_epochs) - 1  # never went to R
    asha = ASHA(RandomSampler(space, 0), 81, eta=3, n_configs=81, seed=0)
    drive(asha, lambda c, e: c["x"] * (1 - 0.5 / e), workers=4)
    assert pasha.epochs_spent < asha.epochs_spent
    # Curves that cross between the first rungs (fast starters fall behind): it goes on.
    crossing = PASHA(RandomSampler(space, 0), 81, eta=3, n_configs=81, seed=0)
    drive(crossing, lambda c, e: c["x"] if e >= 3 else 1 - c["x"], workers=4)
    assert crossing._top > pasha._top


def test_the_gp_sampler_learns_where_the_good_configurations_are(curves) -> None:
    from hpo._gp import GPSampler

    space = curves.space(numeric=True)
    gp = GPSampler(space, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(40):  # scores at 3 and 27 epochs of random configurations
        config = space.sample(rng)
        cid = curves.nearest(config)
        for epochs in (3, 27):
            gp.observe(
                dict(curves.configs[cid]),
                epochs,
                -float(curves.values["accuracy"][cid, epochs - 1]),
            )
    proposals = [gp.sample() for _ in range(5)]
    assert all(1e-3 < p["lr"] < 1e-1 for p in proposals), proposals  # the good band is near 1e-2


# -- the comparison ------------------------------------------------------------------------------


def test_the_benchmark_ranks_a_sane_method_above_an_upside_down_one(curves) -> None:
    """A method that keeps the worst trials must come out last: the check CI keeps."""
    bench = Benchmark(curves, metric="accuracy", budget=3000, replace=True)
    traces = [bench.run(m, s, w) for m in ("random", "hyperband/random", "asha/random") for s in range(3)
              for w in (1, 8)]  # fmt: skip
    upside = [Trace(t.method.replace("random", "upside-down"), t.seed, t.workers, t.ended_at,
                    t.values * -1 + 2 * t.values.min(), t.busy_fraction, t.busy_while_starting,
                    t.trials) for t in traces if t.method == "asha/random"]  # fmt: skip
    summary = summarise(traces + upside, 3000, [1, 8])
    ranks = {m: c["average_rank"] for m, c in summary["cases"].items()}
    assert ranks["asha/upside-down"] == max(ranks.values())
    assert ranks["asha/random"] < ranks["random"]
    assert summary["cases"]["asha/random"]["speedup_vs_random_epochs"] > 1


def test_hpo_simulate_compares_methods_and_writes_their_curves(table_file, tmp_path) -> None:
    done = hpo("simulate", str(table_file), "--params", "lr,width", "--metric", "accuracy", "--replace",
               "--methods", "random,hyperband/tpe,asha/random,topk/random,optuna-random-sha",
               "--seeds", "2", "--workers", "1,4", "--budget", "2000",
               "--json", str(tmp_path / "q.json"), "--html", str(tmp_path / "q.html"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "speedup" in done.stdout and "optuna-random-sha" in done.stdout
    figures = json.loads((tmp_path / "q.json").read_text())
    assert set(figures["cases"]) == {
        "random",
        "hyperband/tpe",
        "asha/random",
        "topk/random",
        "optuna-random-sha",
    }
    assert (tmp_path / "q.html").stat().st_size > 1000


def test_rank_correlation_reads_how_early_a_ranking_is_right(curves) -> None:
    corr = rank_correlation(curves, "accuracy", [1, 9, 81])
    assert corr["81"] == 1.0 and corr["1"] < corr["9"] < 1.0


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
