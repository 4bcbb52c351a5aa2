"""Function-style trials: train(config, trial) in-process, on Ray and through the service."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from hpo.function_trial import ContractError, FunctionTrainer
from hpo.launch import run_study
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


# -- issue 21: every unambiguous checkpoint order, and functions that keep no state ----------

#: ``noisy`` written with each order of checkpoint and report a user may write.
ORDERS = ["checkpoint_first", "checkpoint_with_report", "checkpoint_every_epoch",
          "checkpoint_first_own_loop"]  # fmt: skip
#: Schedulers that pause trials, and the settings of those that never do.
PAUSING = ["hyperband", "sh", "asha"]
NEVER_PAUSING = [{"scheduler": "asha", "stop_only": True}, {"scheduler": "random"}]


@pytest.mark.parametrize("function", ORDERS)
def test_function_trainer_resumes_exactly_whichever_side_of_its_report_it_checkpoints(
    function,
) -> None:
    straight = FunctionTrainer(functions.noisy)
    straight.setup({"quality": 0.7}, seed=3)
    want = [straight.step()["val_accuracy"] for _ in range(9)]
    got = []
    trainer = FunctionTrainer(getattr(functions, function))
    trainer.setup({"quality": 0.7}, seed=3)
    for until in (1, 3, 9):
        while len(got) < until:
            got.append(trainer.step()["val_accuracy"])
        state = pickle.loads(pickle.dumps(trainer.save()))
        assert state["epoch"] == until
        trainer = FunctionTrainer(getattr(functions, function))
        trainer.restore(state)
    assert got == want


@pytest.mark.parametrize("function", ORDERS)
def test_function_search_is_the_same_whichever_side_of_its_report_it_checkpoints(
    tmp_path, function
) -> None:
    run_study(settings("tests.functions:noisy"), tmp_path / "s.db", "noisy")
    run_study(settings(f"tests.functions:{function}"), tmp_path / "s.db", function)
    pd.testing.assert_frame_equal(curves(tmp_path / "s.db", function),
                                  curves(tmp_path / "s.db", "noisy"))  # fmt: skip


def test_function_trainer_refuses_a_checkpoint_of_an_earlier_epoch() -> None:
    def every_other(config: dict, trial) -> None:
        for epoch in trial.epochs():
            told = trial.report(epoch, {"val_accuracy": 0.5})
            if epoch % 2:
                trial.checkpoint(epoch)
            if told != "continue":
                break

    trainer = FunctionTrainer(every_other)
    trainer.setup({}, seed=0)
    trainer.step(), trainer.step()
    with pytest.raises(ContractError, match="its last checkpoint was the state after epoch 1"):
        trainer.save()


def test_function_trainer_refuses_a_pause_after_a_checkpoint_of_its_own_loop_continue() -> None:
    trainer = FunctionTrainer(functions.checkpoint_after_continue_own_loop)
    trainer.setup({"quality": 0.5}, seed=0)
    trainer.step(), trainer.step(), trainer.step()
    with pytest.raises(ContractError) as refused:  # its only state is the one after epoch 2
        trainer.save()
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert "after epoch 3 when told to pause" in message
    assert "taken after report(2) said continue in a loop of its own" in message
    assert "is the state after epoch 2" in message
    remedy = "checkpoint before report(3) or with it (trial.report(3, metrics, checkpoint=state))"
    assert remedy in message
    assert message.endswith("or loop with trial.epochs()")


@pytest.mark.parametrize("function", ["checkpoint_every_epoch_own_loop",
                                      "checkpoint_first_own_loop"])  # fmt: skip
def test_function_trainer_labels_a_checkpoint_of_its_own_loop_by_its_order(function) -> None:
    straight = FunctionTrainer(functions.noisy)
    straight.setup({"quality": 0.7}, seed=3)
    want = [straight.step()["val_accuracy"] for _ in range(9)]
    got = []
    trainer = FunctionTrainer(getattr(functions, function))
    trainer.setup({"quality": 0.7}, seed=3)
    for until in (2, 5, 9):  # paused after continues: each state is the one after its epoch
        while len(got) < until:
            got.append(trainer.step()["val_accuracy"])
        state = pickle.loads(pickle.dumps(trainer.save()))
        trainer = FunctionTrainer(getattr(functions, function))
        trainer.restore(state)
    assert got == want


@pytest.mark.parametrize("scheduler", PAUSING)
def test_function_without_state_is_refused_before_a_pausing_search_in_one_line(
    tmp_path, scheduler
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  quality: {type: float, low: 0.1, high: 1.0}\ndataset: null\n")
    done = hpo("run", str(space), "--trainer", "tests.functions:stateless", "--scheduler", scheduler,
               "--executor", "serial", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"it keeps no state, and {scheduler} pauses trials" in done.stderr
    assert "--scheduler asha --stop-only" in done.stderr and "--scheduler random" in done.stderr
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("extra", NEVER_PAUSING, ids=["asha-stop-only", "random"])
def test_function_without_state_runs_under_a_scheduler_that_never_pauses(tmp_path, extra) -> None:
    lines: list[str] = []
    run_study(settings("tests.functions:noisy", **extra), tmp_path / "s.db", "noisy")
    run_study(settings("tests.functions:stateless", **extra), tmp_path / "s.db", "stateless",
              on_start=lambda plan: lines.extend(plan.lines()))  # fmt: skip
    pd.testing.assert_frame_equal(curves(tmp_path / "s.db", "stateless"),
                                  curves(tmp_path / "s.db", "noisy"))  # fmt: skip
    said = [line for line in lines if "keeps no state" in line]
    assert len(said) == 1 and "never pauses a trial" in said[0]


def test_function_without_state_says_so_in_one_line_of_the_plan(tmp_path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  quality: {type: float, low: 0.1, high: 1.0}\ndataset: null\n")
    done = hpo("run", str(space), "--trainer", "tests.functions:stateless", "--scheduler", "asha",
               "--stop-only", "--max-epochs", "9", "--executor", "serial",
               "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if "keeps no state" in line]
    assert said == [
        "trainer: tests.functions:stateless keeps no state (it never checkpoints): it runs, since "
        "asha with stop_only never pauses a trial; each trial trains in one call, and a trial "
        "whose worker is lost fails"
    ]


def test_function_trainer_without_state_cannot_continue_in_another_call() -> None:
    trainer = FunctionTrainer(functions.stateless, keeps_state=False)
    trainer.setup({"quality": 0.5}, seed=0)
    trainer.step()
    state = trainer.save()
    assert trainer._thread is not None  # still in its call: the trial goes on in it
    trainer.step()
    trainer.close()
    with pytest.raises(ContractError, match="keeps no state"):
        FunctionTrainer(functions.stateless, keeps_state=False).restore(state)


def test_mentions_checkpoint_reads_helpers_and_a_declaration() -> None:
    from hpo.function_trial import mentions_checkpoint

    def helper_user(config: dict, trial) -> None:
        functions.checkpoint_first(config, trial)

    def declared(config: dict, trial) -> None:
        pass

    declared.keeps_state = True  # type: ignore[attr-defined]
    assert mentions_checkpoint(helper_user) and mentions_checkpoint(declared)
    assert mentions_checkpoint(functions.checkpoint_with_report)
    assert not mentions_checkpoint(functions.stateless)
    assert not mentions_checkpoint(functions.forgetful)


# -- the same on Ray workers ---------------------------------------------------------------------


@pytest.mark.parametrize("function", ORDERS)
def test_function_checkpoint_orders_on_ray_workers(tmp_path, ray_driver, function) -> None:
    run_study(settings(f"tests.functions:{function}", executor="ray", workers=2,
                       ray_address=ray_driver), tmp_path / "s.db", "ray")  # fmt: skip
    run_study(settings("tests.functions:noisy"), tmp_path / "s.db", "serial")
    pd.testing.assert_frame_equal(
        curves(tmp_path / "s.db", "ray"), curves(tmp_path / "s.db", "serial")
    )


@pytest.mark.parametrize(
    ("extra", "workers"),
    # ASHA decides as reports arrive: with one worker its order is the serial runner's.
    [({"scheduler": "asha", "stop_only": True}, 1), ({"scheduler": "random"}, 2)],
    ids=["asha-stop-only", "random"],
)
def test_function_without_state_on_ray_workers(tmp_path, ray_driver, extra, workers) -> None:
    from hpo.settings import SettingsError

    on_ray = {"executor": "ray", "workers": workers, "ray_address": ray_driver}
    with pytest.raises(SettingsError, match="it keeps no state, and hyperband pauses trials"):
        run_study(settings("tests.functions:stateless", **on_ray), tmp_path / "s.db", "refused")
    run_study(settings("tests.functions:stateless", **on_ray, **extra), tmp_path / "s.db", "ray")
    run_study(settings("tests.functions:noisy", **extra), tmp_path / "s.db", "serial")
    pd.testing.assert_frame_equal(
        curves(tmp_path / "s.db", "ray"), curves(tmp_path / "s.db", "serial")
    )


# -- the same through the service's client -----------------------------------------------------------


@pytest.mark.parametrize("function", ORDERS)
def test_function_checkpoint_orders_as_a_service_worker(server, function) -> None:
    from hpo import client as hpo_client

    s = server()
    hpo_client.connect(s.url).create_study("fn", SPACE, max_epochs=9)
    done = hpo("worker", s.url, "--study", "fn", "--trainer", f"tests.functions:{function}",
               "--dataset", "")  # fmt: skip
    assert done.returncode == 0, done.stderr
    s.stop()
    run_study(settings("tests.functions:noisy"), s.db, "local")
    pd.testing.assert_frame_equal(curves(s.db, "fn"), curves(s.db, "local"))


@pytest.mark.parametrize("function", ORDERS)
def test_function_checkpoint_orders_through_study_run(server, function) -> None:
    from hpo import client as hpo_client

    s = server()
    with hpo_client.connect(s.url) as c:
        c.create_study("fn", SPACE, max_epochs=9).run(getattr(functions, function))
    s.stop()
    run_study(settings("tests.functions:noisy"), s.db, "local")
    pd.testing.assert_frame_equal(curves(s.db, "fn"), curves(s.db, "local"))


def test_study_run_refuses_a_pause_after_a_checkpoint_of_its_own_loop_continue(server) -> None:
    from hpo import client as hpo_client

    s = server()
    with hpo_client.connect(s.url) as c:
        study = c.create_study("fn", SPACE, max_epochs=9, scheduler="asha", min_epochs=2,
                               n_configs=2)  # fmt: skip
        # It pauses at 2 having kept only the state after 1.
        study.run(functions.checkpoint_after_continue_own_loop)
        trials = study.trials_table()
    paused = [t for t in trials if t["status"] == "failed"]  # ASHA may stop the other at once
    assert paused and all(t["status"] in ("failed", "stopped") for t in trials)
    assert all("after epoch 2 when told to pause" in t["reason"] and
               "is the state after epoch 1" in t["reason"] for t in paused)  # fmt: skip


def test_function_without_state_is_refused_by_a_service_worker_before_any_work(server) -> None:
    from hpo import client as hpo_client

    s = server()
    with hpo_client.connect(s.url) as c:
        study = c.create_study("fn", SPACE, max_epochs=9)
        with pytest.raises(ContractError, match="it keeps no state, and hyperband pauses trials"):
            study.run(functions.stateless)
        done = hpo("worker", s.url, "--study", "fn", "--trainer", "tests.functions:stateless",
                   "--dataset", "")  # fmt: skip
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "--scheduler asha --stop-only" in done.stderr
        assert study.info()["n_trials"] == 0


def test_function_without_state_runs_as_a_service_worker_when_nothing_pauses(server) -> None:
    from hpo import client as hpo_client

    s = server()
    stop_only = {"scheduler": "asha", "stop_only": True}
    with hpo_client.connect(s.url) as c:
        c.create_study("fn", SPACE, max_epochs=9, **stop_only).run(functions.stateless)
        c.create_study("cli", SPACE, max_epochs=9, **stop_only)
    done = hpo("worker", s.url, "--study", "cli", "--trainer", "tests.functions:stateless",
               "--dataset", "")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "trainer: tests.functions:stateless keeps no state" in done.stdout
    s.stop()
    run_study(settings("tests.functions:noisy", **stop_only), s.db, "local")
    pd.testing.assert_frame_equal(curves(s.db, "fn"), curves(s.db, "local"))
    pd.testing.assert_frame_equal(curves(s.db, "cli"), curves(s.db, "local"))


def test_mentions_checkpoint_takes_code_it_cannot_read_to_keep_state() -> None:
    import functools

    from hpo.function_trial import mentions_checkpoint

    class Objective:
        def __call__(self, config: dict, trial) -> None:
            pass

    assert mentions_checkpoint(Objective())
    assert not mentions_checkpoint(functools.partial(functions.stateless))
    assert mentions_checkpoint(functools.partial(functions.checkpoint_first))
