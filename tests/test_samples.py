"""Training-set size as the budget (``--resource samples``): schedulers that refit per
rung, the scikit-learn estimator trainer, and searches through the CLI, Ray and service."""

from __future__ import annotations

import json

import pytest

from hpo.samplers import RandomSampler
from hpo.schedulers import ASHA, HyperBand, SuccessiveHalving
from hpo.space import SearchSpace
from hpo.types import Decision, Report
from tests.conftest import hpo
from trainers.sklearn_samples import SubsampleTrainer

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


def drive_refits(scheduler, workers: int = 3) -> list[tuple[int, int, int]]:
    """Run ``scheduler`` as a samples runner does: one report per assignment, at its end.
    Returns (trial, from, until) of every assignment."""
    running, done = [], []
    while not scheduler.is_finished():
        while len(running) < workers and (s := scheduler.suggest()) is not None:
            running.append(s)
        s = running.pop(0)
        done.append((s.trial_id, s.from_epoch, s.until_epoch))
        value = s.config["x"] * s.until_epoch / scheduler.max_epochs
        decision = scheduler.on_report(Report(s.trial_id, s.until_epoch, value))
        assert isinstance(decision, Decision)
    scheduler.finish()
    return done


def test_successive_halving_pays_a_whole_refit_at_every_rung() -> None:
    sh = SuccessiveHalving(RandomSampler(SPACE, 0), 27, max_epochs=900, eta=3, min_epochs=100,
                           resource="samples")  # fmt: skip
    plan = sh.planned_brackets()[0]
    assert [(r.n_trials, r.epochs) for r in plan.rungs] == [(27, 100), (9, 300), (3, 900)]
    assert sh.planned_budget() == 27 * 100 + 9 * 300 + 3 * 900  # refits, not increments
    assignments = drive_refits(sh)
    assert sh.epochs_spent == sh.planned_budget() == sum(until for _, _, until in assignments)


@pytest.mark.parametrize("make", [
    lambda: HyperBand(RandomSampler(SPACE, 1), 810, eta=3, min_epochs=30, resource="samples"),
    lambda: ASHA(RandomSampler(SPACE, 2), 810, eta=3, min_epochs=30, n_configs=40, resource="samples"),
])  # fmt: skip
def test_every_scheduler_reports_once_per_rung_and_never_overspends(make) -> None:
    scheduler = make()
    assignments = drive_refits(scheduler)
    rungs = {e for b in scheduler.planned_brackets() for e in (r.epochs for r in b.rungs)}
    assert {until for _, _, until in assignments} <= rungs
    assert scheduler.epochs_spent == sum(until for _, _, until in assignments)
    if isinstance(scheduler, HyperBand):
        assert scheduler.epochs_spent == scheduler.planned_budget()


def test_a_report_between_rungs_is_refused() -> None:
    sh = SuccessiveHalving(RandomSampler(SPACE, 0), 9, max_epochs=90, eta=3, min_epochs=10,
                           resource="samples")  # fmt: skip
    s = sh.suggest()
    with pytest.raises(ValueError, match="at samples 5; expected samples 10"):
        sh.on_report(Report(s.trial_id, 5, 0.5))


def test_the_reports_successive_halving_is_refused_with_samples() -> None:
    with pytest.raises(ValueError, match="adds epochs round after round"):
        SuccessiveHalving(RandomSampler(SPACE, 0), 8, budget=400, resource="samples")


# -- the estimator trainer -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def forest():
    return SubsampleTrainer("sklearn.ensemble:RandomForestClassifier", "iris", cv=3,
                            fixed={"n_estimators": 10})  # fmt: skip


def test_every_trial_sees_the_same_subsample_and_folds(forest) -> None:
    forest.setup({"max_depth": 3}, seed=0)
    a = forest.fit(60)
    forest.setup({"max_depth": 3}, seed=0)
    assert forest.fit(60) == a  # deterministic
    assert (
        a["n_samples"] == 60
        and 0.5 < a["val_accuracy"] <= 1.0
        and a["val_score"] == a["val_accuracy"]
    )
    rows_a = forest._subsample(60)[1]
    forest.setup({"max_depth": 5}, seed=7)
    assert (forest._subsample(60)[1] == rows_a).all()


