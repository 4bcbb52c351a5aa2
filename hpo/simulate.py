"""Searches over a recorded table: a scheduler, the table's rows, the simulator runner.

This is orchestration, above the tuner: :func:`build_table_scheduler` builds a scheduler
of the usual settings (:class:`hpo.settings.SearchSettings`) whose sampler draws the
table's rows (:class:`hpo.tables.TableSampler`), and :func:`simulate_table` runs it
through the tuner loop on the simulator runner's virtual clock
(:class:`hpo.runners._simulator.SimulatorRunner`), keeping no history but the failures.
``hpo simulate TABLE`` is a thin shell over it; several methods side by side on one
table are :mod:`hpo.quality`'s.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo import registry
from hpo.recorders import FailureCounter
from hpo.runners._simulator import SimulatorRunner
from hpo.schedulers import Scheduler
from hpo.settings import SearchSettings, SettingsError
from hpo.space import SearchSpace
from hpo.tables import Curves, TableSampler
from hpo.tuner import Tuner


@dataclass
class SimulationResult:
    """One simulated search: its scheduler (trials, best), the simulated and real time, and
    the failures by reason."""

    scheduler: Scheduler
    simulated_seconds: float
    busy_fraction: float
    real_seconds: float
    n_workers: int
    metric: str
    failures: dict[str, int] | None = None  # reason -> trials that failed with it

    def lines(self) -> list[str]:
        """What ``hpo simulate TABLE`` prints: the run, the best trial, every failure."""
        s = self.scheduler
        unit = "samples" if getattr(s, "refits", False) else "epochs"
        out = [
            f"simulated {s.name} with {self.n_workers} workers: {len(s.trials)} trials, "
            f"{s.epochs_spent} {unit}, {self.simulated_seconds:.4g} s of simulated wall time "
            f"(workers {100 * self.busy_fraction:.1f}% busy), {self.real_seconds:.2f} s real"
        ]
        if s.best_trial is not None:
            best = s.trials[s.best_trial]
            out.append(
                f"best {self.metric} {s.best_value:.4f}: trial {best.trial_id} after {best.epochs} {unit}"
            )
            out.append("  " + json.dumps(dict(best.config)))  # tuples as JSON lists
        for reason, n in (self.failures or {}).items():  # never silent
            out.append(f"FAILED: {n} trial(s): {reason}")
        return out


def simulate_table(
    table: str | Path | Curves,
    *,
    scheduler: str = registry.DEFAULT_SCHEDULER,
    sampler: str = registry.DEFAULT_SAMPLER,
    max_epochs: int | None = None,
    min_epochs: int = 1,
    eta: int = 3,
    budget: int | None = None,
    n_configs: int | None = None,
    iterations: int = 1,
    workers: int = 4,
    seed: int = 0,
    metric: str = "val_accuracy",
    mode: str = "max",
    resume_seconds: float = 0.0,
    replace: bool = False,
    space: SearchSpace | None = None,
) -> SimulationResult:
    """Run one scheduler over a recorded table; returns its scheduler and simulated time.

    A plan that the table cannot carry (a rung beyond the table's curves) is refused
    before anything runs; trials that fail anyway are counted in the result."""
    curves = table if isinstance(table, Curves) else Curves.read(table)
    if metric not in curves.values:
        raise ValueError(
            f"metric {metric!r} is not in the recorded table; it has {', '.join(curves.metric_names)}"
        )
    R = max_epochs or curves.max_epochs
    if curves.max_epochs < R:
        raise ValueError(
            f"max_epochs={R} is beyond the table's longest curve ({curves.max_epochs} epochs)"
        )
    sched = build_table_scheduler(
        curves, scheduler=scheduler, sampler=sampler, max_epochs=R, min_epochs=min_epochs, eta=eta,
        budget=budget, n_configs=n_configs, iterations=iterations, seed=seed, metric=metric,
        mode=mode, replace=replace, space=space,
    )  # fmt: skip
    runner = SimulatorRunner(curves, workers, resume_seconds)
    recorder = FailureCounter()
    start = time.perf_counter()
    Tuner(sched, runner, recorder, metric=metric).run()
    return SimulationResult(
        sched, runner.now, runner.busy_fraction(), time.perf_counter() - start, workers, metric,
        recorder.failures,
    )  # fmt: skip


def build_table_scheduler(
    curves: Curves,
    *,
    scheduler: str = registry.DEFAULT_SCHEDULER,
    sampler: str = registry.DEFAULT_SAMPLER,
    max_epochs: int | None = None,
    min_epochs: int = 1,
    eta: int = 3,
    budget: int | None = None,
    n_configs: int | None = None,
    iterations: int = 1,
    seed: int = 0,
    metric: str = "val_accuracy",
    mode: str = "max",
    replace: bool = False,
    space: SearchSpace | None = None,
    stopping: list[dict[str, Any]] | None = None,
) -> Scheduler:
    """A scheduler of the usual settings whose sampler draws the table's rows; refuses a
    plan whose rungs go beyond the table's curves."""
    R = max_epochs or curves.max_epochs
    table_spec, fixed = curves.space_document()
    settings = SearchSettings(
        space=table_spec, fixed=fixed,
        scheduler=scheduler, sampler=_settings_sampler(sampler),
        max_epochs=R, min_epochs=min_epochs, eta=eta, budget=budget, n_configs=n_configs,
        iterations=iterations, seed=seed, metric=metric, mode=mode, executor="serial",
        stopping=list(stopping or []),
    )  # fmt: skip
    settings.validate()
    kind = registry.scheduler(scheduler).sampler or sampler  # grid search: the table's order
    sched = settings.build_scheduler(TableSampler(curves, kind, seed, replace=replace, hint=space))
    deepest = max(r.epochs for b in sched.planned_brackets() for r in b.rungs)
    if deepest > curves.max_epochs:  # the report's successive halving: its budget sets R
        raise SettingsError(
            f"the {scheduler} plan (budget {budget}) trains its last survivors to {deepest} "
            f"epochs, but the table's curves end at {curves.max_epochs}; lower --budget or "
            "raise --n-configs"
        )
    return sched


def _settings_sampler(sampler: str) -> str:
    """The sampler the settings are checked with: the table's rows replace it, so only a
    grid's checks matter (an unknown name is left for the settings to refuse)."""
    known = sampler in registry.sampler_names()
    return (
        sampler if not known or registry.sampler(sampler).needs_grid else registry.DEFAULT_SAMPLER
    )


__all__ = ["SimulationResult", "build_table_scheduler", "simulate_table"]
