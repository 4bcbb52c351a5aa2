"""Exact rung membership and decisions, pinned on known learning curves."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.samplers import GridSampler, RandomSampler
from hpo.schedulers import (
    ASHA,
    CurveExtrapolation,
    HyperBand,
    MedianStopping,
    Patience,
    RandomSearch,
    SuccessiveHalving,
    TrialRecord,
    TrialStatus,
)
from hpo.schedulers._stopping import extrapolate
from hpo.space import SearchSpace
from hpo.types import Decision, EventKind, Report
from tests.conftest import curve, drive


def grid(values: list[float]) -> GridSampler:
    return GridSampler(SearchSpace.from_dict({"x": values}))


def rung_members(scheduler, bracket: int = 0) -> list[list[float]]:
    """The x of the trials that reached each rung of a synchronous bracket."""
    b = scheduler.brackets[bracket]
    return [sorted(scheduler.trials[t].config["x"] for t in r) for r in b.results]


def test_report_sh_keeps_the_better_half_each_round() -> None:
    xs = [0.1, 0.8, 0.3, 0.6, 0.2, 0.7, 0.5, 0.4]
    scheduler, _, _ = drive(SuccessiveHalving(grid(xs), 8, budget=240), workers=3)
    assert rung_members(scheduler) == [sorted(xs), [0.5, 0.6, 0.7, 0.8], [0.7, 0.8]]
    assert scheduler.epochs_spent == 240
    best = scheduler.trials[scheduler.best_trial]
    assert (best.config["x"], best.epochs) == (0.8, 70)
    completed = sorted(
        t.config["x"] for t in scheduler.trials.values() if t.status is TrialStatus.COMPLETED
    )
    assert completed == [0.7, 0.8]


def test_report_sh_iterations_repeat_the_bracket_with_new_configurations() -> None:
    xs = [0.1, 0.8, 0.3, 0.6, 0.2, 0.7, 0.5, 0.4, 0.15, 0.85, 0.35, 0.65, 0.25, 0.75, 0.55, 0.45]
    scheduler, _, _ = drive(SuccessiveHalving(grid(xs), 8, budget=240, iterations=2), workers=3)
    assert rung_members(scheduler, 0) == [sorted(xs[:8]), [0.5, 0.6, 0.7, 0.8], [0.7, 0.8]]
    assert rung_members(scheduler, 1)[-1] == [0.75, 0.85]
    assert scheduler.epochs_spent == 480 == scheduler.planned_budget()
    assert scheduler.trials[scheduler.best_trial].config["x"] == 0.85


def test_report_sh_with_odd_n_keeps_the_ceiling_of_half() -> None:
    xs = [0.1, 0.5, 0.3, 0.4, 0.2]
    scheduler, _, _ = drive(SuccessiveHalving(grid(xs), 5, budget=300), workers=2)
    assert rung_members(scheduler) == [sorted(xs), [0.3, 0.4, 0.5], [0.4, 0.5]]
    assert [t.epochs for t in sorted(scheduler.trials.values(), key=lambda t: t.config["x"])] == [
        20, 20, 53, 103, 103,
    ]  # fmt: skip


def test_hyperband_rungs_hold_the_top_third() -> None:
    xs = [round(0.05 * i, 2) for i in range(1, 20)]  # 19 configurations, in a fixed order
    scheduler, _, _ = drive(HyperBand(grid(xs), 9, eta=3), workers=4)
    # Bracket s=2: 9 trials at 1 epoch, the best 3 at 3 epochs, the best 1 at 9.
    first9 = xs[:9]
    assert rung_members(scheduler, 0) == [sorted(first9), sorted(first9)[-3:], [max(first9)]]
    # Bracket s=1: n = ⌈3·3/2⌉ = 5 trials at 3 epochs, the best ⌊5/3⌋ = 1 at 9.
    next5 = xs[9:14]
    assert rung_members(scheduler, 1) == [sorted(next5), [max(next5)]]
    # Bracket s=0: 3 trials straight to 9 epochs.
    assert rung_members(scheduler, 2) == [sorted(xs[14:17])]
    assert scheduler.epochs_spent == scheduler.planned_budget() == 9 + 6 + 6 + 15 + 6 + 27


def test_asha_promotes_in_the_order_of_the_paper() -> None:
    xs = [0.5, 0.9, 0.1, 0.7, 0.8, 0.2, 0.3, 0.6, 0.4]
    scheduler = ASHA(grid(xs), 9, eta=3, n_configs=9)
    drive(scheduler, workers=1)
    promotions = [
        (scheduler.trials[e.trial_id].config["x"], e.epoch)
        for e in scheduler.pop_events()
        if e.kind is EventKind.PROMOTE
    ]
    # After 3 trials the best (0.9) goes to rung 1; after 6, 0.8 joins it; after 9, 0.7.
    # Rung 1 then holds 3 trials, so its best (0.9) goes on to rung 2 (9 epochs).
    assert promotions == [(0.9, 1), (0.8, 1), (0.7, 1), (0.9, 3)]
    assert scheduler.trials[scheduler.best_trial].config["x"] == 0.9


def test_asha_never_waits_for_a_rung_to_fill() -> None:
    scheduler = ASHA(
        RandomSampler(SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})),
        27,
        n_configs=50,
    )
    for _ in range(8):  # eight workers ask at once: all get work
        assert scheduler.suggest() is not None


def test_asha_stop_only_continues_the_top_third_and_stops_the_rest() -> None:
    xs = [0.5, 0.9, 0.1, 0.7]
    scheduler = ASHA(grid(xs), 9, eta=3, n_configs=4, stop_only=True)
    _, _, decisions = drive(scheduler, workers=1)
    at_rung0 = [(scheduler.trials[t].config["x"], d) for t, e, d in decisions if e == 1]
    assert at_rung0 == [
        (0.5, Decision.CONTINUE),  # first at the rung: continues (as Ray Tune's ASHA)
        (0.9, Decision.CONTINUE),  # rank 1 of 2, top max(1, 0) = 1
        (0.1, Decision.STOP),  # rank 3 of 3
        (0.7, Decision.STOP),  # rank 2 of 4, top 1
    ]
    assert all(t.status.is_over for t in scheduler.trials.values())
    assert not any(e.kind is EventKind.PAUSE for e in scheduler.pop_events())


def test_random_search_trains_every_trial_to_max_epochs() -> None:
    scheduler, _, _ = drive(RandomSearch(grid([0.1, 0.2, 0.3]), 3, 9))
    assert [t.epochs for t in scheduler.trials.values()] == [9, 9, 9]
    assert all(t.status is TrialStatus.COMPLETED for t in scheduler.trials.values())


def record(scores: list[float], trial_id: int = 0) -> TrialRecord:
    t = TrialRecord(trial_id, {}, 0)
    t.scores = list(scores)
    t.best_score = min(scores)
    t.epochs = len(scores)
    return t


class _Stub:
    max_epochs = 100


def test_patience_stops_after_n_epochs_without_improvement() -> None:
    rule = Patience(patience=3, tol=0.01)
    rule.bind(_Stub())
    t = TrialRecord(0, {}, 0)
    stopped_at = None
    for epoch, score in enumerate([1.0, 0.8, 0.795, 0.79, 0.85, 0.7], start=1):
        rule.observe(t, epoch, score)
        if stopped_at is None and rule.should_stop(t, epoch, score):
            stopped_at = epoch
    assert stopped_at == 5  # best 0.8 at epoch 2; 0.795 and 0.79 are within tol


def test_median_stopping_compares_with_the_median_running_mean() -> None:
    rule = MedianStopping(grace_epochs=2, min_trials=3)
    rule.bind(_Stub())
    others = [[0.5, 0.4], [0.6, 0.5], [0.4, 0.3]]  # running means at epoch 2: .45 .55 .35
    for i, scores in enumerate(others):
        t = record(scores, i)
        for e, s in enumerate(scores, start=1):
            rule.observe(t, e, s)
    good, bad = record([0.5, 0.42], 10), record([0.7, 0.6], 11)
    for t in (good, bad):
        for e, s in enumerate(t.scores, start=1):
            rule.observe(t, e, s)
    assert rule.should_stop(good, 1, 0.5) is None  # grace period
    assert rule.should_stop(good, 2, 0.42) is None  # 0.42 <= median of 5 running means
    assert "median stopping at epoch 2" in rule.should_stop(bad, 2, 0.6)


def test_extrapolation_predicts_power_law_curves() -> None:
    t = np.arange(1, 21)
    prediction, sigma = extrapolate(0.2 + 0.5 * t**-0.5, 200)
    assert prediction == pytest.approx(0.2 + 0.5 * 200**-0.5, abs=1e-9)
    assert sigma < 1e-9


def test_extrapolation_stops_hopeless_trials_only() -> None:
    rule = CurveExtrapolation(min_points=5, margin=0.0)
    rule.bind(_Stub())
    t = np.arange(1, 11)
    leader = record(list(-0.9 + 0.5 * t**-1.0), 0)  # heading for a score of -0.9
    hopeless = record(list(-0.5 + 0.3 * t**-1.0), 1)  # heading for -0.5
    promising = record(list(-0.95 + 0.9 * t**-0.5), 2)  # slow but heading below -0.9
    for trial in (leader, hopeless, promising):
        for e, s in enumerate(trial.scores, start=1):
            rule.observe(trial, e, s)
    assert "cannot beat the best" in rule.should_stop(hopeless, 10, hopeless.scores[-1])
    assert rule.should_stop(promising, 10, promising.scores[-1]) is None
    assert rule.should_stop(leader, 10, leader.scores[-1]) is None


def test_stopping_rule_splits_assignments_at_its_check_points() -> None:
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    scheduler = RandomSearch(RandomSampler(space), 2, 9, stopping=[Patience(2, check_every=2)])
    s = scheduler.suggest()
    assert (s.from_epoch, s.until_epoch) == (0, 1)  # rung 1 comes before the check at 2
    scheduler.on_report(Report(s.trial_id, 1, curve(dict(s.config), 1)))
    s = scheduler.suggest()
    assert (s.from_epoch, s.until_epoch, s.resume) == (1, 2, True)


def test_median_stopping_saves_epochs_with_hyperband() -> None:
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    plain, _, _ = drive(HyperBand(RandomSampler(space, 1), 27))
    ruled, _, _ = drive(
        HyperBand(RandomSampler(space, 1), 27, stopping=[MedianStopping(check_every=1)])
    )
    assert ruled.epochs_spent < plain.epochs_spent
    stops = [e for e in ruled.pop_events() if e.kind is EventKind.STOP and "median" in e.reason]
    assert stops
