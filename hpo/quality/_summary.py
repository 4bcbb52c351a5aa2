"""Reading the figures off the runs: median anytime curves, speedups, busy shares, ranks.

:func:`summarise` turns the :class:`~hpo.quality.Trace` of every (method, seed, W) into
each method's median best-so-far curve against epochs (one worker) and against simulated
wall time (each W), the speedup to random search's final best, and each method's average
rank from a tenth of the budget on; :func:`against_rivals` checks one method against the
best of others and their envelope; :func:`lines` is the table ``hpo simulate --methods``
prints. Every number here is read from traces: nothing runs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from hpo.quality._trace import Trace
from hpo.tables import Curves


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


def describe_table(curves: Curves, metric: str, max_epochs: int) -> dict[str, Any]:
    """What a table holds: its size, the best value and the quartiles of ``metric`` after
    ``max_epochs``, and how early a ranking is right (:func:`rank_correlation` after 1, 3, 9
    and 27 epochs)."""
    final = curves.values[metric][:, max_epochs - 1]
    return {
        "configurations": curves.n_configs,
        "epochs": max_epochs,
        "metric": metric,
        "best_final": round(float(np.nanmax(final)), 5),
        "final_quartiles": [round(float(q), 5) for q in np.nanpercentile(final, [25, 50, 75])],
        "spearman_early_vs_final": rank_correlation(curves, metric, [1, 3, 9, 27]),
    }


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
