"""Search quality on a recorded table: methods side by side on a virtual clock.

Any table of learning curves (see :mod:`hpo.runners._simulator` for its format) is
replayed for every method, seed and number of simulated workers, with the same rules:

* the same **epoch accounting**: an epoch is paid when it is trained; a promotion
  resumes the paused trial (it is not retrained), at ``resume_seconds`` of extra
  simulated time on a worker that does not hold it;
* the same **budget** (epochs; ``budget`` defaults to one HyperBand iteration at R, η)
  and the same **simulated clock** (each epoch takes its recorded seconds);
* the same **configurations**: every method draws the table's rows, each once unless
  ``replace``; model-based samplers see numbers as ranges (log where the values span
  more than a factor of 20, or where ``space`` says so).

A method is named ``scheduler/sampler`` (``hyperband/tpe``, ``asha/random``, …) or is one
of ``random``, ``tpe``, ``gp`` (full budget per configuration), ``grid`` (table order),
``optuna-tpe-hyperband``, ``optuna-random-sha`` (Optuna's samplers and pruners through
ask/tell, W trials in flight on the same clock). Each run is a :class:`Trace`: every
paid epoch's end time and value; :func:`summarise` reads the median anytime curves, the
speedups to random search's final best, busy fractions and ranks off them.

``hpo simulate TABLE --methods …`` and ``bench/search_quality.py`` are thin shells over
this module.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpo import registry
from hpo.budgets import hyperband_brackets
from hpo.runners._simulator import Curves, SimulatorRunner, TableSampler, _listify
from hpo.schedulers import Scheduler
from hpo.space import SearchSpace
from hpo.tuner import NullRecorder, Tuner


@dataclass
class Trace:
    """One run: every paid epoch's (virtual end time, value), in the order they ended.

    ``values`` are in the metric's own units; ``mode`` says which way is better.
    """

    method: str
    seed: int
    workers: int
    ended_at: np.ndarray
    values: np.ndarray
    busy_fraction: float
    busy_while_starting: float
    trials: int
    mode: str = "max"
    duplicates: int = 0
    failures: int = 0

    def _goodness(self) -> np.ndarray:
        """Values as 'higher is better', NaN (diverged) as the worst."""
        signed = self.values if self.mode == "max" else -self.values
        return np.nan_to_num(signed, nan=-np.inf)

    def best_by_epochs(self, budget: int) -> np.ndarray:
        """Best so far after 1 … ``budget`` epochs (flat after the run's last epoch)."""
        best = np.maximum.accumulate(self._goodness()[:budget])
        if len(best) == 0:
            best = np.array([-np.inf])
        best = np.pad(best, (0, max(0, budget - len(best))), mode="edge")
        return best if self.mode == "max" else -best

    def best_at(self, times: np.ndarray) -> np.ndarray:
        """Best so far at each of ``times`` (the worst value before the first epoch ends)."""
        best = np.maximum.accumulate(self._goodness())
        index = np.searchsorted(self.ended_at, times, side="right") - 1
        out = np.where(index >= 0, best[np.maximum(index, 0)], -np.inf)
        return out if self.mode == "max" else -out

    def to_json(self) -> dict[str, Any]:
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        data = dict(data)
        data["ended_at"], data["values"] = (
            np.asarray(data["ended_at"]),
            np.asarray(data["values"], float),
        )
        return cls(**data)


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
            return self._run_optuna(method, seed, workers)
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

    # -- Optuna, on the same clock ---------------------------------------------------------------

    def _run_optuna(self, method: str, seed: int, workers: int) -> Trace:
        """Optuna's sampler and pruner over the table, W trials in flight on a virtual clock.

        On a finite table Optuna proposes configurations it has already run. While rows
        remain that have not run, such a proposal is told as failed (so no sampler learns
        from it) and the nearest row not run yet is run instead: the rule our table
        sampler follows (with ``replace``, rows run again once all have run).
        """
        import optuna
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )
        from optuna.trial import TrialState

        from hpo.samplers import _choice_key, _suggest
        from hpo.space import Categorical, Float, Int

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        table, R = self.curves, self.R
        space = table.space(numeric=True, hint=self.space)  # what our samplers see, too
        dists: dict[str, Any] = {}
        for n, p in space.params.items():
            if isinstance(p, Categorical):
                dists[n] = CategoricalDistribution([_choice_key(_listify(v)) for v in p.values])
            elif isinstance(p, Int):
                dists[n] = IntDistribution(int(p.low), int(p.high), log=p.log)
            elif isinstance(p, Float):
                dists[n] = FloatDistribution(p.low, p.high, log=p.log)
        sampler, pruner = registry.optuna_method(method).parts(seed, R, 1, self.eta)
        direction = "maximize" if self.mode == "max" else "minimize"
        study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
        values, seconds = table.values[self.metric], table.values["seconds"]
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
                    values[n] = _decode(_suggest(trial, n, dists[n]))
            return trial

        def propose() -> tuple[Any, int]:
            nonlocal duplicates
            trial = ask()
            config = {
                **space.fixed,
                **{n: _decode(trial.params[n]) for n in dists if n in trial.params},
            }
            cid = table.nearest(config)  # exact on a full grid
            if cid not in seen or len(seen) >= table.n_configs:  # a row again only once all ran
                duplicates += cid in seen
                return trial, cid
            duplicates += 1
            study.tell(trial, state=TrialState.FAIL)  # not run, so not learned from
            cid = table.nearest(config, seen)
            study.enqueue_trial({n: _choice_key(_listify(table.configs[cid][n]))
                                 if isinstance(dists[n], CategoricalDistribution) else table.configs[cid][n]
                                 for n in dists if n in table.configs[cid]})  # fmt: skip
            return ask(), cid

        def start(now: float) -> None:
            nonlocal trials, order, last_start
            if not self.replace and len(seen) >= table.n_configs:
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
        while heap and len(points) < self.total:
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
                    heapq.heappush(
                        heap, (end + seconds[cid, epoch], order, end, trial, cid, epoch + 1)
                    )
                    continue
            if len(points) + len(heap) < self.total:
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
            busy / (workers * now) if now > 0 else 0.0, steady_share, trials, self.mode, duplicates,
        )  # fmt: skip


