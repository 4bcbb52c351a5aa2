"""Issue 21, point 3: ``--min-epochs`` is the first rung of ASHA, PASHA and the η form of
successive halving (rungs ``r, rη, rη², …`` and ``R``, as the ASHA paper, Optuna, Syne Tune
and Ray Tune), while HyperBand keeps the paper's brackets ``R·η^(−s)``; and every reader of
rungs (the schedulers' decisions, ``hpo run --dry-run``, the dashboard, the simulator and
``hpo simulate``, the service) sees the same rungs."""

from __future__ import annotations

import json

import pytest

from hpo.dashboard._data import _planned_brackets
from hpo.launch import make_plan
from hpo.samplers import RandomSampler
from hpo.schedulers import ASHA, PASHA, HyperBand, SuccessiveHalving
from hpo.settings import SearchSettings
from hpo.simulate import build_table_scheduler, simulate_table
from hpo.tables import synthetic_curves
from tests.conftest import drive, hpo

R, r, ETA = 81, 2, 3
RUNGS = (2, 6, 18, 54, 81)  # the example; today's code judged at 3, 9, 27, 81
SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}}

SCHEDULERS = {
    "asha": lambda s: ASHA(s, R, eta=ETA, min_epochs=r, n_configs=81),
    "asha-stop-only": lambda s: ASHA(s, R, eta=ETA, min_epochs=r, n_configs=81, stop_only=True),
    "asha-budget": lambda s: ASHA(s, R, eta=ETA, min_epochs=r, budget=1000),
    "pasha": lambda s: PASHA(s, R, eta=ETA, min_epochs=r, n_configs=81),
    "sh-eta": lambda s: SuccessiveHalving(s, 81, max_epochs=R, eta=ETA, min_epochs=r),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_first_judgement_is_at_min_epochs(name: str, space) -> None:
    scheduler, suggestions, decisions = drive(SCHEDULERS[name](RandomSampler(space, 0)))
    assert suggestions[0].until_epoch == r
    assert {s.until_epoch for s in suggestions} <= set(RUNGS)
    judged = {epoch for _, epoch, _ in decisions if epoch in RUNGS}
    assert {2, 6} <= judged  # judgements at r and rη, not at 3 and 9
    assert all(t.epochs in RUNGS for t in scheduler.trials.values())
    if name != "pasha":  # PASHA may settle below R
        assert tuple(r.epochs for r in scheduler.planned_brackets()[0].rungs) == RUNGS
        assert max(t.epochs for t in scheduler.trials.values()) == R


def test_hyperband_keeps_the_papers_brackets(space) -> None:
    hb = HyperBand(RandomSampler(space, 0), R, eta=ETA, min_epochs=r)
    assert [[x.epochs for x in b.rungs] for b in hb.planned_brackets()] == [
        [3, 9, 27, 81], [9, 27, 81], [27, 81], [81],
    ]  # fmt: skip


def _settings(scheduler: str) -> SearchSettings:
    return SearchSettings.from_dict({"space": SPACE, "scheduler": scheduler, "max_epochs": R,
                                     "min_epochs": r, "eta": ETA, "executor": "serial"})  # fmt: skip


@pytest.mark.parametrize("scheduler", ["asha", "pasha", "sh"])
def test_every_reader_of_rungs_sees_min_epochs_first(scheduler: str) -> None:
    settings = _settings(scheduler)
    built = settings.build_scheduler()  # the tuner, `hpo run`, the service's studies
    assert tuple(x.epochs for x in built.planned_brackets()[0].rungs) == RUNGS
    plan = make_plan(settings, built).lines()  # `hpo run --dry-run`, the service's plan
    # by default enough trials start for one to reach R (81@2 … 1@81, not 49@2 … 0@81)
    assert plan[1].split()[2].startswith("81@2") and plan[1].split("   ")[0].endswith(" 1@81")
    dashboard = _planned_brackets(json.dumps(settings.to_dict()))  # the dashboard's rung lines
    assert [e for _, e in dashboard[0]["rungs"]] == list(RUNGS)
    simulated = build_table_scheduler(
        synthetic_curves(300, R), scheduler=scheduler, max_epochs=R, min_epochs=r, eta=ETA
    )  # `hpo simulate`
    assert tuple(x.epochs for x in simulated.planned_brackets()[0].rungs) == RUNGS


def test_dry_run_prints_rungs_from_min_epochs(tmp_path) -> None:
    done = hpo("run", "search_spaces/mlp.yaml", "--scheduler", "asha", "--min-epochs", "2",
               "--max-epochs", "81", "--dry-run", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    rungs = done.stdout.splitlines()[1].split("   ")[0].split()[2:]
    assert [int(x.split("@")[1]) for x in rungs] == list(RUNGS)


def test_simulate_judges_first_at_min_epochs() -> None:
    result = simulate_table(synthetic_curves(200, R), scheduler="asha", max_epochs=R, min_epochs=r,
                            eta=ETA, n_configs=81, workers=4)  # fmt: skip
    reached = sorted({t.epochs for t in result.scheduler.trials.values()})
    assert reached == list(RUNGS)  # stopped at 2, 6, …: none at 3, 9 or 27
