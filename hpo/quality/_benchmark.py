"""The rules every method of one comparison on one table follows: :class:`Benchmark`.

A benchmark fixes R, η, the budget, the resume cost and how rows are drawn; each of its
runs is a :class:`~hpo.quality.Trace`. Our methods run through the real tuner loop on the
simulator runner, each built by its registry entry's rule; Optuna's run through ask/tell
on the same clock (:mod:`hpo.quality._optuna`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo import registry
from hpo.budgets import hyperband_brackets
from hpo.quality._optuna import run_optuna
from hpo.quality._trace import Trace
from hpo.recorders import FailureCounter
from hpo.runners._simulator import SimulatorRunner
from hpo.schedulers import Scheduler
from hpo.space import SearchSpace
from hpo.tables import Curves, TableSampler
from hpo.tuner import Tuner


@dataclass
class Benchmark:
    """The rules every method of one comparison on one table follows.

    Args:
        curves: the recorded table.
        metric, mode: the objective and which way is better.
        max_epochs: R (default: the table's longest curve). eta: η.
        budget: epochs every method may spend (default: one HyperBand iteration).
        resume_seconds: what resuming a paused trial costs on a worker that lacks it.
        replace: draw the table's rows with replacement.
        space: the space the table was recorded from (log scales for samplers).
    """

    curves: Curves
    metric: str = "val_accuracy"
    mode: str = "max"
    max_epochs: int | None = None
    eta: int = 3
    budget: int | None = None
    resume_seconds: float = 0.0
    replace: bool = False
    space: SearchSpace | None = None
    name: str = "table"
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric not in self.curves.values:
            raise ValueError(
                f"metric {self.metric!r} is not in the table; it has {', '.join(self.curves.metric_names)}"
            )
        self.R = self.max_epochs or self.curves.max_epochs
        if self.curves.max_epochs < self.R:
            raise ValueError(
                f"max_epochs={self.R} is beyond the table's curves ({self.curves.max_epochs})"
            )
        self.hyperband_budget = sum(b.budget for b in hyperband_brackets(self.R, self.eta))
        self.total = self.budget or self.hyperband_budget

    # -- our methods ---------------------------------------------------------------------------

    def scheduler(self, method: str, seed: int) -> Scheduler:
        """One of our methods over the table, spending at most the budget: a sampler's name
        (random search with it, every trial to R) or ``scheduler/sampler``, each built by
        its registry entry's rule (:func:`hpo.registry.within`, with ``on_table``)."""
        kind, _, sampler_kind = method.partition("/")
        if kind in registry.sampler_names():
            return registry.within(kind, self._within(self._sampler(kind, seed), seed))
        entry = registry.find_scheduler(kind)
        if entry is None or entry.within is None or kind == registry.FULL_BUDGET:
            raise ValueError(
                f"method {method!r} is unknown; expected one of {', '.join(known_methods())}"
            )
        sampler = self._sampler(sampler_kind or registry.DEFAULT_SAMPLER, seed)
        return registry.within(kind, self._within(sampler, seed))

    def _within(self, sampler: TableSampler, seed: int) -> registry.Within:
        """What every method gets on this table: R, r = 1, η and the budget."""
        return registry.Within(sampler, self.R, 1, self.eta, self.total, self.mode, seed,
                               on_table=True)  # fmt: skip

    def _sampler(self, kind: str, seed: int) -> TableSampler:
        return TableSampler(self.curves, kind, seed, replace=self.replace, hint=self.space)

    def run(self, method: str, seed: int, workers: int) -> Trace:
        """One run of ``method``: ours through the real tuner loop and simulator runner,
        Optuna's through ask/tell on the same clock."""
        if registry.is_optuna(method):
            return run_optuna(self, method, seed, workers)
        scheduler = self.scheduler(method, seed)
        runner = SimulatorRunner(self.curves, workers, resume_seconds=self.resume_seconds)
        recorder = _TimeRecorder()
        Tuner(scheduler, runner, recorder, metric=self.metric).run()
        points = sorted(recorder.points, key=lambda p: p[0])  # stable: ties keep record order
        return Trace(
            method, seed, workers,
            np.array([p[0] for p in points]), np.array([p[1] for p in points]),
            runner.busy_fraction(), runner.busy_fraction_while_starting(), len(scheduler.trials),
            self.mode, failures=sum(recorder.failures.values()),
        )  # fmt: skip


def known_methods() -> list[str]:
    """Every method a recorded table runs (:func:`hpo.registry.table_methods`)."""
    return registry.table_methods()


class _TimeRecorder(FailureCounter):
    """Keeps each recorded epoch's virtual end time and value, and counts the failures."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None:  # fmt: skip
        self.points.append((float(ended_at or 0.0), math.nan if value is None else value))
