"""hpo report (the best model, evaluated as the report does) and hpo compare (against Optuna)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from hpo.compare import METHODS, budget_for, compare
from hpo.report import best_model_report
from hpo.settings import SearchSettings
from tests.conftest import hpo

SPACE = {
    "hidden_layer_sizes": {"values": [[8], [16]]},
    "activation": ["relu", "tanh"],
    "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    db = tmp_path_factory.mktemp("rep") / "s.db"
    space = db.parent / "space.yaml"
    space.write_text(json.dumps({"space": SPACE}))  # JSON is YAML too
    hpo("run", str(space), "--executor", "serial", "--dataset", "wine", "--max-epochs", "9",
        "--study", "w", "--storage", str(db), check=True)  # fmt: skip
    return db


def test_report_evaluates_the_best_model_on_the_test_split_and_by_cv(study) -> None:
    report = best_model_report(study, "w", n_splits=3, n_repeats=2)
    n_test = sum(row["support"] for row in report["per_class"])
    assert n_test == sum(map(sum, report["confusion"])) == 36  # 20% of wine's 178 rows
    correct = sum(report["confusion"][i][i] for i in range(3))
    assert report["test_accuracy"] == pytest.approx(correct / n_test)
    assert len(report["roc"]) == 3 and all(0.5 <= r["auc"] <= 1.0 for r in report["roc"])
    assert len(report["cv"]["scores"]) == 6 and 0.5 < report["cv"]["mean"] <= 1.0
    assert report["epochs"] >= 1 and report["trial_id"] >= 0


def test_report_command_prints_and_saves(study) -> None:
    out = hpo("report", "w", "--repeats", "1", "--storage", str(study), check=True).stdout
    assert "test accuracy" in out and "repeated stratified cross-validation accuracy" in out
    rows = sqlite3.connect(study).execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    assert rows >= 1


def test_report_of_a_missing_study_is_one_line(study) -> None:
    result = hpo("report", "nope", "--storage", str(study))
    assert result.returncode == 2 and "no study named 'nope'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_compare_gives_every_method_the_same_budget_and_seeds() -> None:
    settings = SearchSettings.from_dict({"space": SPACE, "dataset": "iris", "max_epochs": 9})
    result = compare(settings, [0, 1], METHODS, name="t")
    budget = budget_for(settings)
    assert budget == 69 == result["budget"]
    per_seed = [r for r in result["table"] if r["seed"] != "median"]
    assert {(r["method"], r["seed"]) for r in per_seed} == {(m, s) for m in METHODS for s in (0, 1)}
    for row in per_seed:
        assert 0.5 * budget <= row["epochs"] <= budget, row
        assert 0.0 <= row["test_accuracy"] <= 1.0 and 0.0 < row["best_val_accuracy"] <= 1.0
    medians = [r for r in result["table"] if r["seed"] == "median"]
    assert [r["method"] for r in medians] == list(METHODS)
    assert set(result["curves"]) == set(METHODS)
    assert all(c["epochs"] and c["best"] for c in result["curves"].values())


def test_compare_command_writes_table_html_and_database(tmp_path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(json.dumps({"space": SPACE, "dataset": "iris", "max_epochs": 3}))
    db, html = tmp_path / "s.db", tmp_path / "c.html"
    out = hpo("compare", str(space), "--seeds", "1", "--methods", "hyperband,optuna-tpe-hyperband",
              "--name", "c", "--storage", str(db), "--html", str(html), check=True).stdout  # fmt: skip
    assert "hyperband" in out and "optuna-tpe-hyperband" in out and "median" in out
    assert html.exists() and "compare-epochs" in html.read_text()
    assert sqlite3.connect(db).execute("SELECT name FROM comparisons").fetchone()[0] == "c"
    bad = hpo("compare", str(space), "--methods", "bohb", "--storage", str(db))
    assert bad.returncode == 2 and "--methods 'bohb' is unknown" in bad.stderr
