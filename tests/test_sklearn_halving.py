"""Issue 21, point 2: under ``--resource samples`` successive halving is scikit-learn's
``HalvingRandomSearchCV``/``HalvingGridSearchCV`` schedule, held against scikit-learn itself.

The cases are those of scikit-learn's own ``sklearn/model_selection/tests/
test_successive_halving.py`` (``test_aggressive_elimination`` without aggressive
elimination, ``test_min_max_resources``, ``test_n_iterations``, ``test_random_search``) and the
three of the issue. Each runs scikit-learn's search (a dummy estimator, so only its schedule
costs anything) and our settings → scheduler path with the same options, and compares
``n_candidates_`` and ``n_resources_`` with our plan and with what our scheduler really runs.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.stats import randint
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - enables the classes
from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

from hpo.budgets import exhaust_min_resources, halving_bracket
from hpo.samplers import RandomSampler
from hpo.schedulers import ASHA, HyperBand, SuccessiveHalving
from hpo.settings import SearchSettings, SettingsError
from hpo.space import SearchSpace
from tests.conftest import hpo
from tests.test_samples import drive_refits

# (n_candidates, factor, min_resources, max_resources, n_samples, cv, kind): kind "grid" is
# HalvingGridSearchCV over n candidates, "random" HalvingRandomSearchCV with n_candidates=n.
CASES: dict[str, tuple[Any, int, Any, Any, int, int, str]] = {
    # test_aggressive_elimination, aggressive_elimination=False ('exhaust': the grid's default)
    "elimination-limited": (60, 3, "exhaust", 180, 1000, 5, "grid"),
    "elimination-unlimited": (60, 3, "exhaust", "auto", 1000, 5, "grid"),
    "elimination-limited-random": (60, 3, "exhaust", 180, 1000, 5, "random"),
    # test_min_max_resources: 6 candidates, factor 3
    **{
        f"min-max-{lo}-{hi}": (6, 3, lo, hi, 1000, 5, "grid")
        for lo, hi in [
            ("smallest", "auto"),
            (50, "auto"),
            ("smallest", 30),
            ("exhaust", "auto"),
            ("exhaust", 1000),
            ("exhaust", 999),
            ("exhaust", 600),
            ("exhaust", 599),
            ("exhaust", 300),
            ("exhaust", 60),
            ("exhaust", 50),
            ("exhaust", 20),
        ]
    },
    # test_n_iterations: 20 candidates, factor 2, min_resources 4, cv 2
    **{
        f"n-iterations-{hi}": (20, 2, 4, hi, 1024, 2, kind)
        for hi in ("auto", 1024, 700, 512, 511, 32, 31, 16, 4)
        for kind in ("grid",)
    },
    "n-iterations-511-random": (20, 2, 4, 511, 1024, 2, "random"),
    # test_random_search: n_candidates 'exhaust' (max_resources // min_resources) or given
    "random-exhaust-512": ("exhaust", 2, 4, 512, 1024, 2, "random"),
    "random-exhaust-32": ("exhaust", 2, 4, 32, 1024, 2, "random"),
    "random-8": (8, 2, 4, 32, 1024, 2, "random"),
    "random-7": (7, 2, 4, 32, 1024, 2, "random"),
    "random-9": (9, 2, 4, 32, 1024, 2, "random"),
    # the issue: ⌈n/η⌉ kept; fewer rungs instead of a refusal; the first rung at min_resources
    "issue-14-candidates": (14, 3, 100, 900, 1437, 5, "random"),
    "issue-7-candidates-32": (7, 2, 4, 32, 1024, 2, "random"),
    "issue-7-candidates-31": (7, 2, 4, 31, 1024, 2, "random"),
}
ISSUE = {
    "issue-14-candidates": ([14, 5, 2], [100, 300, 900]),
    "issue-7-candidates-32": ([7, 4, 2], [4, 8, 16]),
    "issue-7-candidates-31": ([7, 4, 2], [4, 8, 16]),
}


def sklearn_schedule(case: tuple) -> tuple[list[int], list[int]]:
    """scikit-learn's ``n_candidates_`` and ``n_resources_`` for the case, by running it."""
    n, factor, lo, hi, n_samples, cv, kind = case
    X, y = make_classification(n_samples=n_samples, random_state=0)
    common = {"factor": factor, "min_resources": lo, "max_resources": hi, "cv": cv,
              "refit": False, "return_train_score": False}  # fmt: skip
    if kind == "grid":
        search: Any = HalvingGridSearchCV(
            DummyClassifier(), {"random_state": list(range(n))}, **common
        )
    else:
        search = HalvingRandomSearchCV(DummyClassifier(), {"random_state": randint(0, 10**6)},
                                       n_candidates=n, random_state=0, **common)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    return [int(c) for c in search.n_candidates_], [int(r) for r in search.n_resources_]


def our_settings(case: tuple) -> SearchSettings:
    """The same options as our settings, resolved for a data set of the same size."""
    n, factor, lo, hi, n_samples, cv, kind = case
    space = {"x": {"grid": list(range(n))}} if kind == "grid" else {"x": {"type": "float", "low": 0.0, "high": 1.0}}  # fmt: skip
    settings = SearchSettings.from_dict({
        "space": space, "scheduler": "sh", "sampler": "grid" if kind == "grid" else "random",
        "resource": "samples", "eta": factor, "trainer_options": {"cv": cv},
        "n_configs": n if kind == "random" and n != "exhaust" else None,
        "min_resources": lo, "max_resources": None if hi == "auto" else hi,
        "trainer": "trainers.sklearn_samples:SubsampleTrainer", "executor": "serial",
    })  # fmt: skip
    train = n_samples * 4 // 5  # the split does not matter, only the total the trials train on
    data = SimpleNamespace(y_train=np.zeros(train), y_val=np.zeros(n_samples - train), n_classes=2)
    return settings.resolved_for(data)


