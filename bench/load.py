"""Load: 100,000 simulated trials on 1,000 simulated workers through the real tuner and
study database; and the dashboard reading while a search writes.

1. ASHA (R = 27, η = 3) over a synthetic table of learning curves, replayed by the
   simulator runner with 1,000 workers, recorded by the real study writer. Afterwards the
   database is checked: every trial has exactly its epochs 1 … k, each k is a rung it
   reached (or where it ended), counts agree with the scheduler, and the recorded log
   replays into a fresh scheduler with the same state. Figures: ``wall_s``,
   ``peak_rss_mb`` (of this process), ``consistent``.
2. The same kind of search (smaller) written with and without a dashboard reader
   polling the JSON API as a live page does (in another process); alternating, several
   times, the writer pinned to one core and the dashboard and reader to the other (so
   that what is measured is the database, not two processes sharing a core). Figure:
   ``writer_epochs_per_s`` with and without, and their ratio.

    python bench/load.py            # 100,000 trials
    python bench/load.py --quick    # 10,000 trials

Writes ``results/benchmarks/load.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import write_report

from hpo.runners._simulator import SimulatorRunner
from hpo.schedulers import ASHA, TrialStatus
from hpo.store import StudyReader, StudyWriter, connect
from hpo.tables import TableSampler, synthetic_curves
from hpo.tuner import Tuner

R, ETA = 27, 3


def simulated_search(
    db: Path, name: str, n_trials: int, workers: int, flush_every: float
) -> tuple[ASHA, float]:
    curves = synthetic_curves(n_trials, R)
    writer = StudyWriter(db, name)
    writer.create({"space": {"learning_rate_init": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
                             "activation": ["relu", "tanh", "elu"]},
                   "scheduler": "asha", "max_epochs": R, "n_configs": n_trials},
                  metric="val_accuracy", mode="max", scheduler="asha")  # fmt: skip
    scheduler = ASHA(TableSampler(curves, "random", 0), R, eta=ETA, n_configs=n_trials)
    start = time.perf_counter()
    Tuner(scheduler, SimulatorRunner(curves, workers), writer, flush_every=flush_every).run()
    writer.close("finished")
    return scheduler, time.perf_counter() - start


def check_consistency(db: Path, name: str, scheduler: ASHA) -> dict[str, object]:
    """Every trial's epochs are 1 … k with no gap or duplicate, k where it stopped; the log replays."""
    with StudyReader(db) as r:
        epochs = r.epochs(name)[["trial_id", "epoch"]]
        trials = r.trials(name).set_index("trial_id")
    per_trial = epochs.groupby("trial_id")["epoch"].agg(["count", "max", "min", "nunique"])
    contiguous = bool(((per_trial["count"] == per_trial["max"]) & (per_trial["min"] == 1)
                       & (per_trial["nunique"] == per_trial["count"])).all())  # fmt: skip
    matches = all(
        per_trial.loc[t, "max"] == trials.loc[t, "epochs"] == rec.epochs
        for t, rec in scheduler.trials.items()
    )
    at_rungs = all(rec.epochs in scheduler.rung_epochs for rec in scheduler.trials.values())
    all_over = all(rec.status.is_over for rec in scheduler.trials.values())
    writer = StudyWriter(db, name)
    try:
        writer.open_existing()
        fresh = ASHA(TableSampler(synthetic_curves(len(scheduler.trials), R), "random", 0), R, eta=ETA,
                     n_configs=len(scheduler.trials))  # fmt: skip
        Tuner(fresh, SimulatorRunner(synthetic_curves(1, R), 1), writer).replay(writer.log())
        fresh.finish()
        replays = all(
            (fresh.trials[t].epochs, fresh.trials[t].status) == (rec.epochs, rec.status)
            for t, rec in scheduler.trials.items()
        )
    finally:
        writer.close()
    completed = sum(rec.status is TrialStatus.COMPLETED for rec in scheduler.trials.values())
    failed = sum(rec.status is TrialStatus.FAILED for rec in scheduler.trials.values())
    promoted = sum(rec.epochs > scheduler.rung_epochs[0] for rec in scheduler.trials.values())
    return {
        "trials_in_db": len(trials),
        "epochs_in_db": len(epochs),
        "completed_trials": completed,
        "promoted_trials": promoted,
        "failed_trials": failed,
        "epochs_contiguous": contiguous,
        "epochs_match_scheduler": matches,
        "every_trial_ended_at_a_rung": at_rungs,
        "every_trial_over": all_over,
        "log_replays_exactly": replays,
        # A search where nothing was promoted, or something failed, proves nothing.
        "consistent": contiguous
        and matches
        and at_rungs
        and all_over
        and replays
        and failed == 0
        and completed > 0,
    }


