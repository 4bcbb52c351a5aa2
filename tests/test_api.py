"""``hpo.search``: the front door from a script or a notebook.

The notebook flow runs as a user's script would (a function defined in ``__main__``, a
Python space with a condition), on Ray and serially; an interrupt returns the result so far
and ``resume=True`` finishes it; ``hpo.search`` and ``hpo run`` record the same study.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import hpo
from hpo.cli import cli
from hpo.settings import SearchSettings, SettingsError
from hpo.store import StudyReader

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """\
import sys, time
import hpo

import os

# "gate": after 4 epochs the function waits for a file named go (the test interrupts it
# there); else seconds per epoch. A global the function uses travels with it (by value).
GATE = sys.argv[4] == "gate"
PAUSE = 0.0 if GATE else float(sys.argv[4])
DONE = []

def train(config, trial):
    acc = (trial.restore() or {"acc": 0.0})["acc"]
    for epoch in trial.epochs():
        time.sleep(PAUSE)
        DONE.append(epoch)
        if GATE and len(DONE) == 5:
            open("blocked", "w").close()
            while not os.path.exists("go"):
                time.sleep(0.05)
        gain = config["opt"]["lr"] * (2.0 if config["opt"]["name"] == "adam"
                                      else 1.0 + config["opt"]["momentum"])
        acc += gain
        if trial.report(epoch, {"val_accuracy": acc}, checkpoint={"acc": acc}) != "continue":
            break

space = {"opt": {"name": hpo.choice(["sgd", "adam"]), "lr": hpo.loguniform(1e-3, 1e-1),
                 "momentum": hpo.uniform(0.0, 0.9, when={"opt.name": "sgd"})}}
resume = sys.argv[3] == "resume"
if sys.argv[3] == "resume-without-trainer":
    try:
        hpo.search(study="nb", storage=sys.argv[1], resume=True)
    except hpo.SettingsError as exc:
        print("refused:", exc)
    sys.exit(0)
result = hpo.search(train, None if resume else space, study="nb", storage=sys.argv[1],
                    resume=resume, progress=False,
                    **({} if resume else {"scheduler": "asha", "max_epochs": 9,
                                          "executor": sys.argv[2], "workers": 2}))
print(repr(result))
print("best", result.best.trial_id, sorted(result.best.config["opt"]))
trials = result.trials
print("trials", len(trials), "curves", len(result.curves), "traces", len(result.plot().data) > 0)
sgd = trials["config.opt.name"] == "sgd"
print("inactive-empty", bool(trials.loc[~sgd, "config.opt.momentum"].isna().all()))
loaded = hpo.load("nb", storage=sys.argv[1])
print("load-equal", loaded.trials.equals(trials))
"""


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "notebook.py"
    path.write_text(SCRIPT)
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(_script(tmp_path)), *args], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_a_function_defined_in_main_searched_on_ray_with_a_conditional_python_space(
    tmp_path,
) -> None:
    """The notebook flow on Ray: ``train`` lives in ``__main__`` and reaches the workers
    by value; the trainer gets nested configs without inactive hyperparameters."""
    db = tmp_path / "s.db"
    done = _run(tmp_path, str(db), "ray", "new", "0")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "<Result 'nb': asha, finished, " in out
    assert "inactive-empty True" in out and "load-equal True" in out and "traces True" in out
    with StudyReader(db) as r:
        assert r.study("nb")["settings"]["trainer"] == "__main__:train"
        workers = set(r.epochs("nb")["worker"])
    assert len(workers) == 2, workers  # two Ray workers trained it


def test_ctrl_c_returns_the_result_so_far_and_resume_true_finishes_it(tmp_path) -> None:
    db = tmp_path / "s.db"
    proc = subprocess.Popen([sys.executable, str(_script(tmp_path)), str(db), "serial", "new", "gate"],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            # a shell runs background jobs (CI) with SIGINT ignored: give it back
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "blocked").exists():  # the 5th epoch held
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)  # slack for the signal to land before the held epoch is let go
    (tmp_path / "go").touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted: everything recorded is kept; continue with hpo.search(train, " in out
    assert "study='nb', resume=True)" in out and "<Result 'nb': asha, interrupted" in out
    refused = _run(tmp_path, str(db), "serial", "resume-without-trainer", "0")
    assert refused.stdout.strip() == (
        "refused: study 'nb' was searched with __main__:train, defined in a script or notebook; "
        "hand it over again: hpo.search(train, study='nb', resume=True)"
    )
    resumed = _run(tmp_path, str(db), "serial", "resume", "0")
    assert resumed.returncode == 0, resumed.stderr
    assert "<Result 'nb': asha, finished, " in resumed.stdout
    with sqlite3.connect(db) as conn:
        twice = conn.execute("SELECT trial_id, epoch, COUNT(*) FROM epochs GROUP BY trial_id, "
                             "epoch HAVING COUNT(*) > 1").fetchall()  # fmt: skip
    assert twice == []  # resumed, never retrained


SPACE_YAML = """\
space:
  quality: {type: float, low: 0.1, high: 1.0}
  opt.name: [sgd, adam]
  opt.momentum: {type: float, low: 0.5, high: 0.99, when: {opt.name: sgd}}
fixed:
  batch: 32