def known_methods() -> list[str]:
    """Every method a recorded table runs (:func:`hpo.registry.table_methods`)."""
    return registry.table_methods()


class _TimeRecorder(NullRecorder):
    """Keeps each recorded epoch's virtual end time and value, and the failures."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []
        self.failures: dict[str, int] = {}

    def on_epoch(self, trial_id: int, epoch: int, metrics: dict, seconds: float, worker: str,
                 value: float | None = None, ended_at: float | None = None,
                 node: str | None = None) -> None:  # fmt: skip
        self.points.append((float(ended_at or 0.0), math.nan if value is None else value))

    def on_failure(self, trial_id: int, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


def _decode(value: Any) -> Any:
    import json

    if isinstance(value, str) and value[:1] == "[":
        return tuple(json.loads(value))
    return value


# -- reading the figures off the median curves -------------------------------------------------------


def first_reach(
    curve: np.ndarray, axis: np.ndarray, target: float, mode: str = "max"
) -> float | None:
    """Where ``curve`` (monotone towards better) first reaches ``target`` on ``axis``."""
    hit = np.nonzero(curve >= target - 1e-12 if mode == "max" else curve <= target + 1e-12)[0]
    return float(axis[hit[0]]) if len(hit) else None


def compare_curves(a: np.ndarray, b: np.ndarray, start: int, mode: str = "max") -> dict[str, Any]:
    """How curve ``a`` stands against ``b`` from index ``start`` on."""
    diff = (a[start:] - b[start:]) * (1 if mode == "max" else -1)
    return {
        "at_least_as_good_everywhere": bool(np.all(diff >= -1e-12)),
        "strictly_ahead_somewhere": bool(np.any(diff > 1e-12)),
        "share_of_budgets_at_least_as_good": round(float(np.mean(diff >= -1e-12)), 4),
        "worst_margin": round(float(diff.min()), 5),
        "margin_at_full_budget": round(float(diff[-1]), 5),
    }


def against_rivals(summary: dict[str, Any], ours: str, rivals: Sequence[str], budget: int,
                   mode: str = "max") -> dict[str, Any]:  # fmt: skip
    """``ours`` against the best of ``rivals`` (the one with the best median curve from a
    tenth of the budget on) and against their envelope (the best rival at each budget)."""
    curves = summary["_median_epochs"]
    tenth = budget // 10 - 1
    sign = 1 if mode == "max" else -1
    present = [r for r in rivals if r in curves]
    if ours not in curves or not present:
        return {}
    best = max(present, key=lambda r: sign * float(np.mean(curves[r][tenth:])))
    stack = np.stack([curves[r] for r in present])
    envelope = stack.max(axis=0) if mode == "max" else stack.min(axis=0)
    return {
        "best_rival": best,
        "vs_best_rival": compare_curves(curves[ours], curves[best], tenth, mode),
        "vs_envelope_of_rivals": compare_curves(curves[ours], envelope, tenth, mode),
    }


def overall_ranks(cases_by_table: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each method's average rank over the tables it ran on all of, best first."""
    tables = list(cases_by_table.values())
    methods = (
        [m for m in tables[0] if all("average_rank" in t.get(m, {}) for t in tables)]
        if tables
        else []
    )
    means = {m: round(statistics.fmean(t[m]["average_rank"] for t in tables), 3) for m in methods}
    return dict(sorted(means.items(), key=lambda kv: kv[1]))


