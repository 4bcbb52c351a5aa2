"""The tuner loop with the in-process runner, on real trainers."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from hpo.runners import SerialRunner
from hpo.samplers import RandomSampler, TPESampler
from hpo.schedulers import ASHA, HyperBand, SuccessiveHalving, TrialStatus
from hpo.space import SearchSpace
from hpo.tuner import MemoryRecorder, Tuner
from hpo.types import EventKind
from trainers.data import load_dataset
from trainers.mlp import MLPTrainer
from trainers.sklearn_adapter import PartialFitTrainer, SGDClassifierTrainer

ROOT = Path(__file__).resolve().parents[1]

MLP_SPACE = SearchSpace.from_dict(
    {
        "hidden_layer_sizes": {"values": [[8], [16], [16, 8]]},
        "activation": ["relu", "tanh", "elu", "prelu"],
        "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
    }
)


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


def epochs_by_trial(recorder: MemoryRecorder) -> dict[int, list[int]]:
    seen = defaultdict(list)
    for trial_id, epoch, *_ in recorder.epochs:
        seen[trial_id].append(epoch)
    return seen


def test_hyperband_over_the_mlp_records_every_epoch_once(iris) -> None:
    scheduler = HyperBand(RandomSampler(MLP_SPACE, 0), 9, eta=3, seed=0)
    recorder = MemoryRecorder()
    Tuner(scheduler, SerialRunner(lambda: MLPTrainer(iris)), recorder).run()
    assert scheduler.is_finished()
    seen = epochs_by_trial(recorder)
    assert sorted(seen) == sorted(scheduler.trials)
    for trial_id, epochs in seen.items():
        # Paused trials resume where they stopped: epochs 1..n, each exactly once.
        assert epochs == list(range(1, scheduler.trials[trial_id].epochs + 1))
    assert len(recorder.epochs) == scheduler.epochs_spent == scheduler.planned_budget()
    assert {e.kind for e in recorder.events} >= {
        EventKind.START,
        EventKind.PAUSE,
        EventKind.PROMOTE,
    }
    assert scheduler.best_value > 0.8


def test_resumed_trial_matches_an_uninterrupted_run(iris) -> None:
    """A promoted trial's curve equals the same config trained straight through."""
    scheduler = SuccessiveHalving(RandomSampler(MLP_SPACE, 3), 4, budget=40)
    recorder = MemoryRecorder()
    Tuner(scheduler, SerialRunner(lambda: MLPTrainer(iris)), recorder).run()
    winner = scheduler.trials[scheduler.best_trial]
    straight = MLPTrainer(iris)
    straight.setup(winner.config, winner.seed)
    expected = [straight.step()["val_loss"] for _ in range(winner.epochs)]
    assert recorder.curve(winner.trial_id, "val_loss") == expected


def test_tpe_sampler_inside_asha(iris) -> None:
    scheduler = ASHA(TPESampler(MLP_SPACE, 0), 9, n_configs=15, seed=0)
    Tuner(scheduler, SerialRunner(lambda: MLPTrainer(iris))).run()
    assert len(scheduler.trials) == 15 and scheduler.is_finished()


class Exploding:
    """A trainer that raises on its third epoch when its config says so."""

    def setup(self, config: dict, seed: int) -> None:
        self.config, self.epoch = config, 0

    def step(self) -> dict[str, float]:
        self.epoch += 1
        if self.config["x"] > 0.5 and self.epoch == 3:
            raise RuntimeError("boom")
        return {"val_accuracy": self.config["x"] * self.epoch / 10}

    def save(self) -> dict:
        return {"config": self.config, "epoch": self.epoch}

    def restore(self, state: dict) -> None:
        self.config, self.epoch = state["config"], state["epoch"]


def test_a_trainer_that_raises_fails_its_trial_and_the_search_goes_on() -> None:
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    scheduler = HyperBand(RandomSampler(space, 0), 9)
    recorder = MemoryRecorder()
    Tuner(scheduler, SerialRunner(Exploding), recorder).run()
    failed = [t for t in scheduler.trials.values() if t.status is TrialStatus.FAILED]
    assert failed
    reasons = [e.reason for e in recorder.events if e.kind is EventKind.FAIL]
    assert all(r.startswith("RuntimeError: boom (at test_tuner.py:") for r in reasons)
    assert scheduler.is_finished()


def test_sklearn_partial_fit_estimator_is_searched_through_the_adapter(iris) -> None:
    space = SearchSpace.from_dict(
        {
            "alpha": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
            "penalty": ["l2", "l1"],
        }
    )
    scheduler = HyperBand(RandomSampler(space, 0), 9)
    recorder = MemoryRecorder()
    Tuner(scheduler, SerialRunner(lambda: SGDClassifierTrainer(iris)), recorder).run()
    assert scheduler.best_value > 0.8
    assert {"val_accuracy", "val_loss", "train_accuracy"} <= set(recorder.epochs[0][2])


def test_adapter_restore_is_exact(iris) -> None:
    config = {"alpha": 1e-3}
    a = SGDClassifierTrainer(iris)
    a.setup(config, 1)
    expected = [a.step() for _ in range(5)]
    b = SGDClassifierTrainer(iris)
    b.setup(config, 1)
    got = [b.step() for _ in range(2)]
    c = SGDClassifierTrainer(iris)
    c.restore(b.save())
    got += [c.step() for _ in range(3)]
    assert got == expected


def test_adapter_rejects_what_cannot_train_in_steps(iris) -> None:
    with pytest.raises(ValueError, match="no partial_fit"):
        PartialFitTrainer("sklearn.linear_model:LogisticRegression", iris)
    with pytest.raises(ValueError, match="cannot import module"):
        PartialFitTrainer("nope.module:Thing", iris)
    t = SGDClassifierTrainer(iris)
    with pytest.raises(ValueError, match="unknown hyperparameter 'lr'"):
        t.setup({"lr": 0.1}, 0)


def test_own_loop_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "own_loop.py")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert "best val_accuracy" in out.stdout
