"""Function-style trials: train(config, trial) in-process, on Ray and through the service."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from hpo.function_trial import ContractError, FunctionTrainer
from hpo.search import run_study
from hpo.settings import SearchSettings
from hpo.store import StudyReader
from tests import functions
from tests.conftest import hpo

SPACE = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}


def settings(trainer: str, **extra) -> SearchSettings:
    return SearchSettings.from_dict(
        {"space": SPACE, "max_epochs": 9, "trainer": trainer, "dataset": None, "executor": "serial",
         **extra}
    )  # fmt: skip


def curves(db, name: str) -> pd.DataFrame:
    with StudyReader(db) as r:
        return r.export_frame(name)[["trial_id", "epoch", "value"]]


def test_a_paused_and_restored_function_continues_exactly() -> None:
    straight = FunctionTrainer(functions.noisy)
    straight.setup({"quality": 0.7}, seed=3)
    want = [straight.step()["val_accuracy"] for _ in range(9)]
    got = []
    trainer = FunctionTrainer(functions.noisy)
    trainer.setup({"quality": 0.7}, seed=3)
    for until in (1, 3, 9):  # pause at each rung, resume on a "new worker" from the state
        while len(got) < until:
            got.append(trainer.step()["val_accuracy"])
        state = pickle.loads(pickle.dumps(trainer.save()))
        trainer = FunctionTrainer(functions.noisy)
        trainer.restore(state)
    assert got == want


def test_a_function_searches_like_the_equivalent_class(tmp_path) -> None:
    run_study(settings("tests.functions:toy"), tmp_path / "s.db", "function")
    run_study(settings("trainers.toy:ToyTrainer"), tmp_path / "s.db", "class")
    pd.testing.assert_frame_equal(
        curves(tmp_path / "s.db", "function"), curves(tmp_path / "s.db", "class")
    )


def test_a_function_that_raises_fails_its_trial_and_the_search_goes_on(tmp_path) -> None:
    outcome = run_study(settings("tests.functions:picky", scheduler="asha", n_configs=20),
                        tmp_path / "s.db", "picky")  # fmt: skip
    with StudyReader(tmp_path / "s.db") as r:
        trials = r.trials("picky")
    failed = trials[trials["status"] == "failed"]
    assert (
        len(failed) > 0 and failed["reason"].str.contains("FloatingPointError: loss exploded").all()
    )
    assert outcome.scheduler.best_trial is not None


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("one_argument", "is a function, but not train(config, trial)"),
        ("lazy", "returned after epoch 0 without reporting epoch 1"),
        ("forgetful", "did not call trial.checkpoint(state) after epoch 1 when told to pause"),
        ("stubborn", "went on training after trial.report() said pause"),
        ("rejects", "rejects the space: quality="),
        ("nope", "has no attribute 'nope'"),
    ],
)
def test_a_function_off_the_contract_is_one_clear_line(tmp_path, function, message) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  quality: {type: float, low: 0.1, high: 1.0}\ndataset: null\n")
    done = hpo("run", str(space), "--trainer", f"tests.functions:{function}", "--executor", "serial",
               "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (
        not (tmp_path / "s.db").exists()
        or "no studies" in hpo("list", "--storage", str(tmp_path / "s.db")).stdout
    )


def test_the_trainer_closes_a_function_waiting_in_report() -> None:
    trainer = FunctionTrainer(functions.toy)
    trainer.setup({"quality": 0.5}, seed=0)
    trainer.step()
    thread = trainer._thread
    trainer.close()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(ContractError):
        lazy = FunctionTrainer(functions.lazy)
        lazy.setup({}, 0)
        lazy.step()


def test_a_function_on_ray_workers(tmp_path, ray_driver) -> None:
    run_study(settings("tests.functions:noisy", executor="ray", workers=2, ray_address=ray_driver),
              tmp_path / "s.db", "ray")  # fmt: skip
    run_study(settings("tests.functions:noisy"), tmp_path / "s.db", "serial")
    pd.testing.assert_frame_equal(
        curves(tmp_path / "s.db", "ray"), curves(tmp_path / "s.db", "serial")
    )


def test_a_function_as_a_service_worker(server) -> None:
    from hpo import client as hpo_client

    s = server()
    hpo_client.connect(s.url).create_study("fn", SPACE, max_epochs=9)
    done = hpo(
        "worker", s.url, "--study", "fn", "--trainer", "tests.functions:noisy", "--dataset", ""
    )
    assert done.returncode == 0, done.stderr
    assert "the study is finished" in done.stdout
    s.stop()
    run_study(settings("tests.functions:noisy"), s.db, "local")
    pd.testing.assert_frame_equal(curves(s.db, "fn"), curves(s.db, "local"))