"""


def _recorded(db: Path, name: str) -> tuple[list, list]:
    with sqlite3.connect(db) as conn:
        epochs = conn.execute(
            "SELECT trial_id, epoch, metrics FROM epochs JOIN studies USING (study_id) "
            "WHERE name = ? ORDER BY trial_id, epoch", (name,)).fetchall()  # fmt: skip
        trials = conn.execute(
            "SELECT trial_id, config, seed, bracket, trials.status, trials.epochs FROM trials "
            "JOIN studies USING (study_id) WHERE name = ? ORDER BY trial_id", (name,)).fetchall()  # fmt: skip
    return epochs, trials


def test_hpo_search_and_hpo_run_record_the_same_study(tmp_path) -> None:
    """Same space, same seed: ``hpo.search`` (Python objects) and ``hpo run`` (YAML) make
    the same decisions, epoch for epoch."""
    space_file = tmp_path / "toy.yaml"
    space_file.write_text(SPACE_YAML)
    db = tmp_path / "s.db"
    common = ["--trainer", "trainers.toy:ToyTrainer", "--max-epochs", "9", "--seed", "3",
              "--executor", "serial", "--scheduler", "asha", "--storage", str(db)]  # fmt: skip
    ran = CliRunner().invoke(cli, ["run", str(space_file), "--study", "cli", *common])
    assert ran.exit_code == 0, ran.output
    from trainers.toy import ToyTrainer

    space = {"quality": hpo.uniform(0.1, 1.0),
             "opt": {"name": hpo.choice(["sgd", "adam"]),
                     "momentum": hpo.uniform(0.5, 0.99, when={"opt.name": "sgd"})},
             "batch": 32}  # fmt: skip
    result = hpo.search(ToyTrainer, space, study="py", storage=db, max_epochs=9, seed=3,
                        executor="serial", scheduler="asha", progress=False)  # fmt: skip
    assert result.info["status"] == "finished"
    assert _recorded(db, "py") == _recorded(db, "cli")
    assert len(_recorded(db, "py")[0]) > 20


def test_search_takes_every_setting_of_hpo_run_with_its_default() -> None:
    params = inspect.signature(hpo.search).parameters
    for f in dataclasses.fields(SearchSettings):
        if f.name in ("space", "fixed", "trainer"):  # trainer=None: the settings' default
            continue
        assert f.name in params, f.name
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        assert params[f.name].default == default, f.name
    assert list(params)[:2] == ["trainer", "space"]


def test_bad_calls_are_one_line(tmp_path) -> None:
    with pytest.raises(SettingsError, match="unknown setting 'shceduler'"):
        hpo.search("trainers.toy:ToyTrainer", {"q": hpo.uniform(0, 1)}, shceduler="asha")
    with pytest.raises(SettingsError, match="no space"):
        hpo.search("trainers.toy:ToyTrainer")
    with pytest.raises(SettingsError, match="give its name: study="):
        hpo.search(resume=True)
    with pytest.raises(SettingsError, match="scheduler cannot change"):
        hpo.search(study="x", resume=True, scheduler="asha")


def test_a_scheduler_object_is_the_settings_it_stands_for(tmp_path) -> None:
    """``scheduler=hpo.ASHA(max_epochs=9, eta=3)`` records what ``scheduler="asha",
    max_epochs=9, eta=3`` records: the same study, epoch for epoch, and the same settings."""
    db = tmp_path / "s.db"
    space = {"quality": hpo.uniform(0.1, 1.0), "batch": 32}
    common = {"storage": db, "seed": 3, "executor": "serial", "progress": False}
    by_name = hpo.search("trainers.toy:ToyTrainer", space, study="name", scheduler="asha",
                         max_epochs=9, eta=3, min_epochs=1, **common)  # fmt: skip
    by_object = hpo.search("trainers.toy:ToyTrainer", space, study="object",
                           scheduler=hpo.ASHA(max_epochs=9, eta=3, min_epochs=1), **common)  # fmt: skip
    assert by_object.info["status"] == by_name.info["status"] == "finished"
    assert _recorded(db, "object") == _recorded(db, "name")
    assert by_object.info["settings"]["scheduler"] == "asha"
    assert by_object.info["settings"] == by_name.info["settings"]
    hyperband = hpo.search("trainers.toy:ToyTrainer", space, study="hb",
                           scheduler=hpo.HyperBand(max_epochs=9, mode="max"), **common)  # fmt: skip
    assert hyperband.info["settings"]["scheduler"] == "hyperband"
    assert hyperband.info["settings"]["max_epochs"] == 9
    from hpo.registry import settings_of
    from hpo.types import Mode

    assert settings_of(hpo.HyperBand(max_epochs=9, mode=Mode.MIN))["mode"] == "min"


def test_a_scheduler_object_that_is_not_settings_is_one_line() -> None:
    from hpo.samplers import RandomSampler
    from hpo.space import SearchSpace

    space = {"q": hpo.uniform(0, 1)}
    built = hpo.ASHA(RandomSampler(SearchSpace.from_dict({"q": {"type": "float", "low": 0,
                                                                 "high": 1}}), 0), 9)  # fmt: skip
    cases = [
        (built, "without a sampler"),
        (hpo.ASHA(max_epochs=9, budget_aware=False), "budget_aware is not a setting"),
        (hpo.OneEpochTopK(n_configs=9, max_epochs=9, k=2), "k is not a setting"),
        (object(), "object is not a registered scheduler"),
    ]
    for scheduler, message in cases:
        with pytest.raises(SettingsError, match=message):
            hpo.search("trainers.toy:ToyTrainer", space, scheduler=scheduler, executor="serial")
    with pytest.raises(SettingsError, match="max_epochs given twice"):
        hpo.search("trainers.toy:ToyTrainer", space, scheduler=hpo.ASHA(max_epochs=9),
                   max_epochs=27)  # fmt: skip
    with pytest.raises(RuntimeError, match="has no sampler"):
        hpo.ASHA(max_epochs=9).suggest()
