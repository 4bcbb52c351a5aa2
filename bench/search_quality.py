"""Search quality on the tabulated benchmark: every scheduler against random search and Optuna.

The recorded learning curves of the report's grid (``bench/record_curves.py``: 2,520
configurations of the MLP on ``digits``, 100 epochs each) are replayed on a virtual
clock, so that every method sees exactly the same work and a search of thousands of
epochs takes a fraction of a second. For each seed and each number of simulated workers
W in 1, 4, 16, 64, these methods run with the same epoch budget (five HyperBand
iterations at R = 100, η = 3: 9,515 epochs, about 95 full trainings):

* ``random``: random search at full budget (R epochs per configuration);
* ``grid``: the grid in the report's file order at full budget;
* ``tpe``: TPE proposals (ours, fed by every epoch level) at full budget;
* ``sh/random``, ``sh/tpe``: the report's successive halving (N = 64, B = 600, so that
  the last survivors reach R), repeated with new configurations while the budget lasts;
* ``hyperband/random``, ``hyperband/tpe``: HyperBand's brackets (R = 100, η = 3);
* ``asha/random``, ``asha/tpe``: ASHA with promotion (pause/resume) and the budget;
* ``optuna-tpe-hyperband``: Optuna's TPESampler with its HyperbandPruner;
* ``optuna-random-sha``: Optuna's RandomSampler with its SuccessiveHalvingPruner.

Ours run through the real tuner loop with the simulator runner (a paused trial resumed
on another worker costs the measured time of restoring a saved MLP). Optuna's run through
its ask/tell interface with W trials in flight on the same virtual clock: each recorded
epoch is reported when it ends, ``should_prune`` decides, and a freed worker asks for
the next trial, as ``study.optimize`` with W workers would. Optuna's samplers see the
table's configurations as categorical choices. Like our table sampler, they run each
configuration at most once: a repeated proposal is told as failed and the nearest row
not run yet takes its place, as in our table sampler (``--optuna-repeats replay`` runs
repeats instead, replaying the same curve at full cost); the report counts the repeats.

Figures, read off the median over seeds:

* best validation accuracy so far against epochs spent (W = 1) and against simulated
  wall time (each W), sampled at a twentieth of the budget each (``median_best_*``);
* the goals of the issue: at every budget from a tenth of the full budget up (epochs, and
  wall time up to what random search takes), HyperBand and ASHA at least as good as both
  Optuna methods and better than random search; our best TPE scheduler better than
  Optuna's TPE with HyperbandPruner; ASHA's workers ≥ 95 % busy with W = 64;
* ``speedup_vs_random_epochs`` / ``speedup_vs_random_wall``: the epochs (or seconds) at
  which random search's median curve reaches its final value, divided by those at which
  the method's median curve first reaches it (None if it never does);
* ``busy_fraction``: the median share of worker time spent training, over the whole run
  and ``..._while_starting_trials`` (until the last new trial started, before the drain
  of the last promotions); ``asha_busy_by_search_size``: ASHA's busy fraction with 64
  workers as the search grows (synthetic curves; the grid has only 2,520 rows);
* ``spearman_vs_final``: the rank correlation over the table's configurations between the
  validation accuracy after e epochs and after the last, which bounds what any
  early-stopping method can gain.

    python bench/search_quality.py            # 20 seeds, W = 1, 4, 16, 64
    python bench/search_quality.py --quick    # 3 seeds, W = 1 and 64, a fifth of the budget

Writes ``results/benchmarks/search_quality.json`` and ``search_quality.html`` (plotly).
"""

from __future__ import annotations

import argparse
import heapq
import math
import multiprocessing
import os
import pickle
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, write_report

from hpo.budgets import hyperband_brackets, successive_halving_rounds
from hpo.runners._simulator import Curves, SimulatorRunner, TableSampler, _listify
from hpo.samplers import _choice_key
from hpo.schedulers import ASHA, HyperBand, RandomSearch, Scheduler, SuccessiveHalving
from hpo.tuner import NullRecorder, Tuner

