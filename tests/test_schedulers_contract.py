"""One contract, every scheduler: valid decisions, no retraining, pickling, budgets, errors."""

from __future__ import annotations

import math
import pickle

import pytest

from hpo.samplers import GridSampler, RandomSampler, TPESampler
from hpo.schedulers import (
    ASHA,
    CurveExtrapolation,
    GridSearch,
    HyperBand,
    MedianStopping,
    Patience,
    RandomSearch,
    SuccessiveHalving,
    TrialStatus,
)
from hpo.space import SearchSpace
from hpo.types import Decision, EventKind, Report
from tests.conftest import curve, drive

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
GRID = SearchSpace.from_dict({"x": [0.1 * i for i in range(1, 10)]})

FACTORIES = {
    "sh-report": lambda: SuccessiveHalving(RandomSampler(SPACE, 0), 8, budget=240),
    "sh-eta": lambda: SuccessiveHalving(RandomSampler(SPACE, 0), 27, max_epochs=27, eta=3),
    "hyperband": lambda: HyperBand(RandomSampler(SPACE, 0), 27, eta=3),
    "hyperband-tpe": lambda: HyperBand(TPESampler(SPACE, 0), 9, eta=3),
    "asha": lambda: ASHA(RandomSampler(SPACE, 0), 27, eta=3, n_configs=40),
    "asha-budget": lambda: ASHA(RandomSampler(SPACE, 0), 27, eta=3, budget=200),
    "asha-stop-only": lambda: ASHA(RandomSampler(SPACE, 0), 27, n_configs=40, stop_only=True),
    "random": lambda: RandomSearch(RandomSampler(SPACE, 0), 6, 9),
    "grid": lambda: GridSearch(GridSampler(GRID), 9),
    "hyperband-median": lambda: HyperBand(
        RandomSampler(SPACE, 0), 27, stopping=[MedianStopping(check_every=2)]
    ),
    "asha-patience": lambda: ASHA(
        RandomSampler(SPACE, 0), 27, n_configs=30, stopping=[Patience(3, check_every=1)]
    ),
    "random-extrapolation": lambda: RandomSearch(
        RandomSampler(SPACE, 0), 12, 27, stopping=[CurveExtrapolation(check_every=3)]
    ),
}


@pytest.fixture(params=sorted(FACTORIES))
def make(request):
    return FACTORIES[request.param]


def test_scheduler_runs_to_the_end_with_valid_decisions(make) -> None:
    scheduler, _suggestions, decisions = drive(make())
    assert scheduler.is_finished()
    assert all(t.status.is_over for t in scheduler.trials.values()), "no trial left paused"
    assert scheduler.n_running == 0
    assert scheduler.epochs_spent == len(decisions)
    assert any(t.status is TrialStatus.COMPLETED for t in scheduler.trials.values())
    assert scheduler.best_trial is not None and math.isfinite(scheduler.best_value)
    # Every decision before the end of an assignment is CONTINUE, unless a rule fired.
    events = scheduler.pop_events()
    assert {e.kind for e in events} >= {EventKind.START, EventKind.COMPLETE}
    started = [e.trial_id for e in events if e.kind is EventKind.START]
    assert sorted(started) == sorted(scheduler.trials)


def test_scheduler_spends_within_its_budget(make) -> None:
    scheduler, _, _ = drive(make())
    budget = getattr(scheduler, "budget", None)
    if budget is not None:
        assert scheduler.epochs_spent <= budget
    if isinstance(scheduler, (SuccessiveHalving, HyperBand, RandomSearch)) and not scheduler.rules:
        assert scheduler.epochs_spent == scheduler.planned_budget()


def test_scheduler_pickles_mid_search_and_carries_on_identically(make) -> None:
    straight, s1, d1 = drive(make())
    pickled, s2, d2 = drive(make(), pickle_every=3)
    assert d1 == d2
    assert [s.trial_id for s in s1] == [s.trial_id for s in s2]
    assert straight.best_trial == pickled.best_trial


def test_same_seed_same_search(make) -> None:
    _, s1, d1 = drive(make())
    _, s2, d2 = drive(make())
    assert d1 == d2 and [dict(s.config) for s in s1] == [dict(s.config) for s in s2]


def test_reports_out_of_order_are_refused(make) -> None:
    scheduler = make()
    s = scheduler.suggest()
    with pytest.raises(ValueError, match="expected epoch 1"):
        scheduler.on_report(Report(s.trial_id, 2, 0.5))
    with pytest.raises(ValueError, match="trial 999, which is unknown"):
        scheduler.on_report(Report(999, 1, 0.5))


def test_diverged_trial_stops_at_once(make) -> None:
    scheduler = make()
    s = scheduler.suggest()
    assert scheduler.on_report(Report(s.trial_id, 1, float("nan"))) is Decision.STOP
    assert scheduler.trials[s.trial_id].status is TrialStatus.DIVERGED
    assert [e.kind for e in scheduler.pop_events()][-1] is EventKind.DIVERGE
    # And the search still finishes around it.
    finished, _, _ = drive(scheduler)
    assert finished.is_finished()


def test_failed_trial_is_recorded_and_the_search_goes_on(make) -> None:
    scheduler = make()
    s = scheduler.suggest()
    scheduler.on_failure(s.trial_id, "RuntimeError: boom")
    assert scheduler.trials[s.trial_id].status is TrialStatus.FAILED
    finished, _, _ = drive(scheduler)
    assert finished.is_finished()


def test_minimise_mode_prefers_low_values() -> None:
    def loss(config: dict, epoch: int) -> float:
        return 1.0 - curve(config, epoch)

    scheduler, _, _ = drive(HyperBand(RandomSampler(SPACE, 0), 27, mode="min"), loss)
    best = scheduler.trials[scheduler.best_trial]
    assert best.config["x"] > 0.9
    assert scheduler.best_value == pytest.approx(loss(best.config, best.epochs))


def test_schedulers_pickle_with_their_samplers() -> None:
    for make in FACTORIES.values():
        scheduler = make()
        scheduler.suggest()
        pickle.loads(pickle.dumps(scheduler))
