"""A trainer that costs nothing: its curve rises towards the configuration's ``quality``.

For measuring a framework's own overhead (an epoch takes microseconds) and for trying a
scheduler end to end without training anything real.
"""

from __future__ import annotations

from typing import Any


class ToyTrainer:
    """``val_accuracy`` after epoch t is ``quality · (1 − 1/(t+1))``.

    >>> t = ToyTrainer()
    >>> t.setup({"quality": 0.8}, seed=0)
    >>> t.step()
    {'val_accuracy': 0.4}
    """

    def __init__(self, dataset: Any = None) -> None:
        self.quality, self.epoch = 0.0, 0

    def setup(self, config: dict[str, Any], seed: int) -> None:
        self.quality, self.epoch = float(config["quality"]), 0

    def step(self) -> dict[str, float]:
        self.epoch += 1
        return {"val_accuracy": self.quality * (1.0 - 1.0 / (self.epoch + 1))}

    def save(self) -> dict[str, Any]:
        return {"quality": self.quality, "epoch": self.epoch}

    def restore(self, state: dict[str, Any]) -> None:
        self.quality, self.epoch = state["quality"], state["epoch"]
