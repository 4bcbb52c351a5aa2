"""Samplers on conditional spaces: random, TPE and GP on recorded tables whose hyperparameters
exist only for some values of others.

Two tables, derived from the committed recordings (nothing is retrained), where a
hyperparameter is inert in some rows and is therefore made inactive (empty) there:

* ``report_grid_cond``: the report's grid on digits (``report_grid_curves.parquet``) with
  ``learning_rate`` (a schedule, which the MLP applies to ``sgd`` only) active only under
  ``solver: sgd``; the ``adam`` and ``lbfgs`` rows keep their ``constant`` recording:
  10 × 4 × 7 × (3 + 1 + 1) = 1,400 configurations instead of 2,520.
* ``deep_mlp_cond``: the deep-MLP table on synthetic10 (``deep_mlp_synthetic10_curves.parquet``,
  1,000 sampled configurations, 81 epochs) with ``momentum`` (used by ``sgd`` only)
  emptied in the ``adam`` rows; the numbers are ranges to the model-based samplers.

Each method is run for ``--seeds`` seeds, one worker, a budget of ``--iterations``
HyperBand iterations (R = ``--max-epochs``, η = 3; full-budget methods train
budget / R configurations), through :class:`hpo.quality.Benchmark` (the same tuner loop
and simulator as ``hpo simulate``). The figure is the median over seeds of the best value
found at the full budget and at a tenth of it, and each method's average rank. HyperBand
+ TPE runs in three variants (Optuna's independent TPE, ``multivariate``,
``multivariate`` + ``group``) to measure which options help on a conditional space.

    python bench/conditional_samplers.py             # 10 seeds, 4 iterations of budget
    python bench/conditional_samplers.py --quick     # 3 seeds, 1 iteration

Writes ``results/benchmarks/conditional_samplers.json`` (``--quick``: ``.quick.json``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import write_report

from hpo import quality
from hpo.tables import Curves, TableSampler

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "results" / "benchmarks"
METHODS = ("random", "tpe", "gp", "hyperband/random", "hyperband/tpe", "hyperband/gp")
TPE_VARIANTS = {"hyperband/tpe-independent": (False, False),
                "hyperband/tpe-multivariate": (True, False),
                "hyperband/tpe-multivariate-group": (True, True)}  # fmt: skip


def report_grid_conditional() -> Curves:
    """The report's grid with ``learning_rate`` active only for ``sgd``."""
    frame = pd.read_parquet(BENCH / "report_grid_curves.parquet")
    sgd = frame["config.solver"] == "sgd"
    frame = frame[sgd | (frame["config.learning_rate"] == "constant")].copy()
    frame.loc[frame["config.solver"] != "sgd", "config.learning_rate"] = None
    return Curves(frame, ["val_accuracy", "val_loss"])


def deep_mlp_conditional() -> Curves:
    """The deep-MLP table with ``momentum`` active only for ``sgd``."""
    frame = pd.read_parquet(BENCH / "deep_mlp_synthetic10_curves.parquet")
    frame.loc[frame["config.solver"] != "sgd", "config.momentum"] = np.nan
    return Curves(frame, ["val_accuracy", "val_loss"])


TABLES = {"report_grid_cond": report_grid_conditional, "deep_mlp_cond": deep_mlp_conditional}


class _TPEVariant(quality.Benchmark):
    """A benchmark whose ``tpe`` sampler uses the given Optuna options."""

    options: tuple[bool, bool] = (True, True)

    def _sampler(self, kind: str, seed: int) -> TableSampler:
        sampler = super()._sampler(kind, seed)
        if kind == "tpe":
            from hpo.samplers import TPESampler

            multivariate, group = self.options
            space = sampler._tpe.space  # type: ignore[union-attr]
            sampler._tpe = TPESampler(space, seed, multivariate=multivariate, group=group)
        return sampler


def run_table(curves: Curves, seeds: int, max_epochs: int, iterations: int) -> dict[str, Any]:
    """Every method and TPE variant on one table: median best at full and tenth budget."""
    bench = quality.Benchmark(curves, max_epochs=max_epochs)
    budget = bench.hyperband_budget * iterations
    bench = quality.Benchmark(curves, max_epochs=max_epochs, budget=budget)
    traces, seconds = [], {}
    for method in METHODS:
        start = time.perf_counter()
        traces += [bench.run(method, s, 1) for s in range(seeds)]
        seconds[method] = round(time.perf_counter() - start, 1)
    for name, options in TPE_VARIANTS.items():
        variant = _TPEVariant(curves, max_epochs=max_epochs, budget=budget)
        variant.options = options
        for s in range(seeds):
            trace = variant.run("hyperband/tpe", s, 1)
            trace.method = name
            traces.append(trace)
    summary = quality.summarise(traces, bench.total, [1])
    out: dict[str, Any] = {"budget_epochs": bench.total, "configurations": curves.n_configs,
                           "real_seconds": seconds, "methods": {}}  # fmt: skip
    for method, case in summary["cases"].items():
        finals = [t.best_by_epochs(bench.total)[-1] for t in traces if t.method == method]
        out["methods"][method] = {
            "median_best_at_full_budget": case["median_best_at_full_budget"],
            "median_best_at_tenth_budget": case["median_best_at_tenth_budget"],
            "average_rank": case.get("average_rank"),
            "best_at_full_budget_by_seed": [round(float(v), 5) for v in finals],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 1 iteration")
    parser.add_argument("--seeds", type=int, default=None, help="[10; quick: 3]")
    parser.add_argument(
        "--iterations", type=int, default=None, help="budget in HyperBand iterations [4; quick: 1]"
    )
    parser.add_argument("--max-epochs", type=int, default=27, help="R [27]")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    seeds = args.seeds or (3 if args.quick else 10)
    iterations = args.iterations or (1 if args.quick else 4)
    report: dict[str, Any] = {"seeds": seeds, "max_epochs": args.max_epochs, "eta": 3,
                              "iterations": iterations, "workers": 1, "tables": {}}  # fmt: skip
    for name, build in TABLES.items():
        report["tables"][name] = run_table(build(), seeds, args.max_epochs, iterations)
        for method, row in report["tables"][name]["methods"].items():
            print(f"{name:<18}{method:<26}{row['median_best_at_full_budget']:>9}"
                  f"{row['median_best_at_tenth_budget']:>9}{row['average_rank']:>7}")  # fmt: skip
    report["median_of_medians"] = {
        m: statistics.median(t["methods"][m]["median_best_at_full_budget"]
                             for t in report["tables"].values())
        for m in [*METHODS, *TPE_VARIANTS]
    }  # fmt: skip
    write_report("conditional_samplers", report, args.quick, args.out)


if __name__ == "__main__":
    main()
