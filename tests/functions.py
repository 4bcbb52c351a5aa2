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


def _walk(config: dict, trial, state) -> tuple[np.random.Generator, float]:
    """``noisy``'s random walk, restored from ``state`` (None for a new trial)."""
    rng = np.random.default_rng(trial.seed)
    total = 0.0
    if state is not None:
        total, rng.bit_generator.state = state["total"], state["rng"]
    return rng, total


def checkpoint_first(config: dict, trial) -> None:
    """``noisy``, checkpointing after training each epoch and before reporting it."""
    rng, total = _walk(config, trial, trial.restore())
    for epoch in trial.epochs():
        total += config["quality"] * rng.random()
        trial.checkpoint({"total": total, "rng": rng.bit_generator.state})
        if trial.report(epoch, {"val_accuracy": total / epoch}) != "continue":
            break


def checkpoint_with_report(config: dict, trial) -> None:
    """``noisy``, passing its state with each report (Ray Tune's way)."""
    rng, total = _walk(config, trial, trial.restore())
    for epoch in trial.epochs():
        total += config["quality"] * rng.random()
        state = {"total": total, "rng": rng.bit_generator.state}
        if trial.report(epoch, {"val_accuracy": total / epoch}, checkpoint=state) != "continue":
            break


def checkpoint_every_epoch(config: dict, trial) -> None:
    """``noisy``, checkpointing after every report, whatever the answer."""
    rng, total = _walk(config, trial, trial.restore())
    for epoch in trial.epochs():
        total += config["quality"] * rng.random()
        told = trial.report(epoch, {"val_accuracy": total / epoch})
        trial.checkpoint({"total": total, "rng": rng.bit_generator.state})
        if told != "continue":
            break


def checkpoint_first_own_loop(config: dict, trial) -> None:
    """``noisy`` in a loop of its own (no trial.epochs()), checkpointing before each report."""
    rng, total = _walk(config, trial, trial.restore())
    epoch = trial.last_epoch
    while True:
        epoch += 1
        total += config["quality"] * rng.random()
        trial.checkpoint({"total": total, "rng": rng.bit_generator.state})
        if trial.report(epoch, {"val_accuracy": total / epoch}) != "continue":
            break


def stateless(config: dict, trial) -> None:
    """``noisy`` as an Optuna objective would be ported: no restore, no checkpoint."""
    rng, total = _walk(config, trial, None)
    for epoch in trial.epochs():
        total += config["quality"] * rng.random()
        if trial.report(epoch, {"val_accuracy": total / epoch}) != "continue":
            break


def checkpoint_after_continue_own_loop(config: dict, trial) -> None:
    """A loop of its own (no trial.epochs()) that checkpoints only after a ``continue``: the
    state it keeps when paused at N + 1 is the state after N."""
    w = trial.restore() or 0
    for epoch in range(trial.last_epoch + 1, 10):
        w += 1
        if trial.report(epoch, {"val_accuracy": config["quality"] * w / 10}) != "continue":
            break
        trial.checkpoint(w)


def checkpoint_every_epoch_own_loop(config: dict, trial) -> None:
    """``noisy`` in a loop of its own, checkpointing after every report, whatever the answer."""
    rng, total = _walk(config, trial, trial.restore())
    epoch = trial.last_epoch
    while True:
        epoch += 1
        total += config["quality"] * rng.random()
        told = trial.report(epoch, {"val_accuracy": total / epoch})
        trial.checkpoint({"total": total, "rng": rng.bit_generator.state})
        if told != "continue":
            break
