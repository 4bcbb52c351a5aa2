"""The simulator runner: replays a recorded table's learning curves on a virtual clock.

The simulator drives the same schedulers through the same tuner loop as real runs, with
``W`` simulated workers: an assignment takes the recorded seconds of its epochs (plus
``resume_seconds`` when a paused trial is restored on a worker that does not hold it),
and the next result is the one that finishes first on the virtual clock. Deterministic
for a seed; thousands of workers and 100,000 trials run in seconds.

The table itself (its format, :class:`~hpo.tables.Curves`, the sampler over its rows) is
data and lives in :mod:`hpo.tables`; a search over it (:func:`hpo.simulate.simulate_table`)
is built above the tuner, in :mod:`hpo.simulate`.
"""

from __future__ import annotations

import heapq
import math
from array import array

import numpy as np

from hpo.runners._base import Checkpoint, EpochResult, TrialResult

# The table's names, at the import path they had when they lived here.
from hpo.tables import Curves, TableSampler, synthetic_curves
from hpo.types import Suggestion


class SimulatorRunner:
    """``n_workers`` simulated workers over recorded curves, on a virtual clock.

    Args:
        curves: the recorded table.
        n_workers: simulated workers.
        resume_seconds: what restoring a paused trial on another worker costs.
    """

    def __init__(self, curves: Curves, n_workers: int, resume_seconds: float = 0.0) -> None:
        self.curves = curves
        self.n_workers = n_workers
        self.resume_seconds = resume_seconds
        self.now = 0.0
        self.busy_seconds = 0.0
        self._heap: list[tuple[float, int, TrialResult]] = []
        self._free = list(range(n_workers))
        self._holds: dict[int, int] = {}  # worker -> trial it holds warm
        self._worker_of: dict[int, int] = {}  # submission order -> worker
        self._order = 0
        self._starts, self._ends = array("d"), array("d")  # every assignment's busy interval
        self.last_new_trial_at = 0.0  # when the last trial that had not run before started

    @property
    def n_busy(self) -> int:
        return len(self._heap)

    def free_workers(self) -> int:
        return len(self._free)

    def is_warm(self, trial_id: int, epochs: int) -> bool:
        return True  # the simulator has no state to restore; resumes cost resume_seconds

    def submit(self, s: Suggestion, checkpoint: Checkpoint | None = None) -> None:
        warm = [w for w in self._free if self._holds.get(w) == s.trial_id]
        worker = warm[0] if warm else self._free[0]
        self._free.remove(worker)
        cid = self.curves.config_id(dict(s.config))
        seconds = self.curves.values["seconds"][cid]
        start = self.now + (self.resume_seconds if s.resume and not warm else 0.0)
        result = TrialResult(s.trial_id, worker=f"sim{worker}")
        t = start
        for epoch in range(s.from_epoch + 1, s.until_epoch + 1):
            if epoch > self.curves.lengths[cid]:
                result.error = f"the recorded curve of configuration {cid} ends at epoch {self.curves.lengths[cid]}"
                break
            t += float(seconds[epoch - 1])
            metrics = {
                m: float(self.curves.values[m][cid, epoch - 1]) for m in self.curves.metric_names
            }
            result.epochs.append(EpochResult(epoch, metrics, float(seconds[epoch - 1]), t))
        if result.error is None:
            # A token stands for the trainer's saved state: the table holds the rest.
            result.state = f"sim:{cid}:{s.until_epoch}".encode()
        self.busy_seconds += t - self.now
        self._starts.append(self.now)
        self._ends.append(t)
        if s.from_epoch == 0:
            self.last_new_trial_at = self.now
        self._holds[worker] = s.trial_id
        self._order += 1
        heapq.heappush(self._heap, (t, self._order, result))
        self._worker_of[self._order] = worker

    def wait(self) -> list[TrialResult]:
        t, order, result = heapq.heappop(self._heap)
        self.now = max(self.now, t)
        self._free.append(self._worker_of.pop(order))
        return [result]

    def pause(self, trial_id: int) -> None:
        """Nothing to keep: the curve is in the table."""

    def discard(self, trial_id: int) -> None:
        for w, t in list(self._holds.items()):
            if t == trial_id:
                del self._holds[w]

    def busy_fraction(self, until: float | None = None) -> float:
        """The share of worker time spent training (resumes included), over the whole run
        or up to the virtual time ``until``."""
        end = self.now if until is None else until
        if end <= 0:
            return 0.0
        if until is None:
            return self.busy_seconds / (self.n_workers * end)
        starts, ends = np.frombuffer(self._starts), np.frombuffer(self._ends)
        busy = np.clip(np.minimum(ends, end) - starts, 0.0, None).sum()
        return float(busy / (self.n_workers * end))

    def busy_fraction_while_starting(self) -> float:
        """Busy share until the last new trial started: the steady state, before the
        drain in which only the last promotions of a finite search are left. NaN when every
        trial started at once (there is no such period)."""
        if self.last_new_trial_at <= 0:
            return math.nan
        return self.busy_fraction(until=self.last_new_trial_at)


__all__ = ["Curves", "SimulatorRunner", "TableSampler", "synthetic_curves"]
