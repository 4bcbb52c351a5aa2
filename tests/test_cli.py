"""The `hpo` command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from hpo.store import StudyReader
from tests.conftest import ROOT, hpo

SMALL = ["--executor", "serial", "--max-epochs", "9", "--dataset", "iris"]


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        "name: tiny\n"
        "space:\n"
        "  hidden_layer_sizes: {values: [[8], [16]]}\n"
        "  learning_rate_init: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"
        "  activation: [relu, tanh]\n"
    )
    return str(path)


def test_run_status_best_list_export(tmp_path, space) -> None:
    db = str(tmp_path / "s.db")
    out = hpo("run", space, *SMALL, "--study", "t1", "--storage", db, check=True).stdout
    assert "plan: hyperband, 3 bracket(s), 17 trials" in out
    assert "bracket s=2: 9@1  3@3  1@9" in out
    assert "best val_accuracy" in out and "epochs spent: 69" in out
    assert "next: hpo status t1" in out

    status = hpo("status", "t1", "--storage", db, check=True).stdout
    assert "t1: finished, hyperband, 17 trials, 69 of 69 planned epochs" in status
    best = json.loads(hpo("best", "t1", "--json", "--storage", db, check=True).stdout)
    assert best["trial_id"] >= 0 and 0 < best["value"] <= 1 and "activation" in best["config"]
    assert "t1" in hpo("list", "--storage", db, check=True).stdout
    for suffix in ("csv", "parquet"):
        target = tmp_path / f"t1.{suffix}"
        hpo("export", "t1", "-o", str(target), "--storage", db, check=True)
        frame = pd.read_csv(target) if suffix == "csv" else pd.read_parquet(target)
        assert len(frame) == 69 and "config.activation" in frame.columns


def test_dry_run_prints_the_plan_and_creates_nothing(tmp_path, space) -> None:
    db = tmp_path / "s.db"
    out = hpo(
        "run", space, "--dry-run", "--max-epochs", "81", "--storage", str(db), check=True
    ).stdout
    assert "81@1  27@3  9@9  3@27  1@81" in out
    assert "budget: 1581 epochs" in out
    assert not db.exists()


def test_iterations_repeat_the_brackets_in_the_plan(space) -> None:
    out = hpo(
        "run", space, "--scheduler", "sh", "--budget", "200", "--n-configs", "8",
        "--iterations", "2", "--dry-run", check=True,
    ).stdout  # fmt: skip
    assert "plan: sh, 2 bracket(s), 16 trials" in out
    assert out.count("bracket s=2: 8@8  4@24  2@57") == 2 and "budget: 388 epochs" in out


def test_settings_can_live_in_the_yaml_file(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "scheduler: asha\nmax_epochs: 9\nn_configs: 12\nexecutor: serial\ndataset: wine\nseed: 3\n"
        "space:\n  activation: [relu, tanh]\n  alpha: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}\n"
    )
    db = str(tmp_path / "s.db")
    hpo("run", str(path), "--study", "y", "--storage", db, check=True)
    with StudyReader(db) as r:
        info = r.study("y")
    assert info["scheduler"] == "asha" and info["settings"]["dataset"] == "wine"
    assert info["settings"]["seed"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "bohb"], "Invalid value for '--scheduler'"),
        (["--max-epochs", "0"], "Invalid value for '--max-epochs'"),
        (["--bogus"], "No such option '--bogus'"),
        (["--trainer", "nope.module:Trainer"], "cannot import module 'nope.module'"),
        (
            ["--trainer", "json:JSONDecoder"],
            "lacks the trainer contract's setup, step, save, restore",
        ),
        (
            ["--dataset", "missing.csv", "--target", "y"],
            "dataset file 'missing.csv' does not exist",
        ),
        (["--dataset", "mnist"], "neither a bundled dataset"),
        (
            ["--scheduler", "sh", "--budget", "10", "--n-configs", "8"],
            "smallest workable budget is 24",
        ),
        (
            ["--scheduler", "sh", "--n-configs", "5", "--max-epochs", "27"],
            "expected n_configs >= 27",
        ),
        (["--scheduler", "grid"], "a grid needs finite values for every hyperparameter"),
        (["--min-epochs", "10", "--max-epochs", "9"], "min_epochs=10 is larger than max_epochs=9"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_study(tmp_path, space, args, message) -> None:
    db = tmp_path / "s.db"
    result = hpo("run", space, "--executor", "serial", "--storage", str(db), *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and lines[0].startswith("hpo: ")
    assert "Traceback" not in result.stderr
    assert not db.exists() or pd.read_sql("SELECT * FROM studies", sqlite3.connect(db)).empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("space:\n  lr: [1, 2\n", "malformed YAML (line"),
        ("space:\n  lr: {type: float, low: 1, high: 0}\n", "space.lr: low=1 must be below high=0"),
        ("spaces:\n  lr: [1, 2]\n", "no 'space' key"),
        ("space:\n  lr: [1, 2]\nschedulr: asha\n", "unknown setting 'schedulr'"),
        ("space:\n  hidden_layer_sizes: [[8], [0]]\n", "rejects the space"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_space_files(tmp_path, text, message) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = hpo("run", str(path), "--executor", "serial", "--storage", str(tmp_path / "s.db"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr


def test_missing_space_file_and_study(tmp_path) -> None:
    result = hpo("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "no such file" in result.stderr
    result = hpo("status", "ghost", "--storage", str(tmp_path / "none.db"))
    assert result.returncode == 2 and "no study database" in result.stderr


def _wait_for_epochs(db, n, proc, name, timeout=120.0) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"search ended early: {proc.stderr.read()}")
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                query = "SELECT COUNT(*) FROM epochs JOIN studies USING (study_id) WHERE name = ?"
                if conn.execute(query, (name,)).fetchone()[0] >= n:
                    return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out waiting for epochs")


def _start(space, db, name, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "hpo", "run", space, *SMALL, "--max-epochs", "27", "--study", name,
         "--storage", str(db), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell starts background jobs (as CI does) with SIGINT ignored; give it back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _epochs(db, name) -> pd.DataFrame:
    with StudyReader(db) as r:
        return r.epochs(name)[["trial_id", "epoch", "value", "val_loss"]]


def test_kill_9_then_resume_loses_nothing_and_matches_an_uninterrupted_run(tmp_path, space) -> None:
    db = tmp_path / "s.db"
    slow = ("--trainer", "tests.faulty:Slow")  # long enough to be killed mid-way, every time
    hpo(
        "run",
        space,
        *SMALL,
        "--max-epochs",
        "27",
        "--study",
        "straight",
        "--storage",
        str(db),
        *slow,
        check=True,
    )
    proc = _start(space, db, "killed", *slow)
    _wait_for_epochs(db, 60, proc, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _epochs(db, "killed")
    assert 60 <= len(before) < len(_epochs(db, "straight"))
    out = hpo("resume", "killed", "--storage", str(db), check=True).stdout
    assert "resuming 'killed'" in out
    after = _epochs(db, "killed")
    assert after.equals(_epochs(db, "straight"))
    assert len(before.merge(after, on=["trial_id", "epoch", "value"])) == len(before)


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path, space) -> None:
    db = tmp_path / "s.db"
    proc = _start(space, db, "interrupted", "--trainer", "tests.faulty:Slow")  # ~8 s in all
    _wait_for_epochs(db, 30, proc, "interrupted")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "hpo resume interrupted" in err and "Traceback" not in err
    with StudyReader(db) as r:
        assert r.study("interrupted")["status"] == "interrupted"
    hpo("resume", "interrupted", "--storage", str(db), check=True)
    with StudyReader(db) as r:
        assert r.study("interrupted")["status"] == "finished"
    result = hpo("resume", "interrupted", "--storage", str(db))
    assert result.returncode == 2 and "already finished" in result.stderr


def test_two_searches_on_one_study_the_second_is_refused(tmp_path, space) -> None:
    # The first search waits at a gate after its first epoch, so it is certainly still
    # writing the study while the second search is tried, however loaded the machine is.
    db, gate = tmp_path / "s.db", tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo", "run", space, *SMALL, "--trainer", "tests.faulty:Gated",
         "--study", "busy", "--storage", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HPO_TEST_GATE": str(gate), "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        # Printed once the study is made and its lock held.
        while not (line := proc.stdout.readline()).startswith("study 'busy' in"):
            assert line, f"the first search ended early: {proc.stderr.read()}"
        for args in (["resume", "busy"], ["run", space, *SMALL, "--study", "busy"]):
            result = hpo(*args, "--storage", str(db), env={"HPO_TEST_GATE": str(gate)})
            assert result.returncode == 2
            assert "being written by another search (pid" in result.stderr
            assert "hpo resume" not in result.stderr and "Traceback" not in result.stderr
        assert proc.poll() is None, "the first search was still running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # Once nobody writes it, the same refusal says how to continue it.
    again = hpo("run", space, *SMALL, "--study", "busy", "--storage", str(db))
    assert again.returncode == 2
    assert "already exists" in again.stderr and "continue it with `hpo resume busy`" in again.stderr


def test_simulate_replays_an_exported_study(tmp_path, space) -> None:
    db = str(tmp_path / "s.db")
    hpo(
        "run",
        space,
        *SMALL,
        "--scheduler",
        "random",
        "--n-configs",
        "6",
        "--study",
        "full",
        "--storage",
        db,
        check=True,
    )
    table = tmp_path / "curves.csv"
    hpo("export", "full", "-o", str(table), "--storage", db, check=True)
    out = hpo(
        "simulate",
        str(table),
        "--scheduler",
        "asha",
        "--n-configs",
        "6",
        "--workers",
        "2",
        check=True,
    ).stdout
    assert "simulated asha with 2 workers: 6 trials" in out


def test_help_is_printed_for_a_bare_command() -> None:
    result = hpo()
    assert result.returncode == 0 and "run" in result.stdout and "resume" in result.stdout
    assert os.path.exists(ROOT / "hpo" / "cli" / "__init__.py")  # the CLI is a package (issue 19)


# -- data as users bring it --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A CSV with a categorical column, gaps, a boolean; and one with a numeric target."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(1)
    n = 240
    frame = pd.DataFrame({"size": rng.normal(10, 3, n), "city": rng.choice(["paris", "oslo", "lima"], n),
                          "member": rng.random(n) > 0.5})  # fmt: skip
    frame["label"] = np.where((frame["size"] > 10) ^ (frame["city"] == "oslo"), "yes", "no")
    frame.loc[::7, "size"] = np.nan
    frame.loc[::11, "city"] = None
    frame.to_csv(folder / "messy.csv", index=False)
    prices = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    prices["kind"] = rng.choice(["x", "y"], n)
    prices["price"] = (
        100 + 20 * prices["a"] + np.where(prices["kind"] == "x", 5, -5) + rng.normal(0, 1, n)
    )
    prices.to_csv(folder / "prices.csv", index=False)
    return folder


def test_a_messy_csv_is_preprocessed_and_said_so(messy, tmp_path) -> None:
    done = hpo("run", "search_spaces/mlp.yaml", "--dataset", str(messy / "messy.csv"), "--target", "label",
               "--executor", "serial", "--max-epochs", "3", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "data: 2 categorical column(s) one-hot encoded (city, member -> 5 features)" in done.stdout
    )
    assert "data: missing values imputed in 2 column(s)" in done.stdout
    strict = hpo("run", "search_spaces/mlp.yaml", "--dataset", str(messy / "messy.csv"), "--target", "label",
                 "--no-preprocess", "--executor", "serial", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert strict.returncode == 2 and "non-numeric feature columns: city" in strict.stderr


def test_a_numeric_target_is_searched_as_a_regression(messy, tmp_path) -> None:
    args = ["run", "search_spaces/mlp.yaml", "--dataset", str(messy / "prices.csv"), "--target", "price",
            "--executor", "serial", "--max-epochs", "9", "--storage", str(tmp_path / "s.db")]  # fmt: skip
    wrong = hpo(*args)
    assert wrong.returncode == 2 and "a regression): search --metric val_r2" in wrong.stderr
    done = hpo(*args, "--metric", "val_r2", "--study", "prices")
    assert done.returncode == 0, done.stderr
    best = json.loads(
        hpo("best", "prices", "--json", "--storage", str(tmp_path / "s.db"), check=True).stdout
    )
    assert best["metric"] == "val_r2" and best["value"] > 0.9


def test_library_errors_name_settings_and_the_cli_prints_their_flags(messy) -> None:
    """The refusal above, from Python: it names settings (`metric=val_r2`); the CLI's error
    wrapper prints each as its flag, and leaves a name without a flag as written."""
    from hpo.cli._errors import with_flags
    from hpo.launch import check_trainer
    from hpo.settings import SearchSettings, SettingsError

    settings = SearchSettings.from_file(str(ROOT / "search_spaces" / "mlp.yaml"),
                                        {"dataset": str(messy / "prices.csv"), "target": "price"})  # fmt: skip
    with pytest.raises(SettingsError) as refused:
        check_trainer(settings)
    said = str(refused.value)
    assert "search `metric=val_r2` (mode max) or `metric=val_loss` `mode=min`" in said
    assert with_flags(said).endswith(
        "search --metric val_r2 (mode max) or --metric val_loss --mode min, or give --task classification"
    )
    assert (
        with_flags("`lease_seconds=5`, `space`, `stop_only`")
        == "`lease_seconds=5`, `space`, --stop-only"
    )
