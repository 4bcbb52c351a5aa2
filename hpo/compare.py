"""``hpo compare``: this project's schedulers and Optuna's, side by side, on the same problem.

Same trainer, same data, same space, same epoch budget and the same seeds for every
method; each run trains for real, serially in this process (one worker each, so that
wall times compare). Methods (:func:`hpo.registry.compare_methods`):

* ours: every registered scheduler with a rule for a total epoch budget, its sampler
  random, built by that rule (:func:`hpo.registry.within`, the rule ``hpo simulate``
  uses on a table, except where the entry says why not), and random search with each
  sampler (``random``, ``tpe``, ``gp``); by default successive halving (the report's
  form), HyperBand, ASHA and random search;
* Optuna: its samplers and pruners (by default TPE with its HyperbandPruner, and random
  sampling with its SuccessiveHalvingPruner), driven through ``study.optimize`` with a
  budget callback.

The budget is what HyperBand's brackets cost for the given R, r and η. For each method
and seed: the best validation accuracy seen, the test accuracy of that model (retrained
with its seed to the same epoch: the same model), epochs spent and wall seconds, and the
best-so-far curve against epochs and against time.

``hpo compare`` keeps the comparison in the study database (:func:`save_comparison`, the
``comparisons`` table, by its name), where the dashboard lists it; its runs themselves
record nothing there.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo import registry
from hpo.budgets import hyperband_brackets
from hpo.runners import SerialRunner
from hpo.samplers import optuna_distributions
from hpo.schedulers import Scheduler, trial_seed
from hpo.settings import SearchSettings
from hpo.space import nest
from hpo.store import save_comparison
from hpo.tuner import NullRecorder, Tuner
from hpo.types import Mode

#: What ``hpo compare`` runs by default (the registry's ``compare_default`` entries): ours
#: and Optuna's. Every method it accepts is :func:`hpo.registry.compare_methods`.
METHODS: tuple[str, ...] = tuple(registry.compare_methods(default=True))
OURS = tuple(m for m in METHODS if not registry.is_optuna(m))
OPTUNA = tuple(m for m in METHODS if registry.is_optuna(m))


@dataclass
class Run:
    """One method, one seed: what it found and how fast."""

    method: str
    seed: int
    best_value: float = -math.inf
    best: tuple[dict, int, int] | None = None  # (config, trial seed, epoch)
    epochs: int = 0
    seconds: float = 0.0
    trace: list[tuple[int, float, float]] = field(default_factory=list)  # (epochs, seconds, best)
    test_accuracy: float = math.nan

    def record(
        self, value: float, config: dict, seed: int, epoch: int, started: float, score: Callable
    ) -> None:
        self.epochs += 1
        if math.isfinite(value) and (self.best is None or score(value) < score(self.best_value)):
            self.best_value, self.best = value, (dict(config), seed, epoch)
        self.trace.append((self.epochs, time.perf_counter() - started, self.best_value))


class _TraceRecorder(NullRecorder):
    """Feeds every recorded epoch of our tuner into a Run."""

    def __init__(self, run: Run, scheduler: Scheduler, started: float) -> None:
        super().__init__()
        self.run, self.scheduler, self.started = run, scheduler, started

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None:  # fmt: skip
        t = self.scheduler.trials[trial_id]
        v = math.nan if value is None else value
        self.run.record(v, t.config, t.seed, epoch, self.started, self.scheduler.mode.score)


def budget_for(settings: SearchSettings) -> int:
    """The epoch budget every method gets: the cost of HyperBand's brackets."""
    return sum(
        b.budget for b in hyperband_brackets(settings.max_epochs, settings.eta, settings.min_epochs)
    )


def _ours(method: str, settings: SearchSettings, seed: int, budget: int) -> Scheduler:
    """One of our methods within ``budget`` epochs, by its registry entry's rule; a sampler's
    name is random search with it, a scheduler's draws with the random sampler."""
    samplers = registry.sampler_names()
    kind = method if method in samplers else registry.DEFAULT_SAMPLER
    sampler = registry.sampler(kind).build(settings.build_space(), seed)
    within = registry.Within(sampler, settings.max_epochs, settings.min_epochs, settings.eta,
                             budget, settings.mode, seed, on_table=False)  # fmt: skip
    return registry.within(method, within)


def run_ours(
    method: str, settings: SearchSettings, seed: int, make_trainer: Callable, budget: int
) -> Run:
    scheduler = _ours(method, settings, seed, budget)
    run = Run(method, seed)
    started = time.perf_counter()
    Tuner(
        scheduler,
        SerialRunner(make_trainer),
        _TraceRecorder(run, scheduler, started),
        metric=settings.metric,
    ).run()
    run.seconds = time.perf_counter() - started
    return run