READER = """
import json, sys, time, urllib.request
url, name = sys.argv[1], sys.argv[2]
cursors = {"epochs": 0, "events": 0, "trials": 0}
while True:
    try:
        q = f"{url}/api/studies/{name}/delta?epochs={cursors['epochs']}&events={cursors['events']}&trials={cursors['trials']}"
        d = json.loads(urllib.request.urlopen(q).read())
        cursors = {k: d[k]["cursor"] for k in cursors}
    except Exception:
        pass
    time.sleep(0.05)
"""


def writer_rate(db: Path, name: str, n_trials: int, reader: bool) -> float:
    """Epochs per second the tuner writes, with or without a live dashboard reading."""
    procs = []
    connect(db).close()  # the database exists (empty) before anyone reads it
    if reader:
        # A study must exist before the dashboard starts: the search creates it, so the
        # server starts without a default study and the reader names it.
        server = subprocess.Popen([sys.executable, "-m", "hpo", "dashboard", "--port", "0", "--storage", str(db)],
                                  stdout=subprocess.PIPE, text=True, preexec_fn=_pin(READER_CPUS))  # fmt: skip
        line = server.stdout.readline()
        url = line.split(" at ")[1].split()[0].rstrip("/")
        procs = [server, subprocess.Popen([sys.executable, "-c", READER, url, name],
                                          preexec_fn=_pin(READER_CPUS))]  # fmt: skip
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, WRITER_CPUS)
    try:
        scheduler, seconds = simulated_search(db, name, n_trials, 64, 0.0)
    finally:
        os.sched_setaffinity(0, before)
        for p in procs:
            p.kill()
            p.wait()
    return scheduler.epochs_spent / seconds


# The writer on one core, the dashboard and its reader on the other: what remains of a
# slowdown is the database (locks, I/O), not two processes sharing one core.
_CPUS = sorted(os.sched_getaffinity(0))
WRITER_CPUS = {_CPUS[0]}
READER_CPUS = set(_CPUS[1:]) or WRITER_CPUS


def _pin(cpus: set[int]) -> Callable[[], None]:
    return lambda: os.sched_setaffinity(0, cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 trials")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        scheduler, seconds = simulated_search(db, "load", n, 1000, flush_every=0.5)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        consistency = check_consistency(db, "load", scheduler)
        size_mb = db.stat().st_size / 2**20
        print("load", seconds, peak_rss, consistency, flush=True)

        rates: dict[bool, list[float]] = {False: [], True: []}
        for i in range(3):
            for reader in (False, True):
                rates[reader].append(
                    writer_rate(Path(tmp) / f"rw{i}{reader}.db", "rw", 3000, reader)
                )
        print("rates", rates, flush=True)
    without, with_reader = statistics.median(rates[False]), statistics.median(rates[True])
    report = {
        "benchmark": "load",
        "mode": "quick" if args.quick else "full",
        "cases": {
            f"asha-{n}-trials-1000-workers": {
                "trials": len(scheduler.trials),
                "epochs": scheduler.epochs_spent,
                "simulated_workers": 1000,
                "wall_s": round(seconds, 1),
                "peak_rss_mb": round(peak_rss, 1),
                "database_mb": round(size_mb, 1),
                **consistency,
            },
            "writer-with-dashboard-reader": {
                "trials": 3000,
                "writer_epochs_per_s_alone": round(without, 1),
                "writer_epochs_per_s_with_reader": round(with_reader, 1),
                "ratio_with_over_alone": round(with_reader / without, 3),
                "repeats": 3,
                "writer_cpus": sorted(WRITER_CPUS),
                "reader_cpus": sorted(READER_CPUS),
            },
        },
    }
    write_report("load", report, args.quick)


if __name__ == "__main__":
    main()