def rank_correlation(curves: Curves, metric: str, epochs: Iterable[int]) -> dict[str, float]:
    """Spearman correlation over the table's configurations between the metric after e
    epochs and after the last: how early a ranking is right (what early stopping can use)."""
    from scipy.stats import spearmanr

    values = curves.values[metric]
    final = values[:, curves.max_epochs - 1]
    ok = np.isfinite(final)
    out = {}
    for e in epochs:
        if 1 <= e <= curves.max_epochs:
            early = values[:, e - 1]
            both = ok & np.isfinite(early)
            out[str(e)] = round(float(spearmanr(early[both], final[both]).statistic), 4)
    return out


def summarise(
    traces: Sequence[Trace],
    budget: int,
    workers: Sequence[int],
    mode: str = "max",
    points: int = 20,
) -> dict[str, Any]:
    """Median anytime curves per method (epochs with one worker, wall time per W), the
    speedup to random search's final best, busy fractions, and each method's average rank
    (over budgets from a tenth up; 1 is best)."""
    by: dict[tuple[str, int], list[Trace]] = {}
    for t in traces:
        by.setdefault((t.method, t.workers), []).append(t)
    methods = list(dict.fromkeys(t.method for t in traces))
    axis_e = np.arange(1, budget + 1)
    tenth = budget // 10 - 1
    sample = np.linspace(budget / points, budget, points).round().astype(int) - 1
    w0 = min(workers)
    median_e = {m: np.median(np.stack([t.best_by_epochs(budget) for t in by[(m, w0)]]), axis=0)
                for m in methods if (m, w0) in by}  # fmt: skip
    cases: dict[str, Any] = {}
    baseline = median_e.get("random")
    target = float(baseline[-1]) if baseline is not None else None
    base_reach = first_reach(baseline, axis_e, target, mode) if baseline is not None else None
    for m, curve in median_e.items():
        reach = first_reach(curve, axis_e, target, mode) if target is not None else None
        runs = by[(m, w0)]
        cases[m] = {
            "median_best_at_full_budget": _r(curve[-1]),
            "median_best_at_tenth_budget": _r(curve[tenth]),
            "median_best_by_epochs": [_r(curve[i]) for i in sample],
            "epochs_to_random_final": reach,
            "speedup_vs_random_epochs": None
            if reach is None or not base_reach
            else round(base_reach / reach, 2),
            "median_trials": statistics.median(t.trials for t in runs),
            "failed_trials": int(sum(t.failures for t in runs)),
            "seeds": len(runs),
        }
        if any(t.duplicates for t in runs):
            cases[m]["median_repeated_proposals"] = statistics.median(t.duplicates for t in runs)
    ranks = _average_ranks(median_e, tenth, mode)
    for m, r in ranks.items():
        cases[m]["average_rank"] = r
    wall_curves: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for w in workers:
        ref = "random" if ("random", w) in by else methods[0]
        full = statistics.median(t.ended_at[-1] for t in by[(ref, w)] if len(t.ended_at))
        axis = np.linspace(full / 2000, full, 2000)
        medians = {m: np.median(np.stack([t.best_at(axis) for t in by[(m, w)]]), axis=0)
                   for m in methods if (m, w) in by}  # fmt: skip
        wall_curves[w] = (axis, medians)
        base = medians.get("random")
        base_t = first_reach(base, axis, float(base[-1]), mode) if base is not None else None
        idx = np.linspace(2000 / points, 2000, points).round().astype(int) - 1
        for m, curve in medians.items():
            runs = by[(m, w)]
            reach = first_reach(curve, axis, float(base[-1]), mode) if base is not None else None
            cases.setdefault(m, {})[f"workers_{w}"] = {
                "reference_wall_s": round(full, 3),
                "median_wall_s": round(
                    statistics.median(t.ended_at[-1] for t in runs if len(t.ended_at)), 3
                ),
                "busy_fraction": round(statistics.median(t.busy_fraction for t in runs), 4),
                "busy_fraction_while_starting_trials": _nan_median(
                    [t.busy_while_starting for t in runs]
                ),
                "median_best_by_wall": [_r(curve[i]) for i in idx],
                "speedup_vs_random_wall": None
                if reach is None or not base_t
                else round(base_t / reach, 2),
            }
    return {"cases": cases, "_median_epochs": median_e, "_wall": wall_curves}


