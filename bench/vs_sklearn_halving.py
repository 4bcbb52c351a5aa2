"""Training-set size as the budget: our successive halving against scikit-learn's
``HalvingRandomSearchCV`` and ``HalvingGridSearchCV``, side by side in one run.

Same estimator, space, data (digits: the training and validation parts, 1,437 rows, are
what both search on; the 360 test rows stay out) and CV (5 folds). Both sides get the
same options and nothing else: ``factor``/``eta`` 3, ``min_resources`` ('smallest' for the
random search, 'exhaust' for the grid: scikit-learn's defaults), ``max_resources`` all
rows, and the number of candidates left to each side's default (``n_candidates='exhaust'``
for the random search, the whole grid). Our search (``--resource samples``, successive
halving, one worker) then plans scikit-learn's schedule by itself; the benchmark asserts
that the two schedules (``n_candidates_``/``n_resources_`` against our rungs, planned and
run) are identical and says so in its JSON (``identical_schedule``). Both
sides then refit their chosen configuration on all 1,437 rows and score it on the test
rows (scikit-learn's ``refit`` is off inside its timing, as is ``return_train_score``,
so its timing holds nothing but the search).

Figures per case (medians over seeds): ``test_accuracy`` of the chosen configuration,
the search's own ``best_cv_score`` (at the last rung), ``wall_s`` of the search, and
``wall_ratio_vs_sklearn`` (ours over theirs).

    python bench/vs_sklearn_halving.py            # 5 seeds
    python bench/vs_sklearn_halving.py --quick    # 1 seed, under a minute
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_report
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - enables the classes
from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV, StratifiedKFold
from sklearn.svm import SVC

from hpo.launch import run_study
from hpo.settings import SearchSettings
from trainers.data import load_dataset

CASES: dict[str, dict[str, Any]] = {
    "svc-random": {
        "estimator": "sklearn.svm:SVC",
        "make": lambda: SVC(),
        "space": {
            "C": {"type": "float", "low": 0.01, "high": 1000.0, "log": True},
            "gamma": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
        },
        "sklearn": {"C": loguniform(0.01, 1000.0), "gamma": loguniform(1e-5, 0.1)},
        "grid": False,
        "min_resources": "smallest",
    },
    "forest-grid": {
        "estimator": "sklearn.ensemble:RandomForestClassifier",
        "make": lambda: RandomForestClassifier(n_estimators=50),
        "fixed": {"n_estimators": 50},
        "space": {
            "max_depth": {"grid": [4, 8, 16, None]},
            "max_features": {"grid": ["sqrt", "log2", 0.3]},
            "min_samples_split": {"grid": [2, 5, 10]},
            "criterion": {"grid": ["gini", "entropy"]},
        },
        "sklearn": {
            "max_depth": [4, 8, 16, None],
            "max_features": ["sqrt", "log2", 0.3],
            "min_samples_split": [2, 5, 10],
            "criterion": ["gini", "entropy"],
        },
        "grid": True,
        "min_resources": "exhaust",
    },
}
CV = 5


def search_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ds = load_dataset("digits")
    X = np.concatenate([ds.X_train, ds.X_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    return X, y, ds.X_test, ds.y_test


def run_sklearn(case: dict[str, Any], seed: int, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    folds = StratifiedKFold(CV, shuffle=True, random_state=0)
    common = {"factor": 3, "cv": folds, "refit": False, "return_train_score": False, "n_jobs": 1,
              "min_resources": case["min_resources"], "max_resources": "auto"}  # fmt: skip
    if case["grid"]:
        search = HalvingGridSearchCV(case["make"](), case["sklearn"], **common)
    else:
        search = HalvingRandomSearchCV(case["make"](), case["sklearn"], random_state=seed, **common)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "best_cv_score": float(search.best_score_),
        "config": dict(search.best_params_),
        "schedule": {
            "n_candidates": [int(n) for n in search.n_candidates_],
            "n_resources": [int(n) for n in search.n_resources_],
        },
    }


def run_ours(case: dict[str, Any], seed: int) -> dict[str, Any]:
    """Our successive halving with the same options as scikit-learn's (no copied schedule)."""
    settings = SearchSettings.from_dict({
        "space": case["space"], "scheduler": "sh", "sampler": "grid" if case["grid"] else "random",
        "eta": 3, "seed": seed, "resource": "samples", "min_resources": case["min_resources"],
        "trainer": "trainers.sklearn_samples:SubsampleTrainer",
        "trainer_options": {"estimator": case["estimator"], "cv": CV, "fixed": case.get("fixed", {})},
        "dataset": "digits", "executor": "serial",
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        outcome = run_study(settings, Path(tmp) / "s.db", "halving")
        wall = time.perf_counter() - start
    s = outcome.scheduler
    best = s.trials[s.best_trial]
    rungs = s.planned_brackets()[0].rungs
    # What really ran: the trials that reached each rung (every one refits there once).
    ran = [sum(t.epochs >= r.epochs for t in s.trials.values()) for r in rungs]
    return {"wall_s": wall, "best_cv_score": float(s.best_value), "config": dict(best.config),
            "schedule": {"n_candidates": [r.n_trials for r in rungs],
                         "n_resources": [r.epochs for r in rungs], "ran": ran}}  # fmt: skip


def same_schedule(ours: dict[str, list[int]], theirs: dict[str, list[int]]) -> bool:
    """Ours planned and ran scikit-learn's ``n_candidates_`` on its ``n_resources_``."""
    return (
        ours["n_candidates"] == theirs["n_candidates"] == ours["ran"]
        and ours["n_resources"] == theirs["n_resources"]
    )


def test_accuracy(case: dict[str, Any], config: dict[str, Any], seed: int, data: tuple) -> float:
    X, y, X_test, y_test = data
    model = clone(case["make"]()).set_params(**config)
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    return float(model.fit(X, y).score(X_test, y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--seeds", type=int, default=None)
    args = parser.parse_args()
    seeds = list(range(args.seeds or (1 if args.quick else 5)))
    data = search_data()
    cases: dict[str, Any] = {}
    for name, case in CASES.items():
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "sklearn": []}
        for seed in seeds:
            theirs = run_sklearn(case, seed, data[0], data[1])
            ours = run_ours(case, seed)
            if not same_schedule(ours["schedule"], theirs["schedule"]):
                raise SystemExit(
                    f"{name}: the schedules differ: ours {ours['schedule']}, "
                    f"scikit-learn's {theirs['schedule']}"
                )
            for side, run in (("sklearn", theirs), ("ours", ours)):
                run["test_accuracy"] = test_accuracy(case, run["config"], seed, data)
                runs[side].append(run)
            print(name, seed, {k: (round(v["wall_s"], 2), round(v["test_accuracy"], 4))
                               for k, v in (("ours", ours), ("sklearn", theirs))}, flush=True)  # fmt: skip
        plan = runs["sklearn"][0]["schedule"]
        print(f"{name}: identical schedule on both sides, "
              + " ".join(f"{n}@{r}" for n, r in zip(plan["n_candidates"], plan["n_resources"], strict=True)),
              flush=True)  # fmt: skip
        med = {side: {k: round(statistics.median(r[k] for r in rs), 4)
                      for k in ("wall_s", "test_accuracy", "best_cv_score")}
               for side, rs in runs.items()}  # fmt: skip
        cases[name] = {
            **med,
            "wall_ratio_vs_sklearn": round(med["ours"]["wall_s"] / med["sklearn"]["wall_s"], 3),
            "test_accuracy_gain": round(
                med["ours"]["test_accuracy"] - med["sklearn"]["test_accuracy"], 4
            ),
            "meets_goal_same_score_no_more_time": med["ours"]["test_accuracy"]
            >= med["sklearn"]["test_accuracy"]
            and med["ours"]["wall_s"] <= med["sklearn"]["wall_s"],
            "identical_schedule": all(
                same_schedule(o["schedule"], t["schedule"])
                for o, t in zip(runs["ours"], runs["sklearn"], strict=True)
            ),
            "schedule": {
                "sklearn": runs["sklearn"][0]["schedule"],
                "ours": runs["ours"][0]["schedule"],
            },
            "runs": {
                side: [
                    {
                        k: (round(v, 4) if isinstance(v, float) else v)
                        for k, v in r.items()
                        if k != "schedule"
                    }
                    for r in rs
                ]
                for side, rs in runs.items()
            },
        }
    report = {
        "benchmark": "vs_sklearn_halving",
        "mode": "quick" if args.quick else "full",
        "seeds": len(seeds),
        "data": "digits: 1,437 rows searched (train + validation), 360 test rows",
        "note": "one worker each (n_jobs=1 / serial); both get the same options (factor 3, "
        "min_resources, max_resources, default candidates) and run the identical schedule "
        "(asserted: identical_schedule); "
        "test_accuracy: the chosen configuration refit on all 1,437 rows; medians over seeds",
        "cases": cases,
    }
    write_report("vs_sklearn_halving", report, args.quick)


if __name__ == "__main__":
    main()
