"""Optuna's samplers and pruners on a recorded table, on the same virtual clock as ours.

:func:`run_optuna` runs one of the registry's Optuna methods (``optuna-tpe-hyperband``,
``optuna-random-sha``, …) through ask/tell, W trials in flight, under the rules of a
:class:`~hpo.quality.Benchmark`: an epoch is paid when it is reported, a pruned trial
stops, the budget is the benchmark's; the configurations are the table's rows, seen as
our samplers see them (:meth:`hpo.tables.Curves.space` with numbers as ranges, and
:func:`hpo.samplers.optuna_distributions` for Optuna's side of it).
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo import registry
from hpo.quality._trace import Trace
from hpo.samplers import choice_key, optuna_distributions, optuna_suggest

if TYPE_CHECKING:
    from hpo.quality._benchmark import Benchmark


def run_optuna(bench: Benchmark, method: str, seed: int, workers: int) -> Trace:
    """Optuna's sampler and pruner over the table, W trials in flight on a virtual clock.

    On a finite table Optuna proposes configurations it has already run. While rows
    remain that have not run, such a proposal is told as failed (so no sampler learns
    from it) and the nearest row not run yet is run instead: the rule our table
    sampler follows (with ``replace``, rows run again once all have run).
    """
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table, R = bench.curves, bench.R
    space = table.space(numeric=True, hint=bench.space)  # what our samplers see, too
    dists, decode = optuna_distributions(space)

    def value_of(name: str, raw: Any) -> Any:  # an Optuna choice back to the table's value
        return decode[name][raw] if name in decode else raw

    sampler, pruner = registry.optuna_method(method).parts(seed, R, 1, bench.eta)
    direction = "maximize" if bench.mode == "max" else "minimize"
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    values, seconds = table.values[bench.metric], table.values["seconds"]
    heap: list[tuple[float, int, float, Any, int, int]] = []
    seen: set[int] = set()
    duplicates = trials = order = 0
    last_start = 0.0
    intervals: list[tuple[float, float]] = []

    def ask() -> Any:
        if not space.is_conditional:
            return study.ask(dists)
        trial, values = study.ask(), dict(space.fixed)  # define-by-run: active ones only
        for n in space.order:
            if space.is_active(n, values):
                values[n] = value_of(n, optuna_suggest(trial, n, dists[n]))
        return trial

    def propose() -> tuple[Any, int]:
        nonlocal duplicates
        trial = ask()
        config = {
            **space.fixed,
            **{n: value_of(n, trial.params[n]) for n in dists if n in trial.params},
        }
        cid = table.nearest(config)  # exact on a full grid
        if cid not in seen or len(seen) >= table.n_configs:  # a row again only once all ran
            duplicates += cid in seen
            return trial, cid
        duplicates += 1
        study.tell(trial, state=TrialState.FAIL)  # not run, so not learned from
        cid = table.nearest(config, seen)
        row = table.configs[cid]
        study.enqueue_trial({n: choice_key(row[n]) if n in decode else row[n]
                             for n in dists if n in row})  # fmt: skip
        return ask(), cid

    def start(now: float) -> None:
        nonlocal trials, order, last_start
        if not bench.replace and len(seen) >= table.n_configs:
            return  # every row has run
        trial, cid = propose()
        last_start = now
        seen.add(cid)
        trials += 1
        order += 1
        heapq.heappush(heap, (now + seconds[cid, 0], order, now, trial, cid, 1))

    for _ in range(workers):
        start(0.0)
    points: list[tuple[float, float]] = []
    busy = 0.0
    while heap and len(points) < bench.total:
        end, _, began, trial, cid, epoch = heapq.heappop(heap)
        busy += end - began
        intervals.append((began, end))
        value = float(values[cid, epoch - 1])
        points.append((end, value))
        if not math.isfinite(value):
            study.tell(trial, state=TrialState.FAIL)
        else:
            trial.report(value, epoch)
            if epoch == R:
                study.tell(trial, value)
            elif trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
            else:
                order += 1
                heapq.heappush(heap, (end + seconds[cid, epoch], order, end, trial, cid, epoch + 1))
                continue
        if len(points) + len(heap) < bench.total:
            start(end)
    now = points[-1][0] if points else 0.0
    busy += sum(now - began for _, _, began, *_ in heap)  # epochs cut short by the budget
    intervals += [(began, math.inf) for _, _, began, *_ in heap]
    span = np.array(intervals) if intervals else np.zeros((0, 2))
    steady = np.clip(np.minimum(span[:, 1], last_start) - span[:, 0], 0, None).sum()
    steady_share = steady / (workers * last_start) if last_start > 0 else math.nan
    return Trace(
        method, seed, workers,
        np.array([p[0] for p in points]), np.array([p[1] for p in points]),
        busy / (workers * now) if now > 0 else 0.0, steady_share, trials, bench.mode, duplicates,
    )  # fmt: skip
