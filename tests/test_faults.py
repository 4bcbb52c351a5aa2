"""Faults: a killed driver, failing trainers, an unwritable database. Nothing recorded is lost."""

from __future__ import annotations

import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hpo.runners import SerialRunner
from hpo.settings import SearchSettings, TrainerSpec
from hpo.store import StudyReader
from hpo.tuner import MemoryRecorder, Tuner
from hpo.types import EventKind
from tests.conftest import ROOT, hpo

SLOW = ("--trainer", "tests.faulty:Slow")  # 20 ms epochs: a search long enough to kill mid-way
RUN = ("--dataset", "iris", "--max-epochs", "9")


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text(
        "space:\n  hidden_layer_sizes: {values: [[8], [16]]}\n  activation: [relu, tanh]\n"
        "  learning_rate_init: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"
    )
    return str(path)


def epochs_of(db: Path, name: str) -> pd.DataFrame:
    with StudyReader(db) as r:
        return r.epochs(name)[["trial_id", "epoch", "value", "val_loss"]]


def count(db: Path, name: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            query = "SELECT COUNT(*) FROM epochs JOIN studies USING (study_id) WHERE name = ?"
            return conn.execute(query, (name,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def default_sigint() -> None:
    """Children get Ctrl-C back: a shell runs background jobs (CI) with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_at(args: list[str], db: Path, name: str, after: int) -> pd.DataFrame:
    """Start `hpo run`, SIGKILL it once ``after`` epochs are recorded; return what was recorded."""
    proc = subprocess.Popen([sys.executable, "-m", "hpo", "run", *args, "--study", name, "--storage", str(db)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)  # fmt: skip
    deadline = time.time() + 300  # a guard against a hang, not a timing: CI machines are busy
    while count(db, name) < after:
        assert proc.poll() is None, f"the search ended before epoch {after}: {proc.stderr.read()}"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with StudyReader(db) as r:
        assert r.study(name)["status"] == "running", "killed mid-search, not after it"
    return epochs_of(db, name)


# 10 seeded moments among the first 50 of 69 epochs (the last assignments train 9 epochs
# at a time, so a later kill could land after the search ended).
MOMENTS = sorted(random.Random(2026).sample(range(1, 50), 10))


def test_serial_search_killed_at_ten_moments_resumes_to_the_exact_same_result(
    space, tmp_path
) -> None:
    db = tmp_path / "s.db"
    hpo(
        "run",
        space,
        *RUN,
        *SLOW,
        "--executor",
        "serial",
        "--study",
        "straight",
        "--storage",
        str(db),
        check=True,
    )
    straight = epochs_of(db, "straight")
    assert len(straight) == 69
    for i, moment in enumerate(MOMENTS):
        name = f"killed{i}"
        before = kill_at([space, *RUN, *SLOW, "--executor", "serial"], db, name, moment)
        hpo("resume", name, "--storage", str(db), check=True)
        after = epochs_of(db, name)
        assert after.equals(straight), f"killed after {moment} epochs"
        kept = before.merge(after, on=["trial_id", "epoch", "value", "val_loss"])
        assert len(kept) == len(before), "every epoch recorded before the kill is still there"


def test_ray_search_killed_at_ten_moments_completes_and_keeps_everything(
    space, tmp_path, ray_address
) -> None:
    db = tmp_path / "r.db"
    ray = ["--executor", "ray", "--workers", "2", "--ray-address", ray_address]
    for i, moment in enumerate(MOMENTS):
        name = f"ray{i}"
        before = kill_at([space, *RUN, *SLOW, *ray], db, name, moment)
        result = hpo("resume", name, "--storage", str(db))
        assert result.returncode == 0, result.stderr
        after = epochs_of(db, name)
        with StudyReader(db) as r:
            info, trials = r.study(name), r.trials(name)
        assert info["status"] == "finished"
        assert len(trials) == 17 and len(after) == info["epochs_spent"] == 69
        assert not after.duplicated(["trial_id", "epoch"]).any()
        kept = before.merge(after, on=["trial_id", "epoch", "value", "val_loss"])
        assert len(kept) == len(before), f"killed after {moment} epochs: recorded epochs were lost"


@pytest.mark.parametrize("executor", ["serial", "ray"])
def test_raising_nan_and_hanging_trainers_fail_their_trials_and_the_search_goes_on(
    executor, request
) -> None:
    if executor == "ray":
        request.getfixturevalue("ray_driver")
    settings = SearchSettings.from_dict(
        {"space": {"activation": ["relu", "tanh"], "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1}},
         "dataset": "iris", "scheduler": "hyperband", "max_epochs": 9}
    )  # fmt: skip
    outcomes = {}
    for kind in ("Raising", "NaNing", "Hanging"):
        spec = TrainerSpec(f"tests.faulty:{kind}", "iris")
        data = spec.load_dataset()
        if executor == "serial":
            runner = SerialRunner(lambda spec=spec, data=data: spec.build(data), trial_timeout=1.0)
        else:
            from hpo.runners._ray import RayRunner

            runner = RayRunner(spec, 2, dataset=data, trial_timeout=1.0)
        recorder = MemoryRecorder()
        scheduler = settings.build_scheduler()
        Tuner(scheduler, runner, recorder, max_failures=0).run()
        getattr(runner, "close", lambda: None)()
        assert scheduler.is_finished(), kind
        ended = {
            e.trial_id: e for e in recorder.events if e.kind in (EventKind.FAIL, EventKind.DIVERGE)
        }
        tanh = {t for t, rec in scheduler.trials.items() if rec.config["activation"] == "tanh"}
        assert set(ended) == tanh, kind  # exactly the faulty trials, and every one of them
        outcomes[kind] = {(e.kind, e.reason.split(":")[0]) for e in ended.values()}
        assert any(rec.status.value == "completed" for rec in scheduler.trials.values()), (
            "the rest went on"
        )
    assert outcomes["Raising"] == {(EventKind.FAIL, "RuntimeError")}
    assert outcomes["NaNing"] == {(EventKind.DIVERGE, "objective is NaN or infinite")}
    assert {kind for kind, _ in outcomes["Hanging"]} == {EventKind.FAIL}
    assert all("timeout" in reason.lower() for _, reason in outcomes["Hanging"])


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_stops_the_search_with_one_line_and_the_database_stays_readable(
    space, tmp_path
) -> None:
    db = tmp_path / "full.db"
    # No file may grow past 1 MB: as if the disk filled up mid-search.
    result = subprocess.run(
        [sys.executable, "-m", "hpo", "run", space, "--dataset", "iris", "--max-epochs", "81", "--executor",
         "serial", "--study", "full", "--storage", str(db)],
        cwd=ROOT, capture_output=True, text=True, preexec_fn=_limit_file_size(1_000_000),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to the study database" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    recorded = epochs_of(db, "full")
    assert len(recorded) > 0
    status = hpo("status", "full", "--storage", str(db))
    assert status.returncode == 0 and "full: interrupted" in status.stdout
    # With space again, the search resumes and finishes; nothing recorded was lost.
    hpo("resume", "full", "--storage", str(db), check=True)
    after = epochs_of(db, "full")
    assert len(recorded.merge(after, on=["trial_id", "epoch", "value"])) == len(recorded)


def _read_only(directory: Path) -> Path:
    """The same files, read-only: a bind mount as root (root ignores file modes), chmod otherwise."""
    if os.geteuid() != 0:
        for path in directory.iterdir():
            path.chmod(0o444)
        directory.chmod(0o555)
        return directory
    view = directory.with_name(directory.name + "-ro")
    view.mkdir()
    subprocess.run(["mount", "--bind", str(directory), str(view)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
    return view


def test_a_read_only_database_is_a_clear_error_and_stays_readable(space, tmp_path) -> None:
    home = tmp_path / "db"
    home.mkdir()
    db = home / "s.db"
    hpo(
        "run",
        space,
        *RUN,
        "--executor",
        "serial",
        "--study",
        "done",
        "--storage",
        str(db),
        check=True,
    )
    view = _read_only(home)
    try:
        result = hpo(
            "run",
            space,
            *RUN,
            "--executor",
            "serial",
            "--study",
            "new",
            "--storage",
            str(view / "s.db"),
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert (
            len(lines) == 1 and "read" in lines[0].lower() and "Traceback" not in result.stderr
        ), result.stderr
        status = hpo("status", "done", "--storage", str(view / "s.db"))
        assert status.returncode == 0 and "done: finished" in status.stdout, status.stderr
    finally:
        if view != home:
            subprocess.run(["umount", str(view)], check=False)
