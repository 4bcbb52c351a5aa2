"""Function-style trials for the tests (importable by Ray workers and subprocesses)."""

from __future__ import annotations

import numpy as np


def toy(config: dict, trial) -> None:
    """The toy trainer's curve as a function: val_accuracy = quality · (1 − 1/(t+1))."""
    state = trial.restore()
    epoch0 = state["epoch"] if state is not None else 0
    assert epoch0 == trial.last_epoch
    for epoch in trial.epochs():
        value = config["quality"] * (1.0 - 1.0 / (epoch + 1))
        if trial.report(epoch, {"val_accuracy": value}) != "continue":
            break
    trial.checkpoint({"epoch": trial.last_epoch})


def noisy(config: dict, trial) -> None:
    """A random walk seeded by the trial: exact only if its generator is checkpointed."""
    rng = np.random.default_rng(trial.seed)
    state = trial.restore()
    total = 0.0
    if state is not None:
        total, rng.bit_generator.state = state["total"], state["rng"]
    for epoch in trial.epochs():
        total += config["quality"] * rng.random()
        if trial.report(epoch, {"val_accuracy": total / epoch}) != "continue":
            break
    trial.checkpoint({"total": total, "rng": rng.bit_generator.state})


def picky(config: dict, trial) -> None:
    """Fails on the best configurations, in its third epoch."""
    for epoch in trial.epochs():
        if epoch == 3 and config["quality"] > 0.8:
            raise FloatingPointError("loss exploded")
        if trial.report(epoch, {"val_accuracy": config["quality"] * epoch / 10}) != "continue":
            break
    trial.checkpoint(None)


def lazy(config: dict, trial) -> None:
    """Returns without reporting anything."""


def forgetful(config: dict, trial) -> None:
    """Never saves its state when paused."""
    for epoch in trial.epochs():
        if trial.report(epoch, {"val_accuracy": 0.5}) != "continue":
            break


def stubborn(config: dict, trial) -> None:
    """Trains on whatever it is told."""
    epoch = 0
    while True:
        epoch += 1
        trial.report(epoch, {"val_accuracy": 0.5})


def one_argument(config: dict) -> None:
    """Not train(config, trial)."""


def rejects(config: dict, trial) -> None:
    """Refuses every configuration, as a framework refuses a bad value."""
    raise ValueError(f"quality={config['quality']} is not a learning rate")