def _average_ranks(median_e: dict[str, np.ndarray], start: int, mode: str) -> dict[str, float]:
    """Average over budgets (from ``start``) of each method's rank among all (ties share)."""
    from scipy.stats import rankdata

    names = list(median_e)
    if not names:
        return {}
    stack = np.stack([median_e[m][start:] for m in names])
    if mode == "max":
        stack = -stack
    ranks = np.apply_along_axis(rankdata, 0, stack)
    return {m: round(float(ranks[i].mean()), 3) for i, m in enumerate(names)}


def _r(value: float) -> float | None:
    return round(float(value), 5) if math.isfinite(value) else None


def _nan_median(values: list[float]) -> float | None:
    defined = [v for v in values if not math.isnan(v)]
    return round(statistics.median(defined), 4) if defined else None


def lines(summary: dict[str, Any], budget: int, workers: Sequence[int]) -> list[str]:
    """A table for the terminal: median best at fractions of the budget, speedups, busy."""
    fractions = (0.1, 0.25, 0.5, 1.0)
    head = f"{'method':<24}" + "".join(f"{f'{int(100 * f)}%':>9}" for f in fractions)
    head += f"{'speedup':>9}{'rank':>7}" + "".join(f"{f'busy W={w}':>11}" for w in workers)
    out = [
        f"median best so far at a share of the budget ({budget} epochs, 1 worker); speedup to random's final best",
        head,
    ]
    for m, c in summary["cases"].items():
        curve = summary["_median_epochs"].get(m)
        if curve is None:
            continue
        cells = "".join(f"{curve[max(0, int(f * budget) - 1)]:>9.4f}" for f in fractions)
        speed = c.get("speedup_vs_random_epochs")
        cells += f"{(f'{speed:.2f}x' if speed else '-'):>9}{c.get('average_rank', 0):>7.2f}"
        cells += "".join(
            f"{100 * c.get(f'workers_{w}', {}).get('busy_fraction', 0):>10.0f}%" for w in workers
        )
        out.append(f"{m:<24}{cells}")
        if c.get("failed_trials"):
            out.append(f"  FAILED trials: {c['failed_trials']}")
    return out


