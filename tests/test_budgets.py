"""Budget arithmetic: golden values from the papers and invariants by hypothesis."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpo.budgets import (
    asha_rungs,
    ceil_log2,
    eta_bracket,
    eta_configs,
    floor_log,
    geometric_rungs,
    halving_bracket,
    hyperband_brackets,
    max_bracket_index,
    successive_halving_rounds,
)


def test_hyperband_golden_brackets_r81_eta3() -> None:
    brackets = hyperband_brackets(81, eta=3, min_epochs=1)
    first = [(b.rungs[0].n_trials, b.rungs[0].epochs) for b in brackets]
    assert first == [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]
    assert [(r.n_trials, r.epochs) for r in brackets[0].rungs] == [
        (81, 1), (27, 3), (9, 9), (3, 27), (1, 81),
    ]  # fmt: skip
    assert [(r.n_trials, r.epochs) for r in brackets[1].rungs] == [
        (34, 3),
        (11, 9),
        (3, 27),
        (1, 81),
    ]
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]


def test_integer_logs_avoid_the_floating_point_trap() -> None:
    assert math.log(243, 3) < 5  # the trap the integer loop avoids
    assert floor_log(243, 3) == 5
    assert max_bracket_index(243, 3) == 5
    assert len(hyperband_brackets(243, 3)) == 6
    assert ceil_log2(2520) == 12


def test_report_successive_halving_rounds() -> None:
    """T = ⌈log₂N⌉ − 1, r_t = ⌊B/(|S_t|·⌈log₂N⌉)⌋, keep ⌈|S_t|/2⌉; epochs accumulate."""
    bracket = successive_halving_rounds(5, 300)
    # ⌈log₂5⌉ = 3 rounds: |S| = 5, 3, 2; r = ⌊300/15⌋, ⌊300/9⌋, ⌊300/6⌋ = 20, 33, 50.
    assert [(r.n_trials, r.epochs) for r in bracket.rungs] == [(5, 20), (3, 53), (2, 103)]
    assert bracket.budget == 5 * 20 + 3 * 33 + 2 * 50 <= 300


def test_report_successive_halving_rejects_impossible_inputs() -> None:
    with pytest.raises(ValueError, match="at least 2 configurations"):
        successive_halving_rounds(1, 100)
    with pytest.raises(ValueError, match="smallest workable budget is 24"):
        successive_halving_rounds(8, 23)
    assert successive_halving_rounds(8, 24).rungs[0].epochs == 1


def test_eta_bracket_and_asha_rungs() -> None:
    assert [(r.n_trials, r.epochs) for r in eta_bracket(30, 27, 3).rungs] == [
        (30, 1), (10, 3), (3, 9), (1, 27),
    ]  # fmt: skip
    # Issue 21: rungs start at r and end at R (they used to be anchored at R, as HyperBand's
    # brackets: 1, 3, 11, 33, 100, and (10,) when r = 5, which ignored r).
    assert asha_rungs(100, 3, 1) == (1, 3, 9, 27, 81, 100)
    assert asha_rungs(10, 3, 5) == (5, 10)
    with pytest.raises(ValueError, match="expected n_configs >= 27"):
        eta_bracket(26, 27, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_epochs": 81, "eta": 1}, "eta=1 is invalid"),
        ({"max_epochs": 0, "eta": 3}, "max_epochs=0 is invalid"),
        (
            {"max_epochs": 9, "eta": 3, "min_epochs": 10},
            "min_epochs=10 is larger than max_epochs=9",
        ),
        ({"max_epochs": 9.5, "eta": 3}, "max_epochs=9.5 is invalid"),
    ],
)
def test_bad_hyperband_arguments_are_value_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        hyperband_brackets(**kwargs)


@given(n=st.integers(2, 5000), budget=st.integers(1, 10**6))
def test_report_sh_never_spends_more_than_the_budget(n: int, budget: int) -> None:
    if budget < n * ceil_log2(n):
        with pytest.raises(ValueError):
            successive_halving_rounds(n, budget)
        return
    bracket = successive_halving_rounds(n, budget)
    assert bracket.budget <= budget
    sizes = [r.n_trials for r in bracket.rungs]
    assert sizes[0] == n and len(sizes) == ceil_log2(n)
    assert all(b == -(-a // 2) for a, b in itertools.pairwise(sizes))
    epochs = [r.epochs for r in bracket.rungs]
    assert all(b > a for a, b in itertools.pairwise(epochs)) and epochs[0] >= 1


@given(max_epochs=st.integers(1, 3000), eta=st.integers(2, 6), min_epochs=st.integers(1, 50))
def test_hyperband_invariants(max_epochs: int, eta: int, min_epochs: int) -> None:
    if min_epochs > max_epochs:
        with pytest.raises(ValueError):
            hyperband_brackets(max_epochs, eta, min_epochs)
        return
    brackets = hyperband_brackets(max_epochs, eta, min_epochs)
    s_max = len(brackets) - 1
    assert min_epochs * eta**s_max <= max_epochs < min_epochs * eta ** (s_max + 1)
    for b in brackets:
        sizes = [r.n_trials for r in b.rungs]
        epochs = [r.epochs for r in b.rungs]
        assert all(x >= y for x, y in itertools.pairwise(sizes)), "rung sizes never grow"
        assert all(x <= y for x, y in itertools.pairwise(epochs))
        assert epochs[-1] == max_epochs, "the last rung is at max_epochs"
        assert epochs[0] >= min_epochs
        assert sizes[-1] >= 1
        assert all(y == x // eta for x, y in itertools.pairwise(sizes))


# -- issue 21: --min-epochs is the first rung (ASHA, PASHA, the η form); HyperBand keeps the paper's


@pytest.mark.parametrize(
    ("max_epochs", "eta", "min_epochs", "rungs"),
    [
        (81, 3, 2, (2, 6, 18, 54, 81)),  # the example (was 3, 9, 27, 81)
        (81, 3, 1, (1, 3, 9, 9 * 3, 81)),  # r = 1, R = η^4: unchanged
        (54, 3, 2, (2, 6, 18, 54)),  # R = r·η^3: unchanged
        (100, 3, 1, (1, 3, 9, 27, 81, 100)),
        (27, 3, 27, (27,)),
        (20, 2, 3, (3, 6, 12, 20)),
    ],
)
def test_geometric_rungs_start_at_min_epochs_and_end_at_max_epochs(
    max_epochs: int, eta: int, min_epochs: int, rungs: tuple[int, ...]
) -> None:
    assert geometric_rungs(max_epochs, eta, min_epochs) == rungs
    assert asha_rungs(max_epochs, eta, min_epochs) == rungs
    assert (
        tuple(
            r.epochs
            for r in eta_bracket(eta ** (len(rungs) - 1), max_epochs, eta, min_epochs).rungs
        )
        == rungs
    )


def test_eta_bracket_needs_eta_to_the_number_of_promotions() -> None:
    assert eta_configs(81, 3, 2) == 81  # five rungs: 2, 6, 18, 54, 81
    assert [(r.n_trials, r.epochs) for r in eta_bracket(81, 81, 3, 2).rungs] == [
        (81, 2), (27, 6), (9, 18), (3, 54), (1, 81),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="too few for 5 rungs"):
        eta_bracket(80, 81, 3, 2)


def test_hyperband_keeps_the_papers_brackets_when_min_epochs_is_not_the_first_rung() -> None:
    assert [b.rungs[0].epochs for b in hyperband_brackets(81, 3, 2)] == [3, 9, 27, 81]


@given(max_epochs=st.integers(1, 5000), eta=st.integers(2, 6), min_epochs=st.integers(1, 200))
def test_geometric_rungs_invariants(max_epochs: int, eta: int, min_epochs: int) -> None:
    if min_epochs > max_epochs:
        with pytest.raises(ValueError, match="min_epochs"):
            geometric_rungs(max_epochs, eta, min_epochs)
        return
    rungs = geometric_rungs(max_epochs, eta, min_epochs)
    assert rungs[0] == min_epochs and rungs[-1] == max_epochs
    assert all(b == a * eta for a, b in itertools.pairwise(rungs[:-1]))
    assert all(a < b <= a * eta for a, b in itertools.pairwise(rungs))
    if max_epochs == min_epochs * eta ** max_bracket_index(max_epochs, eta, min_epochs):
        # R is r times a power of η: the rungs are HyperBand's most aggressive bracket
        assert rungs == tuple(
            r.epochs for r in hyperband_brackets(max_epochs, eta, min_epochs)[0].rungs
        )


@given(
    n=st.integers(1, 3000), eta=st.integers(2, 6), r=st.integers(1, 200), R=st.integers(1, 20000)
)
def test_halving_bracket_invariants(n: int, eta: int, r: int, R: int) -> None:
    """scikit-learn's schedule: never a refusal for r <= R; n_{i+1} = ⌈n_i/η⌉ on r·η^i <= R;
    it stops after 1 + ⌊log_η n⌋ rungs or when the next rung would pass R."""
    if r > R:
        with pytest.raises(ValueError, match="min_resources"):
            halving_bracket(n, R, eta, r)
        return
    rungs = halving_bracket(n, R, eta, r).rungs
    sizes, samples = [x.n_trials for x in rungs], [x.epochs for x in rungs]
    assert sizes[0] == n and samples[0] == r
    assert all(b == -(-a // eta) for a, b in itertools.pairwise(sizes))
    assert samples == [r * eta**i for i in range(len(rungs))] and samples[-1] <= R
    # no rung left out: the candidates' iterations are done (1 + ⌊log_η n⌋, scikit-learn's
    # n_required_iterations) or the next rung would pass R
    assert len(rungs) == 1 + floor_log(n, eta) or samples[-1] * eta > R
