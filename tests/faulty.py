"""Trainers that misbehave on purpose, for the fault tests (imported by Ray workers too)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from trainers.mlp import MLPTrainer


class DyingOnce(MLPTrainer):
    """An MLP whose worker process dies (SIGKILL) the first time any trial reaches epoch
    ``die_at`` with a config whose ``learning_rate_init`` is at least ``threshold``.
    A marker file makes it die only once across all processes."""

    def __init__(self, dataset="iris", marker: str = "", die_at: int = 5, **kwargs):
        super().__init__(dataset, **kwargs)
        self.marker, self.die_at = marker, die_at

    def step(self):
        metrics = super().step()
        if self.epoch == self.die_at and self.marker and not Path(self.marker).exists():
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return metrics


class Hanging(MLPTrainer):
    """An MLP that hangs forever in its first epoch when ``activation`` is tanh."""

    def step(self):
        if self.config["activation"] == "tanh":
            while True:
                time.sleep(1)
        return super().step()


class Slow(MLPTrainer):
    """An MLP whose epochs take at least 20 ms: a search that lasts long enough to be
    interrupted at a chosen moment."""

    def step(self):
        time.sleep(0.02)
        return super().step()


class Raising(MLPTrainer):
    """An MLP that raises in its first epoch when its activation is tanh."""

    def step(self):
        if self.config["activation"] == "tanh":
            raise RuntimeError("numerical library exploded")
        return super().step()


class NaNing(MLPTrainer):
    """An MLP whose metrics are NaN from its first epoch when its activation is tanh."""

    def step(self):
        metrics = super().step()
        if self.config["activation"] == "tanh":
            return {**metrics, "val_accuracy": float("nan"), "val_loss": float("nan")}
        return metrics


class SlowToy:
    """The toy trainer (a curve towards ``quality``) with 50 ms epochs: a client that is
    still training when the test kills it. With ``HPO_TEST_HOLD_AT=N`` in its environment
    it never ends epoch N: it is certainly mid-trial when the test kills it."""

    def __init__(self, dataset=None) -> None:
        from trainers.toy import ToyTrainer

        self.toy = ToyTrainer()

    def setup(self, config, seed):
        self.toy.setup(config, seed)

    def step(self):
        time.sleep(0.05)
        if self.toy.epoch + 1 == int(os.environ.get("HPO_TEST_HOLD_AT", "0")):
            while True:
                time.sleep(1)
        return self.toy.step()

    def save(self):
        return self.toy.save()

    def restore(self, state):
        self.toy.restore(state)


class Gated(MLPTrainer):
    """An MLP that trains one epoch, then waits until the file named by ``HPO_TEST_GATE``
    exists: a search that is certainly still writing its study while a test looks at it."""

    def step(self):
        metrics = super().step()
        gate = Path(os.environ["HPO_TEST_GATE"])
        while not gate.exists():
            time.sleep(0.05)
        return metrics
