"""Training-set size as the budget, on LCDB: does our successive halving pick each
dataset's best learner, and at what share of the cost of fitting them all?

LCDB 0.1.0 (Mohr et al. 2022) holds learning curves over the training-set size of 20
scikit-learn learners on up to 248 datasets (validation accuracy and fit time, means over
LCDB's seeds; ``bench/foreign_tables.py`` reads its CSV files). For each dataset, the
learners that reached its largest recorded size are the configurations; our successive
halving (``resource: samples``, η = 3, the same scheduler ``hpo run --resource samples``
uses, through the real tuner loop) refits the survivors on ever larger training sets, up
to the largest, over as many rungs as the learners allow (scikit-learn's
``min_resources="exhaust"``). A fit on n samples is looked up:
the accuracy and fit time at the largest recorded size ≤ n.

Figures over datasets: how often the learner chosen is the best at the largest size (and
within 0.5 and 1 percentage points of it), the median regret, and the cost — recorded fit
seconds — against fitting every learner at the largest size (the exhaustive choice) and
against choosing by each learner's accuracy at the smallest size (one cheap look).

    python bench/lcdb_halving.py           # every dataset with at least 8 such learners
    python bench/lcdb_halving.py --quick   # 30 datasets

Writes ``results/benchmarks/lcdb_halving.json`` (``--quick``: ``.quick.json``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd
from _common import require, table_anchor, write_report
from foreign_tables import ROOT

from hpo.budgets import exhaust_min_resources
from hpo.runners._serial import SerialRunner
from hpo.settings import SearchSettings
from hpo.tuner import NullRecorder, Tuner

TABLE = ROOT / "results" / "tables" / "lcdb_accuracy.parquet"


class Lookup:
    """A learner whose fit on n samples is read off its recorded curve (the trainer
    protocol with ``fit(n)``, as :class:`trainers.sklearn_samples.SubsampleTrainer`)."""

    def __init__(self, curves: dict[str, pd.DataFrame], spent: list[float]) -> None:
        self.curves, self.spent = curves, spent
        self.learner = ""

    def setup(self, config: dict[str, Any], seed: int) -> None:
        self.learner = config["learner"]

    def fit(self, n: int) -> dict[str, float]:
        curve = self.curves[self.learner]
        row = curve[curve.index <= n].iloc[-1]
        self.spent.append(float(row["seconds"]))
        return {"val_accuracy": float(row["val_accuracy"])}

    def save(self) -> dict[str, Any]:
        return {"learner": self.learner}

    def restore(self, state: dict[str, Any]) -> None:
        self.learner = state["learner"]


def one_dataset(frame: pd.DataFrame, eta: int) -> dict[str, Any] | None:
    largest = int(frame["size_train"].max())
    at_largest = frame[frame["size_train"] == largest]
    learners = sorted(at_largest["config.learner"])
    if len(learners) < 8:
        return None
    curves = {name: g.set_index("size_train").sort_index() for name, g in frame.groupby("config.learner")
              if name in learners}  # fmt: skip
    # As scikit-learn's halving with min_resources="exhaust": as many rungs as the learners
    # allow (1 + ⌊log_η n⌋, counted with integers), the last at most the largest size
    # (r·η^k, as scikit-learn's); never below a size every learner has a value at.
    floor = max(int(c.index.min()) for c in curves.values())
    smallest = exhaust_min_resources(len(learners), largest, eta, floor)
    final = at_largest.set_index("config.learner")["val_accuracy"]
    spent: list[float] = []
    settings = SearchSettings.from_dict({
        "space": {"learner": learners}, "scheduler": "sh", "sampler": "grid",
        "n_configs": len(learners), "eta": eta, "resource": "samples",
        "min_resources": smallest, "max_resources": largest, "executor": "serial",
    })  # fmt: skip
    scheduler = settings.build_scheduler()
    runner = SerialRunner(lambda: Lookup(curves, spent), resource="samples")
    Tuner(scheduler, runner, NullRecorder(), metric="val_accuracy").run()
    chosen = scheduler.trials[scheduler.best_trial].config["learner"]
    cheap = max(
        learners, key=lambda name: float(curves[name].loc[:smallest].iloc[-1]["val_accuracy"])
    )
    exhaustive = float(sum(curves[name].loc[largest, "seconds"] for name in learners))
    best = float(final.max())
    return {
        "learners": len(learners),
        "sizes": [smallest, largest],
        "regret": best - float(final[chosen]),
        "regret_smallest_size_pick": best - float(final[cheap]),
        "cost_share": float(sum(spent)) / exhaustive if exhaustive > 0 else float("nan"),
        "cost_share_smallest_size_pick": float(
            sum(curves[name].loc[:smallest].iloc[-1]["seconds"] for name in learners)
        )
        / exhaustive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 datasets")
    parser.add_argument("--eta", type=int, default=3)
    args = parser.parse_args()
    require(table_anchor("LCDB", TABLE))
    started = time.perf_counter()
    table = pd.read_parquet(TABLE)
    ids = sorted(table["openmlid"].unique())[: 30 if args.quick else None]
    rows = {}
    for i in ids:
        result = one_dataset(table[table["openmlid"] == i], args.eta)
        if result is not None:
            rows[int(i)] = result

    def summary(regret: str, cost: str) -> dict[str, float]:
        values = [r[regret] for r in rows.values()]

        def share(within: float) -> float:
            return round(float(np.mean([v <= within + 1e-12 for v in values])), 4)

        return {"best_learner_chosen": share(0.0), "within_0.5_points": share(0.005),
                "within_1_point": share(0.01), "median_regret": round(statistics.median(values), 5),
                "mean_regret": round(statistics.fmean(values), 5),
                "median_cost_share_of_exhaustive": round(
                    statistics.median(r[cost] for r in rows.values()), 4)}  # fmt: skip

    report = {
        "benchmark": "lcdb_halving",
        "settings": {"eta": args.eta, "scheduler": "sh, resource samples, grid of the learners",
                     "datasets": len(rows), "value": "validation accuracy (LCDB's mean over seeds)"},
        "successive_halving": summary("regret", "cost_share"),
        "smallest_size_pick": summary("regret_smallest_size_pick", "cost_share_smallest_size_pick"),
        "datasets": {str(k): {kk: (round(v, 5) if isinstance(v, float) else v) for kk, v in r.items()}
                     for k, r in rows.items()},
        "wall_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    write_report("lcdb_halving", report, args.quick)


if __name__ == "__main__":
    main()