@pytest.mark.parametrize(("config", "message"), [
    ({"depth": 3}, "RandomForestClassifier has no parameter 'depth'"),
    ({"max_depth": -2}, "max_depth"),
    ({"criterion": "loudest"}, "criterion"),
])  # fmt: skip
def test_a_value_the_estimator_rejects_is_a_value_error_at_setup(forest, config, message) -> None:
    with pytest.raises(ValueError, match=message):
        forest.setup(config, seed=0)


# -- through the command line, Ray and the service ---------------------------------------------------

SPACE_YAML = """
trainer: trainers.sklearn_samples:SubsampleTrainer
trainer_options: {estimator: "sklearn.tree:DecisionTreeClassifier", cv: 3}
dataset: digits
resource: samples
space:
  max_depth: {type: int, low: 2, high: 20}
  min_samples_leaf: {type: int, low: 1, high: 20}
  criterion: [gini, entropy]
"""


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "tree.yaml"
    path.write_text(SPACE_YAML)
    return path


def test_a_samples_search_from_the_command_line(space_file, tmp_path) -> None:
    db = str(tmp_path / "s.db")
    done = hpo("run", str(space_file), "--scheduler", "hyperband", "--executor", "serial",
               "--study", "tree", "--storage", db)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "budget: " in done.stdout and "samples (trials@samples at each rung" in done.stdout
    assert "samples spent: " in done.stdout
    best = json.loads(hpo("best", "tree", "--json", "--storage", db, check=True).stdout)
    assert best["epochs"] == 1437 and best["value"] > 0.7  # all samples at the top rung
    from hpo.store import StudyReader

    with StudyReader(db) as r:
        sizes = set(r.epochs("tree")["epoch"])
        settings = r.study("tree")["settings"]
    assert settings["min_resources"] == 2 * 3 * 10 and settings["max_resources"] == 1437
    assert sizes <= {53, 159, 479, 1437}  # rungs anchored at all samples: 1437/27, /9, /3, 1


def test_resources_that_do_not_fit_the_trainer_are_one_line(space_file, tmp_path) -> None:
    db = str(tmp_path / "s.db")
    epochs = hpo("run", str(space_file), "--resource", "epochs", "--storage", db)
    assert epochs.returncode == 2 and "search it with --resource samples" in epochs.stderr
    mlp = hpo("run", "search_spaces/mlp.yaml", "--resource", "samples", "--storage", db)
    assert mlp.returncode == 2 and "--resource samples needs" in mlp.stderr
    too_many = hpo("run", str(space_file), "--max-resources", "5000", "--storage", db)
    assert too_many.returncode == 2 and "more than the 1437 samples" in too_many.stderr


def test_a_samples_search_on_ray(space_file, tmp_path, ray_driver) -> None:
    done = hpo("run", str(space_file), "--scheduler", "asha", "--n-configs", "12", "--workers", "2",
               "--ray-address", ray_driver, "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "samples spent" in done.stdout


def test_a_samples_study_trained_by_a_service_worker(server, tmp_path) -> None:
    from hpo import client as hpo_client

    s = server()
    hpo_client.connect(s.url).create_study("tree", SPACE_YAML, scheduler="sh", n_configs=9,
                                           max_resources=900, min_resources=100)  # fmt: skip
    done = hpo("worker", s.url, "--study", "tree", "--trainer", "trainers.sklearn_samples:SubsampleTrainer",
               "--trainer-options", '{"estimator": "sklearn.tree:DecisionTreeClassifier", "cv": 3}')  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = hpo_client.connect(s.url).study("tree").info()
    assert info["status"] == "finished" and info["epochs_spent"] == 9 * 100 + 3 * 300 + 1 * 900