def run_optuna(
    method: str, settings: SearchSettings, seed: int, make_trainer: Callable, budget: int
) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    R, r, eta = settings.max_epochs, settings.min_epochs, settings.eta
    space = settings.build_space()
    dists, decode = optuna_distributions(space)
    sampler, pruner = registry.optuna_method(method).parts(seed, R, r, eta)
    mode = Mode.parse(settings.mode)
    study = optuna.create_study(
        direction="maximize" if mode is Mode.MAX else "minimize", sampler=sampler, pruner=pruner
    )
    run = Run(method, seed)
    started = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        config = dict(space.fixed)
        for name in space.order:  # parents first; an inactive hyperparameter is not suggested
            if not space.is_active(name, config):
                continue
            value = trial._suggest(name, dists[name])
            config[name] = decode[name][value] if name in decode else value
        trial_seed_ = trial_seed(seed, trial.number)
        trainer = make_trainer()
        trainer.setup(nest(config), trial_seed_)
        value = math.nan
        for epoch in range(1, R + 1):
            if run.epochs >= budget:
                study.stop()
                break
            value = float(trainer.step().get(settings.metric, math.nan))
            run.record(value, config, trial_seed_, epoch, started, mode.score)
            if not math.isfinite(value):
                raise optuna.TrialPruned()
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    def stop_at_budget(study: optuna.Study, _: Any) -> None:
        if run.epochs >= budget:
            study.stop()

    study.optimize(objective, n_trials=10 * budget, callbacks=[stop_at_budget], catch=(ValueError,))
    run.seconds = time.perf_counter() - started
    return run


def _test_accuracy(run: Run, make_trainer: Callable) -> float:
    """Retrain the best (config, seed) to its best epoch — the same model — and test it."""
    if run.best is None:
        return math.nan
    config, seed, epoch = run.best
    trainer = make_trainer()
    if not hasattr(trainer, "predict_proba") or not hasattr(trainer, "data"):
        return math.nan
    trainer.setup(nest(config), seed)
    for _ in range(epoch):
        trainer.step()
    data = trainer.data
    return float(
        (np.asarray(trainer.predict_proba(data.X_test)).argmax(axis=1) == data.y_test).mean()
    )


def _median_curve(
    traces: list[list[tuple[int, float, float]]], axis: int, points: int = 60
) -> tuple[list, list]:
    """Median over seeds of best-so-far, at shared x values (epochs or seconds)."""
    if not traces or not all(traces):
        return [], []
    top = max(t[-1][axis] for t in traces)
    xs = np.linspace(0, top, points)[1:]
    ys = []
    for x in xs:
        values = []
        for t in traces:
            before = [b for e, s, b in t if (e, s)[axis] <= x and math.isfinite(b)]
            if before:
                values.append(before[-1])
        ys.append(statistics.median(values) if values else None)
    return [float(x) for x in xs], ys


def compare(
    settings: SearchSettings,
    seeds: list[int],
    methods: Sequence[str] | None = None,
    *,
    name: str = "comparison",
    on_run: Callable[[Run], None] | None = None,
) -> dict[str, Any]:
    """Run every method (default: :data:`METHODS`) for every seed; returns the comparison
    (table, medians, curves)."""
    methods = METHODS if methods is None else tuple(methods)
    spec = settings.trainer_spec()
    dataset = spec.load_dataset()

    def make_trainer() -> Any:
        return spec.build(dataset)

    budget = budget_for(settings)
    runs: list[Run] = []
    for seed in seeds:
        for method in methods:
            runner = run_optuna if registry.is_optuna(method) else run_ours
            run = runner(method, settings, seed, make_trainer, budget)
            run.test_accuracy = _test_accuracy(run, make_trainer)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    table = [
        {"method": r.method, "seed": r.seed, "best_val_accuracy": r.best_value, "test_accuracy": r.test_accuracy,
         "epochs": r.epochs, "wall_s": r.seconds}
        for r in runs
    ]  # fmt: skip
    for method in methods:
        rows = [r for r in runs if r.method == method]
        table.append({
            "method": method, "seed": "median",
            "best_val_accuracy": statistics.median(r.best_value for r in rows),
            "test_accuracy": statistics.median(r.test_accuracy for r in rows),
            "epochs": statistics.median(r.epochs for r in rows),
            "wall_s": statistics.median(r.seconds for r in rows),
        })  # fmt: skip
    curves = {}
    for method in methods:
        traces = [r.trace for r in runs if r.method == method]
        ex, ey = _median_curve(traces, 0)
        tx, ty = _median_curve(traces, 1)
        curves[method] = {"epochs": ex, "best": ey, "seconds": tx, "best_by_time": ty}
    return {
        "name": name,
        "space": settings.name,
        "dataset": settings.dataset,
        "trainer": settings.trainer,
        "metric": settings.metric,
        "max_epochs": settings.max_epochs,
        "min_epochs": settings.min_epochs,
        "eta": settings.eta,
        "budget": budget,
        "seeds": list(seeds),
        "methods": list(methods),
        "table": table,
        "curves": curves,
    }


def table_lines(comparison: dict[str, Any]) -> list[str]:
    out = [f"{'method':<22} {'seed':>6} {'best val':>9} {'test':>7} {'epochs':>7} {'wall s':>8}"]
    for row in comparison["table"]:
        out.append(
            f"{row['method']:<22} {row['seed']!s:>6} {row['best_val_accuracy']:>9.4f} {row['test_accuracy']:>7.4f} "
            f"{row['epochs']:>7.0f} {row['wall_s']:>8.2f}"
        )
    return out


__all__ = ["METHODS", "budget_for", "compare", "save_comparison", "table_lines"]
