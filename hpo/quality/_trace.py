"""One run of one method on a recorded table: :class:`Trace`, what the summaries read.

Written by :class:`hpo.quality.Benchmark` (ours through the tuner, Optuna's through
ask/tell) and by the anchors' runner (``bench/anchors/run_anchor.py``, as JSON); read by
:func:`hpo.quality.summarise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Trace:
    """One run: every paid epoch's (virtual end time, value), in the order they ended.

    ``values`` are in the metric's own units; ``mode`` says which way is better.
    """

    method: str
    seed: int
    workers: int
    ended_at: np.ndarray
    values: np.ndarray
    busy_fraction: float
    busy_while_starting: float
    trials: int
    mode: str = "max"
    duplicates: int = 0
    failures: int = 0

    def _goodness(self) -> np.ndarray:
        """Values as 'higher is better', NaN (diverged) as the worst."""
        signed = self.values if self.mode == "max" else -self.values
        return np.nan_to_num(signed, nan=-np.inf)

    def best_by_epochs(self, budget: int) -> np.ndarray:
        """Best so far after 1 … ``budget`` epochs (flat after the run's last epoch)."""
        best = np.maximum.accumulate(self._goodness()[:budget])
        if len(best) == 0:
            best = np.array([-np.inf])
        best = np.pad(best, (0, max(0, budget - len(best))), mode="edge")
        return best if self.mode == "max" else -best

    def best_at(self, times: np.ndarray) -> np.ndarray:
        """Best so far at each of ``times`` (the worst value before the first epoch ends)."""
        best = np.maximum.accumulate(self._goodness())
        index = np.searchsorted(self.ended_at, times, side="right") - 1
        out = np.where(index >= 0, best[np.maximum(index, 0)], -np.inf)
        return out if self.mode == "max" else -out

    def to_json(self) -> dict[str, Any]:
        """The trace as JSON-able values (arrays as lists): what a cache of runs keeps."""
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        """A trace again from :meth:`to_json`'s values."""
        data = dict(data)
        data["ended_at"], data["values"] = (
            np.asarray(data["ended_at"], float),
            np.asarray(data["values"], float),
        )
        return cls(**data)
