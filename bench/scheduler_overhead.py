"""Cost of one scheduler decision with 100,000 trials in flight or finished.

Each scheduler is driven to the end by a synthetic objective (no training), with 1,000
trials in flight at a time. A decision is one ``suggest()`` or one ``on_report()``
call; ``decision_us`` is the mean wall time of those calls (the driver's own time is
excluded), so this measures the scheduler alone. Memory is the peak of Python
allocations (tracemalloc) in a separate run, at a tenth and at the full number of
trials: ``memory_ratio_10x`` near 10 means memory is linear in trials.

    python bench/scheduler_overhead.py            # 100,000 trials each
    python bench/scheduler_overhead.py --quick    # 10,000 trials, under a minute

Writes ``results/benchmarks/scheduler_overhead.json``.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from _common import write_report

from hpo.budgets import ceil_log2
from hpo.samplers import GridSampler, RandomSampler
from hpo.schedulers import (
    ASHA,
    GridSearch,
    HyperBand,
    MedianStopping,
    RandomSearch,
    Scheduler,
    SuccessiveHalving,
)
from hpo.space import SearchSpace
from hpo.types import Decision, Report

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
IN_FLIGHT = 1000
GOAL_US = 50.0


def grid_space(n: int) -> SearchSpace:
    side = math.isqrt(n)
    return SearchSpace.from_dict(
        {"x": [i / side for i in range(side)], "y": list(range(-(-n // side)))}
    )


def cases(n: int) -> dict[str, Callable[[], Scheduler]]:
    """Each scheduler set up to run about ``n`` trials."""
    hb_trials_per_iteration = sum(
        b.n_trials for b in HyperBand(RandomSampler(SPACE), 27).planned_brackets()
    )
    iterations = max(1, n // hb_trials_per_iteration)
    return {
        "asha": lambda: ASHA(RandomSampler(SPACE, 0), 81, eta=3, n_configs=n),
        "asha_stop_only": lambda: ASHA(
            RandomSampler(SPACE, 0), 81, eta=3, n_configs=n, stop_only=True
        ),
        "hyperband": lambda: HyperBand(RandomSampler(SPACE, 0), 27, eta=3, iterations=iterations),
        "hyperband_median": lambda: HyperBand(
            RandomSampler(SPACE, 0), 27, eta=3, iterations=iterations, stopping=[MedianStopping()]
        ),
        "sh_report": lambda: SuccessiveHalving(RandomSampler(SPACE, 0), n, budget=n * ceil_log2(n)),
        "sh_eta": lambda: SuccessiveHalving(RandomSampler(SPACE, 0), n, max_epochs=27, eta=3),
        "random": lambda: RandomSearch(RandomSampler(SPACE, 0), n, 3),
        "grid": lambda: GridSearch(GridSampler(grid_space(n)), 3),
    }


def drive(scheduler: Scheduler) -> tuple[int, float]:
    """Run to the end; returns (decisions, seconds spent inside the scheduler)."""
    clock = time.perf_counter
    running: list = []
    decisions, inside = 0, 0.0
    while True:
        t0 = clock()
        finished = scheduler.is_finished()
        inside += clock() - t0
        if finished:
            break
        while len(running) < IN_FLIGHT:
            t0 = clock()
            s = scheduler.suggest()
            inside += clock() - t0
            decisions += 1
            if s is None:
                break
            running.append(s)
        s = running.pop(0)
        x = s.config["x"]
        for epoch in range(s.from_epoch + 1, s.until_epoch + 1):
            report = Report(s.trial_id, epoch, x * (1.0 - 1.0 / (epoch + 1)))
            t0 = clock()
            decision = scheduler.on_report(report)
            inside += clock() - t0
            decisions += 1
            if decision is not Decision.CONTINUE:
                break
        scheduler.pop_events()
    return decisions, inside


def peak_memory(make: Callable[[], Scheduler]) -> int:
    gc.collect()
    tracemalloc.start()
    scheduler = make()
    drive(scheduler)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del scheduler
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 trials, under a minute")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    args = parser.parse_args()
    n = args.trials or (10_000 if args.quick else 100_000)
    results = {}
    for name, make in cases(n).items():
        scheduler = make()
        decisions, inside = drive(scheduler)
        small = peak_memory(cases(n // 10)[name])
        full = peak_memory(make)
        results[name] = {
            "trials": len(scheduler.trials),
            "epochs_reported": scheduler.epochs_spent,
            "decisions": decisions,
            "decision_us": round(1e6 * inside / decisions, 2),
            "meets_goal_50us": 1e6 * inside / decisions < GOAL_US,
            "peak_memory_mb": round(full / 2**20, 1),
            "memory_bytes_per_trial": round(full / max(len(scheduler.trials), 1)),
            "memory_ratio_10x": round(full / small, 2),
        }
        print(name, results[name], flush=True)
    report = {
        "benchmark": "scheduler_overhead",
        "mode": "quick" if args.quick else "full",
        "trials_requested": n,
        "in_flight": IN_FLIGHT,
        "goal_decision_us": GOAL_US,
        "cases": results,
    }
    write_report("scheduler_overhead", report, args.quick, args.out)


if __name__ == "__main__":
    main()