TABLE = RESULTS / "report_grid_curves.parquet"
METRIC = "val_accuracy"
R, ETA = 100, 3
OURS = (
    "random", "grid", "tpe", "sh/random", "sh/tpe", "hyperband/random", "hyperband/tpe",
    "asha/random", "asha/tpe",
)  # fmt: skip
OPTUNA = ("optuna-tpe-hyperband", "optuna-random-sha")
METHODS = OURS + OPTUNA
OPTUNA_REPEATS = "skip"  # what happens to configurations Optuna proposes again (see run_optuna)


@dataclass
class Trace:
    """One run: every epoch's (virtual end time, value), in the order they ended."""

    method: str
    seed: int
    workers: int
    ended_at: np.ndarray
    values: np.ndarray
    busy_fraction: float
    busy_while_starting: float
    trials: int
    duplicates: int = 0

    def best_by_epochs(self, budget: int) -> np.ndarray:
        """Best so far after 1 … ``budget`` epochs (flat after the run's last epoch)."""
        best = np.maximum.accumulate(np.nan_to_num(self.values[:budget], nan=0.0))
        return np.pad(best, (0, budget - len(best)), mode="edge")

    def best_at(self, times: np.ndarray) -> np.ndarray:
        """Best so far at each of ``times`` (0 before the first epoch ends)."""
        best = np.maximum.accumulate(np.nan_to_num(self.values, nan=0.0))
        index = np.searchsorted(self.ended_at, times, side="right") - 1
        return np.where(index >= 0, best[np.maximum(index, 0)], 0.0)


# -- the table and the plans ---------------------------------------------------------------------


_CURVES: Curves | None = None


def _load(path: str) -> None:
    global _CURVES
    _CURVES = Curves.read(path, metrics=[METRIC, "val_loss"])


def curves() -> Curves:
    assert _CURVES is not None, "call _load first"
    return _CURVES


def hyperband_budget() -> int:
    """Epochs of one HyperBand iteration at R, η (1,903 for R = 100, η = 3)."""
    return sum(b.budget for b in hyperband_brackets(R, ETA))


def report_sh_plan(max_epochs: int) -> tuple[int, int]:
    """(N, B) for the report's successive halving on a table of ``max_epochs`` epochs.

    The report's form gives the last round's survivors about B/⌈log₂N⌉ epochs in all and
    needs B ≥ N·⌈log₂N⌉, so N cannot usefully exceed R. This picks the largest power of
    two N with a budget whose survivors end at most at R, and the largest such B.
    """
    best: tuple[int, int] | None = None
    n = 2
    while n <= max_epochs:
        rounds = math.ceil(math.log2(n))
        b = n * rounds
        if successive_halving_rounds(n, b).rungs[-1].epochs <= max_epochs:
            while successive_halving_rounds(n, b + 1).rungs[-1].epochs <= max_epochs:
                b += 1
            best = (n, b)
        n *= 2
    assert best is not None
    return best