@pytest.mark.parametrize("name", CASES)
def test_successive_halving_samples_schedule_is_scikit_learns(name: str) -> None:
    case = CASES[name]
    candidates, resources = sklearn_schedule(case)
    if name in ISSUE:
        assert (candidates, resources) == ISSUE[name]
    scheduler = our_settings(case).build_scheduler()
    assert isinstance(scheduler, SuccessiveHalving)
    plan = scheduler.planned_brackets()[0].rungs
    assert [r.n_trials for r in plan] == candidates
    assert [r.epochs for r in plan] == resources
    # and the scheduler runs exactly that: one refit per candidate per rung
    assignments = drive_refits(scheduler)
    assert [sum(until == r for _, _, until in assignments) for r in resources] == candidates


@pytest.mark.parametrize("name", ISSUE)
def test_halving_bracket_issue_examples(name: str) -> None:
    n, factor, lo, hi, *_ = CASES[name]
    rungs = halving_bracket(n, hi, factor, lo).rungs
    assert ([r.n_trials for r in rungs], [r.epochs for r in rungs]) == ISSUE[name]


def test_halving_bracket_counts_logs_with_integers() -> None:
    # scikit-learn's floor(log(243, 3)) is 4: it would plan 5 rungs for 243 candidates on
    # 1 → 243 samples; the integer count gives the 6 its formula means (243 → … → 1).
    rungs = halving_bracket(243, 243, 3, 1).rungs
    assert [r.n_trials for r in rungs] == [243, 81, 27, 9, 3, 1]
    assert [r.epochs for r in rungs] == [1, 3, 9, 27, 81, 243]
    assert exhaust_min_resources(243, 243, 3, 1) == 1


def test_successive_halving_samples_keeps_the_ceiling_when_trials_stop_early() -> None:
    sh = SuccessiveHalving(RandomSampler(SearchSpace.from_dict({"x": [0.1, 0.2, 0.3, 0.4, 0.5]})),
                           5, max_epochs=90, eta=3, min_epochs=10, resource="samples")  # fmt: skip
    # the grid has 5: the plan is scikit-learn's 5@10 2@30 (⌈5/3⌉), the live run the same
    assert [(r.n_trials, r.epochs) for r in sh.planned_brackets()[0].rungs] == [(5, 10), (2, 30)]
    assert sorted(until for _, _, until in drive_refits(sh)) == [10] * 5 + [30] * 2


# -- refusals under --resource samples speak of samples ---------------------------------------------

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


@pytest.mark.parametrize("make", [
    lambda: SuccessiveHalving(RandomSampler(SPACE), 9, max_epochs=10, min_epochs=20, resource="samples"),
    lambda: HyperBand(RandomSampler(SPACE), 10, min_epochs=20, resource="samples"),
    lambda: ASHA(RandomSampler(SPACE), 10, min_epochs=20, n_configs=9, resource="samples"),
])  # fmt: skip
def test_scheduler_samples_refusals_name_resources_not_epochs(make) -> None:
    with pytest.raises(ValueError, match="min_resources=20 is larger than max_resources=10") as e:
        make()
    assert "epoch" not in str(e.value)


def test_scheduler_samples_refusal_of_a_bad_max_resources_names_it() -> None:
    with pytest.raises(ValueError, match="max_resources=0 is invalid") as e:
        ASHA(RandomSampler(SPACE), 0, n_configs=9, resource="samples")
    assert "epoch" not in str(e.value)


def test_settings_min_resources_exhaust_is_sh_only_and_needs_candidates() -> None:
    data = SimpleNamespace(y_train=np.zeros(800), y_val=np.zeros(200), n_classes=2)
    base = {"space": {"x": {"type": "float", "low": 0, "high": 1}}, "resource": "samples",
            "min_resources": "exhaust", "executor": "serial"}  # fmt: skip
    with pytest.raises(SettingsError, match="min_resources=exhaust is successive halving's rule"):
        SearchSettings.from_dict({**base, "scheduler": "hyperband"}).resolved_for(data)
    with pytest.raises(SettingsError, match="give n_configs"):
        SearchSettings.from_dict({**base, "scheduler": "sh"}).resolved_for(data)
    with pytest.raises(SettingsError, match="min_resources='most' is invalid"):
        SearchSettings.from_dict({**base, "min_resources": "most"})
    resolved = SearchSettings.from_dict({**base, "scheduler": "sh", "n_configs": 6}).resolved_for(
        data
    )
    assert (resolved.min_resources, resolved.max_resources) == (333, 1000)  # as scikit-learn's


def test_cli_min_resources_takes_scikit_learns_words(tmp_path) -> None:
    bad = hpo("run", "search_spaces/svc_samples.yaml", "--scheduler", "sh", "--min-resources",
              "most", "--dry-run", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert (
        bad.returncode == 2 and "'most' is not an integer >= 1, smallest or exhaust" in bad.stderr
    )
    done = hpo("run", "search_spaces/svc_samples.yaml", "--scheduler", "sh", "--executor",
               "serial", "--n-configs", "14", "--min-resources", "exhaust", "--dry-run",
               "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    # 1,437 samples, 14 candidates, η = 3: exhaust starts at max(100, ⌊1437/9⌋) = 159
    assert "14@159  5@477  2@1431" in done.stdout, done.stdout