# A panel of the curves page: its title, then each method's (x, y) median curve.
Panel = tuple[str, dict[str, tuple[np.ndarray, np.ndarray]]]


def panels(summary: dict[str, Any], budget: int, workers: Sequence[int]) -> list[Panel]:
    """The median anytime curves of :func:`summarise`, every epoch (one worker) and 2,000
    points of wall time (each W)."""
    axis_e = np.arange(1, budget + 1)
    step = max(1, budget // 1000)
    out: list[Panel] = [(_epochs_title(workers), {m: (axis_e[::step], c[::step])
                                                  for m, c in summary["_median_epochs"].items()})]  # fmt: skip
    for w in workers:
        axis, by_method = summary["_wall"][w]
        out.append((_wall_title(w), {m: (axis, c) for m, c in by_method.items()}))
    return out


def panels_from_cases(cases: dict[str, Any], budget: int, workers: Sequence[int]) -> list[Panel]:
    """The same panels from a written report's ``cases`` (its 20 points per curve: at
    budget/20, 2·budget/20, …, and at the same shares of random search's wall time)."""
    points = len(next(iter(cases.values()))["median_best_by_epochs"])
    share = np.arange(1, points + 1) / points
    nan = float("nan")

    def curve(values: list[float | None]) -> np.ndarray:
        return np.array([nan if v is None else v for v in values], float)

    out: list[Panel] = [(_epochs_title(workers), {
        m: (np.round(share * budget), curve(c["median_best_by_epochs"])) for m, c in cases.items()
    })]  # fmt: skip
    for w in workers:
        key = f"workers_{w}"
        out.append((_wall_title(w), {
            m: (share * c[key]["reference_wall_s"], curve(c[key]["median_best_by_wall"]))
            for m, c in cases.items() if key in c
        }))  # fmt: skip
    return out


def _epochs_title(workers: Sequence[int]) -> str:
    return f"best so far against epochs spent ({min(workers)} worker)"


def _wall_title(w: int) -> str:
    return f"against simulated wall time in s, {w} worker{'s' * (w > 1)}"


def _family(method: str) -> str:
    """Who made a method: ours, or the anchor (Optuna, Syne Tune, DEHB, SMAC) it comes from."""
    for prefix, family in (("optuna-", "Optuna"), ("syne-", "Syne Tune"), ("dehb", "DEHB"),
                           ("smac", "SMAC")):  # fmt: skip
        if method.startswith(prefix):
            return family
    return "ours"


def shown_methods(cases: dict[str, Any], few: int = 3) -> list[str]:
    """The methods a curves page draws at first, best average rank first: our ``few`` best,
    the best of each anchor (Optuna, Syne Tune, DEHB, SMAC) and random search, whose final
    best every speedup is measured to. The others are a click on their name away."""
    ranked = sorted(cases, key=lambda m: cases[m].get("average_rank", math.inf))
    best_of: dict[str, list[str]] = {}
    for m in ranked:
        best_of.setdefault(_family(m), []).append(m)
    chosen = {*best_of.get("ours", [])[:few], "random"}
    chosen |= {ms[0] for family, ms in best_of.items() if family != "ours"}
    return [m for m in ranked if m in chosen]


def figure(panels: list[Panel], cases: dict[str, Any], *, title: str, metric: str,
           few: int = 3) -> Any:  # fmt: skip
    """The curves page: a panel per clock, two to a row, a legend of every method sorted by
    average rank; each panel draws :func:`shown_methods` of the methods it has (with more
    than one worker, fewer methods ran) and hides the rest until their name is clicked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = 2
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[t for t, _ in panels],
                        vertical_spacing=0.12)  # fmt: skip
    palette = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
               "#b6e880", "#ff97ff", "#fecb52", "#222222", "#8c564b", "#1f1fbf", "#bcbd22"]  # fmt: skip
    ranked = sorted(cases, key=lambda m: cases[m].get("average_rank", math.inf))
    shown = [
        shown_methods({m: cases[m] for m in curves if m in cases}, few) for _, curves in panels
    ]
    drawn = [m for m in ranked if any(m in s for s in shown)]
    order = drawn + [m for m in ranked if m not in drawn]  # the drawn ones get the first colours
    colour = {m: palette[i % len(palette)] for i, m in enumerate(order)}
    # A method's legend entry is its first drawn trace (or its first): the entry is greyed
    # out only when none of its curves is drawn; a click shows or hides all of them.
    carrier: dict[str, int] = {}
    for m in ranked:
        panels_with = [i for i, (_, curves) in enumerate(panels) if m in curves]
        drawn_in = [i for i in panels_with if m in shown[i]]
        if panels_with:
            carrier[m] = (drawn_in or panels_with)[0]
    for i, (_, curves) in enumerate(panels):
        # From a twentieth of the budget (of random search's wall time) on, the values from
        # a tenth on in view (the ranks are read from a tenth): before, the curves are far
        # below the rest and would squash them.
        right = max((float(np.nanmax(x)) for x, _ in curves.values()), default=1.0)
        seen: list[float] = []
        for m in ranked:
            if m not in curves:
                continue
            x, y = curves[m]
            rank = cases[m].get("average_rank")
            fig.add_trace(
                go.Scatter(
                    x=x, y=y, name=m if rank is None else f"{m} · {rank:.2f}", legendgroup=m,
                    legendrank=ranked.index(m) + 1,
                    showlegend=carrier[m] == i, visible=True if m in shown[i] else "legendonly",
                    line={"color": colour[m], "shape": "hv",
                          "dash": "solid" if _family(m) == "ours" else "dot"},
                ),
                1 + i // cols, 1 + i % cols,
            )  # fmt: skip
            if m in shown[i]:
                seen += [float(v) for v in y[(x >= right / 10) & np.isfinite(y)]]
        where = {"row": 1 + i // cols, "col": 1 + i % cols}
        fig.update_xaxes(type="log", range=[math.log10(right / 20), math.log10(right)], **where)
        if seen:
            pad = (max(seen) - min(seen)) * 0.08 or 0.01
            fig.update_yaxes(range=[min(seen) - pad, max(seen) + pad], **where)
    fig.update_yaxes(title_text=f"median best {metric}")
    # The legend below the panels, about 45 px under the last row's tick labels whatever
    # the number of rows (its y is a share of the panels' height).
    fig.update_layout(
        height=380 * rows + 170, title=title, margin={"t": 80, "b": 20},
        legend={"orientation": "h", "yanchor": "top", "y": -45 / (380 * rows), "x": 0,
                "traceorder": "normal",
                "title": {"side": "top",
                          "text": "methods by average rank (1 is best); dotted: Optuna and the "
                          "anchors; a click on a name shows or hides its curves"}},
    )  # fmt: skip
    return fig


def write_html(summary: dict[str, Any], budget: int, workers: Sequence[int], path: str | Path,
               *, title: str, metric: str) -> Path:  # fmt: skip
    """The median anytime curves: against epochs (1 worker) and wall time (each W)."""
    fig = figure(panels(summary, budget, workers), summary["cases"], title=title, metric=metric)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs="directory")
    return path