def make_scheduler(method: str, seed: int, budget: int) -> Scheduler:
    """One of our methods over the table, spending at most ``budget`` epochs."""
    kind, _, sampler_kind = method.partition("/")
    table = curves()
    if kind == "grid":
        return RandomSearch(TableSampler(table, "grid", seed), budget // R, R, seed=seed)
    if kind in ("random", "tpe"):
        return RandomSearch(TableSampler(table, kind, seed), budget // R, R, seed=seed)
    sampler = TableSampler(table, sampler_kind, seed)
    if kind == "sh":
        n, b = report_sh_plan(R)
        spent = successive_halving_rounds(n, b).budget  # what one bracket really spends
        return SuccessiveHalving(sampler, n, budget=b, iterations=budget // spent, seed=seed)
    if kind == "hyperband":
        return HyperBand(sampler, R, eta=ETA, iterations=max(1, budget // hyperband_budget()),
                         seed=seed)  # fmt: skip
    if kind == "asha":
        return ASHA(sampler, R, eta=ETA, budget=budget, seed=seed)
    raise ValueError(f"unknown method {method!r}")


class _TimeRecorder(NullRecorder):
    """Keeps each recorded epoch's virtual end time and value."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None) -> None:  # fmt: skip
        self.points.append((float(ended_at or 0.0), math.nan if value is None else value))


def run_ours(method: str, seed: int, workers: int, budget: int, resume_s: float) -> Trace:
    scheduler = make_scheduler(method, seed, budget)
    runner = SimulatorRunner(curves(), workers, resume_seconds=resume_s)
    recorder = _TimeRecorder()
    Tuner(scheduler, runner, recorder, metric=METRIC).run()
    points = sorted(recorder.points, key=lambda p: p[0])  # stable: ties keep record order
    return Trace(
        method, seed, workers,
        np.array([p[0] for p in points]), np.array([p[1] for p in points]),
        runner.busy_fraction(), runner.busy_fraction_while_starting(), len(scheduler.trials),
    )  # fmt: skip


def run_optuna(method: str, seed: int, workers: int, budget: int, repeats: str = "skip") -> Trace:
    """Optuna's sampler and pruner over the table, W trials in flight on a virtual clock.

    On a finite table Optuna proposes configurations it has already run (a third of
    random sampling's proposals here). With ``repeats="skip"`` (the default) such a
    proposal is told as failed, so that no sampler learns from it, and the nearest row
    not run yet is enqueued and run instead: the rule our table sampler follows.
    ``"replay"`` runs repeats, replaying the same curve at full cost.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table = curves()
    space = table.space()
    dists = {n: CategoricalDistribution([_choice_key(_listify(v)) for v in p.values])  # type: ignore[union-attr]
             for n, p in space.params.items()}  # fmt: skip
    if method == "optuna-tpe-hyperband":
        sampler: Any = optuna.samplers.TPESampler(seed=seed)
        pruner: Any = optuna.pruners.HyperbandPruner(1, R, ETA)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    acc, seconds = table.values[METRIC], table.values["seconds"]
    heap: list[
        tuple[float, int, float, Any, int, int]
    ] = []  # (end, order, start, trial, cid, epoch)
    seen: set[int] = set()
    duplicates = trials = order = 0
    last_start = 0.0
    intervals: list[tuple[float, float]] = []

    def propose() -> tuple[Any, int]:
        nonlocal duplicates
        trial = study.ask(dists)
        config = {**space.fixed, **{n: _decode(trial.params[n]) for n in dists}}
        cid = table.nearest(config)  # exact on a full grid
        if cid not in seen or repeats == "replay":
            duplicates += cid in seen
            return trial, cid
        # A repeat: like our table sampler, take the nearest row not run yet instead.
        duplicates += 1
        study.tell(trial, state=TrialState.FAIL)  # not run, so not learned from
        cid = table.nearest(config, seen)
        study.enqueue_trial({n: _choice_key(_listify(table.configs[cid][n])) for n in dists})
        return study.ask(dists), cid

    def start(now: float) -> None:
        nonlocal trials, order, last_start
        if repeats == "skip" and len(seen) >= table.n_configs:
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
    while heap and len(points) < budget:
        end, _, began, trial, cid, epoch = heapq.heappop(heap)
        busy += end - began
        intervals.append((began, end))
        value = float(acc[cid, epoch - 1])
        points.append((end, value))
        trial.report(value, epoch)
        if epoch == R:
            study.tell(trial, value)
        elif trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
        else:
            order += 1
            heapq.heappush(heap, (end + seconds[cid, epoch], order, end, trial, cid, epoch + 1))
            continue
        if len(points) + len(heap) < budget:
            start(end)
    now = points[-1][0]
    busy += sum(now - began for _, _, began, *_ in heap)  # epochs cut short by the budget
    intervals += [(began, math.inf) for _, _, began, *_ in heap]
    span = np.array(intervals)
    steady = np.clip(np.minimum(span[:, 1], last_start) - span[:, 0], 0, None).sum()
    steady_share = steady / (workers * last_start) if last_start > 0 else math.nan
    return Trace(
        method, seed, workers,
        np.array([p[0] for p in points]), np.array([p[1] for p in points]),
        busy / (workers * now), steady_share,
        trials, duplicates,
    )  # fmt: skip


def _decode(value: Any) -> Any:
    import json

    if isinstance(value, str) and value[:1] == "[":
        return tuple(json.loads(value))
    return value


def run_one(job: tuple[str, int, int, int, float]) -> Trace:
    method, seed, workers, budget, resume_s = job
    if method in OPTUNA:
        return run_optuna(method, seed, workers, budget, OPTUNA_REPEATS)
    return run_ours(method, seed, workers, budget, resume_s)


# -- reading the goals off the median curves -----------------------------------------------------


def _nan_median(values: list[float]) -> float | None:
    """Median of the defined values (None if none is: every trial started at time 0)."""
    defined = [v for v in values if not math.isnan(v)]
    return round(statistics.median(defined), 4) if defined else None


def first_reach(curve: np.ndarray, axis: np.ndarray, target: float) -> float | None:
    """Where ``curve`` (non-decreasing) first reaches ``target`` on ``axis``; None if never."""
    hit = np.nonzero(curve >= target - 1e-12)[0]
    return float(axis[hit[0]]) if len(hit) else None


def compare_curves(a: np.ndarray, b: np.ndarray, start: int) -> dict[str, Any]:
    """How curve ``a`` stands against ``b`` from index ``start`` on (the tenth of the budget)."""
    diff = a[start:] - b[start:]
    return {
        "at_least_as_good_everywhere": bool(np.all(diff >= -1e-12)),
        "better_everywhere": bool(np.all(diff > 1e-12)),
        "share_of_budgets_at_least_as_good": round(float(np.mean(diff >= -1e-12)), 4),
        "worst_margin": round(float(diff.min()), 5),
        "margin_at_full_budget": round(float(diff[-1]), 5),
    }


def measured_resume_seconds() -> float:
    """What resuming a paused MLP costs on another worker: unpickle a saved state and
    restore it, for the grid's largest network (median of 20)."""
    from trainers.data import load_dataset
    from trainers.mlp import MLPTrainer

    data = load_dataset("digits")
    config = dict(curves().configs[-1])
    config["hidden_layer_sizes"] = (100,) * 5
    trainer = MLPTrainer(data, dtype="float32")
    trainer.setup(config, 0)
    trainer.step()
    blob = pickle.dumps(trainer.save())
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        fresh = MLPTrainer(data, dtype="float32")
        fresh.restore(pickle.loads(blob))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def spearman_vs_final(table: Curves, epochs: list[int]) -> dict[str, float]:
    from scipy.stats import spearmanr

    acc = table.values[METRIC]
    final = acc[:, table.max_epochs - 1]
    return {str(e): round(float(spearmanr(acc[:, e - 1], final).statistic), 4) for e in epochs}


def summarise(traces: list[Trace], budget: int, workers: list[int], points: int) -> dict[str, Any]:
    by: dict[tuple[str, int], list[Trace]] = {}
    for t in traces:
        by.setdefault((t.method, t.workers), []).append(t)
    epochs_axis = np.arange(1, budget + 1)
    tenth = budget // 10 - 1
    sample = np.linspace(budget / points, budget, points).round().astype(int) - 1
    cases: dict[str, Any] = {}
    curves_out: dict[str, Any] = {"epochs": {}, "wall": {}}
    # Epoch curves with one worker.
    median_e = {
        m: np.median(np.stack([t.best_by_epochs(budget) for t in by[(m, 1)]]), axis=0)
        for m in METHODS if (m, 1) in by
    }  # fmt: skip
    random_final = float(median_e["random"][-1])
    random_epochs = first_reach(median_e["random"], epochs_axis, random_final)
    assert random_epochs is not None
    for m, curve in median_e.items():
        reach = first_reach(curve, epochs_axis, random_final)
        cases[m] = {
            "median_best_at_full_budget": round(float(curve[-1]), 5),
            "median_best_at_tenth_budget": round(float(curve[tenth]), 5),
            "median_best_by_epochs": [round(float(curve[i]), 5) for i in sample],
            "epochs_to_random_final": reach,
            "speedup_vs_random_epochs": None if reach is None else round(random_epochs / reach, 2),
            "median_trials": statistics.median(t.trials for t in by[(m, 1)]),
        }
        if m in OPTUNA:
            cases[m]["median_repeated_proposals"] = statistics.median(
                t.duplicates for t in by[(m, 1)]
            )
        curves_out["epochs"][m] = curve
    # Wall-time curves for each W, up to the time random search takes to spend the budget.
    wall: dict[int, dict[str, np.ndarray]] = {}
    for w in workers:
        full = statistics.median(t.ended_at[-1] for t in by[("random", w)])
        axis = np.linspace(full / 2000, full, 2000)
        wall[w] = {
            m: np.median(np.stack([t.best_at(axis) for t in by[(m, w)]]), axis=0)
            for m in METHODS if (m, w) in by
        }  # fmt: skip
        rand = wall[w]["random"]
        rand_t = first_reach(rand, axis, float(rand[-1]))
        assert rand_t is not None
        idx = np.linspace(2000 / points, 2000, points).round().astype(int) - 1
        for m, curve in wall[w].items():
            reach = first_reach(curve, axis, float(rand[-1]))
            runs = by[(m, w)]
            cases[m][f"workers_{w}"] = {
                "random_search_wall_s": round(full, 2),
                "median_wall_s": round(statistics.median(t.ended_at[-1] for t in runs), 2),
                "busy_fraction": round(statistics.median(t.busy_fraction for t in runs), 4),
                "busy_fraction_while_starting_trials": _nan_median(
                    [t.busy_while_starting for t in runs]
                ),
                "median_best_by_wall": [round(float(curve[i]), 5) for i in idx],
                "speedup_vs_random_wall": None if reach is None else round(rand_t / reach, 2),
            }
        curves_out["wall"][w] = (axis, wall[w])
    goals = _goals(median_e, wall, tenth, workers, cases)
    return {"cases": cases, "goals": goals, "_curves": curves_out}


def _goals(median_e: dict[str, np.ndarray], wall: dict[int, dict[str, np.ndarray]], tenth: int,
           workers: list[int], cases: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Every pairing the issue names, against epochs (W = 1) and wall time (each W)."""
    pairs = [
        (ours, other)
        for ours in ("hyperband/random", "hyperband/tpe", "asha/random", "asha/tpe")
        for other in ("optuna-tpe-hyperband", "optuna-random-sha", "random")
    ]
    tpe_methods = [m for m in ("sh/tpe", "hyperband/tpe", "asha/tpe", "tpe") if m in median_e]
    best_tpe = (
        max(tpe_methods, key=lambda m: float(median_e[m][tenth:].mean())) if tpe_methods else None
    )
    pairs.append((best_tpe, "optuna-tpe-hyperband"))
    pairs = [(a, b) for a, b in pairs if a in median_e and b in median_e]  # methods that ran
    out: dict[str, Any] = {"best_tpe_scheduler": best_tpe, "by_epochs_1_worker": {}, "by_wall": {}}
    for ours, other in pairs:
        key = f"{ours} vs {other}"
        out["by_epochs_1_worker"][key] = compare_curves(median_e[ours], median_e[other], tenth)
        for w in workers:
            start = 2000 // 10 - 1
            out["by_wall"].setdefault(f"workers_{w}", {})[key] = compare_curves(
                wall[w][ours], wall[w][other], start
            )
    for m in [m for m in ("asha/random", "asha/tpe") if m in cases]:
        at = cases[m].get(f"workers_{max(workers)}", {})
        busy, steady = at.get("busy_fraction"), at.get("busy_fraction_while_starting_trials")
        out[f"{m} busy with {max(workers)} workers"] = {
            "busy_fraction": busy,
            "busy_fraction_while_starting_trials": steady,
            "goal_95_percent_met_overall": busy is not None and busy >= 0.95,
            "goal_95_percent_met_while_starting_trials": steady is not None and steady >= 0.95,
        }
    return out


def asha_busy_by_size(seeds: int, workers: int, sizes: list[int]) -> dict[str, Any]:
    """ASHA's busy fraction with ``workers`` workers as the search grows, on synthetic
    curves of R = 100 epochs (the recorded grid has only 2,520 configurations). ASHA's
    steady state never waits; what idles workers is the drain at the end, when the last
    promoted trials train their remaining epochs one after another, so the busy fraction
    is about 1 − drain / wall time and rises with the budget per worker."""
    from hpo.runners._simulator import synthetic_curves

    out = {}
    for n in sizes:
        table = synthetic_curves(n, R, seed=1)
        runs = []
        for seed in range(seeds):
            scheduler = ASHA(
                TableSampler(table, "random", seed), R, eta=ETA, n_configs=n, seed=seed
            )
            runner = SimulatorRunner(table, workers)
            Tuner(scheduler, runner, NullRecorder(), metric=METRIC).run()
            runs.append((runner.busy_fraction(), scheduler.epochs_spent))
        out[f"configs_{n}"] = {
            "epochs_per_worker": round(statistics.median(e for _, e in runs) / workers, 1),
            "busy_fraction": round(statistics.median(b for b, _ in runs), 4),
        }
    return out


def _map(jobs: list[tuple[str, int, int, int, float]], processes: int, path: str) -> list[Trace]:
    if processes > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(processes, initializer=_load, initargs=(path,)) as pool:
            return pool.map(run_one, jobs, chunksize=1)
    return [run_one(j) for j in jobs]


def write_html(curves_out: dict[str, Any], budget: int, workers: list[int], path: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = ["best so far against epochs spent (1 worker)"] + [
        f"against simulated wall time in s, {w} worker{'s' * (w > 1)}" for w in workers
    ]
    cols = 2
    rows = -(-len(titles) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    palette = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
               "#b6e880", "#ff97ff", "#fecb52", "#222222"]  # fmt: skip
    colours = dict(zip(METHODS, palette, strict=True))
    step = max(1, budget // 1000)
    for m, curve in curves_out["epochs"].items():
        fig.add_trace(go.Scatter(x=np.arange(1, budget + 1)[::step], y=curve[::step], name=m,
                                 legendgroup=m, line={"color": colours[m],
                                 "dash": "dot" if m in OPTUNA else "solid"}), 1, 1)  # fmt: skip
    for i, w in enumerate(workers, start=1):
        axis, by_method = curves_out["wall"][w]
        for m, curve in by_method.items():
            fig.add_trace(go.Scatter(x=axis, y=curve, name=m, legendgroup=m, showlegend=False,
                                     line={"color": colours[m],
                                     "dash": "dot" if m in OPTUNA else "solid"}),
                          1 + i // cols, 1 + i % cols)  # fmt: skip
    fig.update_xaxes(type="log")  # the early budgets are where methods differ
    fig.update_yaxes(range=[0.94, 0.985], title_text="median best val accuracy")
    fig.update_layout(height=380 * rows, title="Search quality on the report's grid (digits), "
                      "median over seeds")  # fmt: skip
    fig.write_html(path, include_plotlyjs="directory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 1 and 64 workers, budget/5")
    parser.add_argument("--table", default=str(TABLE), help="recorded table (parquet or CSV)")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=None,
                        help="budget in HyperBand iterations [5; quick: 1]")  # fmt: skip
    parser.add_argument("--workers", default=None, help="comma-separated [1,4,16,64; quick: 1,64]")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--optuna-repeats", choices=["skip", "replay"], default="skip",
                        help="configurations Optuna proposes again: ask again (skip, as our "
                        "samplers do) or run them again at full cost (replay)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    args = parser.parse_args()
    global OPTUNA_REPEATS
    OPTUNA_REPEATS = args.optuna_repeats  # read by the pool's forked workers
    seeds = args.seeds or (3 if args.quick else 20)
    iterations = args.iterations or (1 if args.quick else 5)
    workers = [int(w) for w in (args.workers or ("1,64" if args.quick else "1,4,16,64")).split(",")]
    if 1 not in workers:
        workers.insert(0, 1)
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown or "random" not in methods:
        parser.error(f"methods must include random and come from {', '.join(METHODS)}")
    _load(args.table)
    table = curves()
    if table.max_epochs < R:
        parser.error(
            f"the table's curves end at epoch {table.max_epochs}; this benchmark needs {R}"
        )
    budget = iterations * hyperband_budget()
    resume_s = measured_resume_seconds()
    jobs = [(m, s, w, budget, resume_s) for w in workers for m in methods for s in range(seeds)]
    # Longest first, so that the pool's last jobs are short.
    jobs.sort(key=lambda j: ("tpe" not in j[0], -j[2]))
    started = time.perf_counter()
    traces = _map(jobs, args.processes, args.table)
    summary = summarise(traces, budget, workers, points=20)
    summary["asha_busy_by_search_size"] = {
        f"workers_{max(workers)}": asha_busy_by_size(
            1 if args.quick else 3,
            max(workers),
            [3000, 10000] if args.quick else [3000, 10000, 30000],
        )
    }
    elapsed = time.perf_counter() - started
    curves_out = summary.pop("_curves")
    n, b = report_sh_plan(R)
    report = {
        "benchmark": "search_quality",
        "table": {
            "path": str(Path(args.table).resolve().relative_to(RESULTS.parents[1]))
            if Path(args.table).resolve().is_relative_to(RESULTS.parents[1])
            else args.table,
            "configurations": table.n_configs,
            "epochs": table.max_epochs,
            "best_final_val_accuracy": round(float(np.nanmax(table.values[METRIC][:, -1])), 5),
            "best_any_epoch_val_accuracy": round(float(np.nanmax(table.values[METRIC])), 5),
            "spearman_vs_final": spearman_vs_final(table, [1, 3, 11, 33, 50]),
        },
        "settings": {
            "seeds": seeds,
            "workers": workers,
            "budget_epochs": budget,
            "budget_hyperband_iterations": iterations,
            "max_epochs": R,
            "eta": ETA,
            "sh_report_form": {
                "n_configs": n,
                "budget_per_bracket": b,
                "epochs_per_bracket": successive_halving_rounds(n, b).budget,
                "brackets": budget // successive_halving_rounds(n, b).budget,
            },
            "optuna_repeated_proposals": OPTUNA_REPEATS,
            "resume_seconds_measured": round(resume_s, 6),
            "curve_points": "median_best_* lists hold 20 points: budget/20, 2·budget/20, … budget",
        },
        "wall_s": round(elapsed, 1),
        **summary,
    }
    out = args.out or RESULTS / (
        "search_quality.quick.json" if args.quick else "search_quality.json"
    )
    html = out.with_suffix(".html")
    write_html(curves_out, budget, workers, html)
    write_report("search_quality", report, args.quick, out)
    print(f"wrote {out} and {html}")


if __name__ == "__main__":
    main()
