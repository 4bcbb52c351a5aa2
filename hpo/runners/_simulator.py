"""The simulator runner: replays recorded learning curves on a virtual clock.

A recorded table (CSV or Parquet) has one row per (configuration, epoch):

* the hyperparameters, as ``config.<name>`` columns (what ``hpo export`` writes) or as
  the columns named by ``params``;
* ``epoch`` (1, 2, …), or another resource column (``resource=``; e.g. a training-set
  size, for curves over samples);
* the metrics (every other numeric column);
* optionally ``seconds`` (what that epoch took; 1 when absent) and ``config_id`` (one per
  distinct configuration when absent).

A conditional space's table leaves an inactive hyperparameter empty (NaN/None): that
configuration has no such key, and :meth:`Curves.space` gives the table's space the
conditions (those of the space it was recorded from, or, without it, the categorical
whose values decide when the column is filled). The simulator drives the same
schedulers through the same tuner loop as real runs, with ``W`` simulated workers: an
assignment takes the recorded seconds of its epochs (plus ``resume_seconds`` when a
paused trial is restored on a worker that does not hold it), and the next result is
the one that finishes first on the virtual clock. Deterministic for a seed; thousands of
workers and 100,000 trials run in seconds.
"""

from __future__ import annotations

import heapq
import json
import math
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo import registry
from hpo.runners._base import Checkpoint, EpochResult, TrialResult
from hpo.space import SearchSpace
from hpo.tuner import NullRecorder
from hpo.types import Suggestion


class Curves:
    """A recorded table as arrays: ``values[metric][config_id, epoch-1]`` and ``seconds``.

    Args:
        frame: the table (see the module's docstring for its columns).
        metrics: the metric columns to keep (default: every numeric one).
        params: hyperparameter columns, when they are not named ``config.<name>``.
        resource: the column of epochs (or of another resource, numbered by its distinct
            values in order: 1 for the smallest).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        metrics: Iterable[str] | None = None,
        *,
        params: Iterable[str] | None = None,
        resource: str = "epoch",
    ) -> None:
        frame = frame.copy()
        if params is not None:
            params = list(params)
            absent = [p for p in params if p not in frame.columns]
            if absent:
                raise ValueError(f"recorded table has no column {absent[0]!r} (a hyperparameter)")
            frame = frame.rename(columns={p: f"config.{p}" for p in params})
        param_cols = [c for c in frame.columns if c.startswith("config.")]
        if not param_cols:
            raise ValueError(
                "recorded table has no config.<name> columns (the hyperparameters); name them "
                "so, or give them as params"
            )
        if resource not in frame.columns:
            raise ValueError(f"recorded table has no {resource!r} column (the epochs or resource)")
        self.resource_values: np.ndarray | None = None
        if resource != "epoch" or not pd.api.types.is_integer_dtype(frame[resource]):
            # A resource other than epochs: numbered 1, 2, … in increasing order.
            self.resource_values = np.sort(frame[resource].unique())
            frame["epoch"] = np.searchsorted(self.resource_values, frame[resource].to_numpy()) + 1
        if "seconds" not in frame.columns:
            frame["seconds"] = 1.0  # no timings: every epoch costs one simulated second
        if "config_id" not in frame.columns:
            keys = frame[param_cols].astype(str).agg("\x1f".join, axis=1)
            frame["config_id"] = pd.factorize(keys)[0]
        if frame.duplicated(["config_id", "epoch"]).any():
            raise ValueError(
                "recorded table has several rows for one configuration and epoch; keep one "
                "(or average seeds) first"
            )
        ids = np.sort(frame["config_id"].unique())
        self.n_configs = len(ids)
        index = {int(c): i for i, c in enumerate(ids)}
        self.max_epochs = int(frame["epoch"].max())
        rows = frame["config_id"].map(index).to_numpy()
        cols = frame["epoch"].to_numpy().astype(int) - 1
        numeric = [
            c for c in frame.columns
            if c not in param_cols and c not in ("config_id", "epoch", resource)
        ]  # fmt: skip
        numeric = [c for c in numeric if pd.api.types.is_numeric_dtype(frame[c])]
        wanted = list(metrics) if metrics is not None else numeric
        self.values: dict[str, np.ndarray] = {}
        for name in [*wanted, "seconds"]:
            if name not in frame.columns:
                raise ValueError(
                    f"recorded table has no column {name!r}; it has {', '.join(numeric)}"
                )
            grid = np.full((self.n_configs, self.max_epochs), np.nan)
            grid[rows, cols] = frame[name].to_numpy(dtype=float)
            self.values[name] = grid
        self.lengths = np.zeros(self.n_configs, dtype=int)
        np.maximum.at(self.lengths, rows, cols + 1)
        firsts = frame.drop_duplicates("config_id").set_index("config_id").loc[ids, param_cols]
        for c in param_cols:  # an int column with empty (inactive) cells was read as floats
            column = firsts[c]
            if pd.api.types.is_float_dtype(column) and column.isna().any():
                given = column.dropna()
                if len(given) and (given == given.round()).all():
                    firsts[c] = column.astype(object).where(
                        column.isna(), column.round().astype("Int64").astype(object)
                    )
        self.param_names = [c[len("config.") :] for c in param_cols]
        self.configs = [
            {n: _decode(v) for n, v in zip(self.param_names, row, strict=True) if not _missing(v)}
            for row in firsts.itertuples(index=False)
        ]
        self._lookup = {_key(c): i for i, c in enumerate(self.configs)}
        self._cached_columns: (
            dict[str, tuple[np.ndarray | None, np.ndarray, tuple[float, float, bool]]] | None
        ) = None
        self.metric_names = [m for m in self.values if m != "seconds"]

    @classmethod
    def read(
        cls,
        path: str | Path,
        metrics: Iterable[str] | None = None,
        *,
        params: Iterable[str] | None = None,
        resource: str = "epoch",
    ) -> Curves:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"recorded table {str(path)!r} does not exist")
        try:
            frame = (
                pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
            )
        except Exception as exc:
            raise ValueError(f"recorded table {str(path)!r} could not be read: {exc}") from None
        if "config_id" not in frame.columns and "trial_id" in frame.columns:
            frame = frame.rename(columns={"trial_id": "config_id"})  # an `hpo export` file
        return cls(frame, metrics, params=params, resource=resource)

    def space(self, numeric: bool = False, hint: SearchSpace | None = None) -> SearchSpace:
        """The table's configurations as a space: every value a categorical choice, or, with
        ``numeric``, numbers with many distinct values as ranges (what a model-based
        sampler should see: 0.001 lies between 0.0005 and 0.002). A range is log-scaled
        where ``hint`` (the space the table was recorded from) says so, or, without a
        hint, when its values are positive and span more than a factor of 20."""
        choices: dict[str, list[Any]] = {n: [] for n in self.param_names}
        for config in self.configs:
            for n in self.param_names:
                if n not in config:  # inactive in this row
                    continue
                v = _listify(config[n])
                if v not in choices[n]:
                    choices[n].append(v)
        spec: dict[str, Any] = {}
        for n, values in choices.items():
            if len(values) < 2:
                continue
            given = hint.params.get(n) if hint is not None else None
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            if numeric and numbers and (len(values) >= 8 or hasattr(given, "low")):
                low, high = min(values), max(values)
                log = getattr(given, "log", None)
                if log is None:
                    log = low > 0 and high / low > 20
                kind = "int" if all(isinstance(v, int) for v in values) else "float"
                spec[n] = {"type": kind, "low": low, "high": high, "log": bool(log)}
            else:
                spec[n] = {"values": values}
        fixed = {n: v[0] for n, v in choices.items() if len(v) == 1}
        categorical = {n for n, v in spec.items() if "values" in v and len(v["values"]) <= 20}
        for n, when in self._conditions(hint, set(spec), categorical).items():
            spec[n]["when"] = when
        return SearchSpace.from_dict(spec, fixed)

    def _conditions(
        self, hint: SearchSpace | None, searched: set[str], categorical: set[str]
    ) -> dict[str, Any]:
        """``when:`` of every column that some rows leave empty: the hint's, or else
        membership in the values of the categorical column that decides it."""
        out: dict[str, Any] = {}
        for n in self.param_names:
            present = [n in c for c in self.configs]
            if all(present) or n not in searched:
                continue
            given = hint.condition_spec(n) if hint is not None and n in hint.params else None
            if given is not None and all(k in searched for k in given):
                out[n] = given
                continue
            for parent in self.param_names:
                if parent == n or parent not in categorical:
                    continue
                on = {_value_key(c[parent]) for c, p in zip(self.configs, present, strict=True)
                      if p and parent in c}  # fmt: skip
                off = {_value_key(c.get(parent)) for c, p in zip(self.configs, present, strict=True)
                       if not p}  # fmt: skip
                if on and not on & off and all(parent in c for c, p in
                                               zip(self.configs, present, strict=True) if p):  # fmt: skip
                    values = [c[parent] for c in self.configs if parent in c]
                    keep = list(dict.fromkeys(_value_key(v) for v in values if _value_key(v) in on))
                    out[n] = {parent: [json.loads(k) for k in keep]}
                    break
            else:
                raise ValueError(
                    f"recorded table leaves {n!r} empty in some rows, and no other column decides "
                    "when; give the space the table was recorded from"
                )
        return out

    def nearest(
        self, config: dict[str, Any], exclude: set[int] | frozenset[int] = frozenset()
    ) -> int:
        """The recorded configuration equal to ``config``, else the nearest one, skipping
        ``exclude`` (-1 when every row is excluded). The distance sums, per hyperparameter,
        the difference of numbers scaled to [0, 1] over the table's range (on a log scale
        when they are positive and span more than a factor of 20), and 0/1 for other
        values: every hyperparameter weighs alike, and the anchors of
        ``bench/search_quality.py`` use the same rule. Vectorised over the rows: on a table
        of 62,208 configurations a lookup takes about a millisecond."""
        index = self._lookup.get(_key({n: config[n] for n in self.param_names if n in config}))
        if index is not None and index not in exclude:
            return index
        d = np.zeros(self.n_configs)
        for name, (scaled, keys, scale) in self._columns().items():
            if name not in config:  # inactive: as far from every value as a different category
                d += keys != _ABSENT
                continue
            value = config[name]
            if scaled is not None and _is_number(value):
                low, span, log = scale
                x = math.log(max(float(value), low)) - math.log(low) if log else float(value) - low
                # A row where the hyperparameter is inactive (NaN) is one away.
                d += np.nan_to_num(np.abs(scaled - x / span), nan=1.0)
            else:
                d += keys != _value_key(value)
        if exclude:
            d[list(exclude)] = np.inf
        best = int(np.argmin(d))
        return best if np.isfinite(d[best]) else -1

    def _columns(
        self,
    ) -> dict[str, tuple[np.ndarray | None, np.ndarray, tuple[float, float, bool]]]:
        """Per hyperparameter: its values scaled to [0, 1] (when all are numbers), as keys,
        and the scale (low, span, log)."""
        if self._cached_columns is None:
            columns = {}
            for name in self.param_names:
                values = [c.get(name, _ABSENT) for c in self.configs]
                keys = np.array([_ABSENT if v is _ABSENT else _value_key(v) for v in values])
                given = [v for v in values if v is not _ABSENT]
                if not given or not all(_is_number(v) for v in given):
                    columns[name] = (None, keys, (0.0, 1.0, False))
                    continue
                x = np.array([math.nan if v is _ABSENT else v for v in values], dtype=float)
                low, high = np.nanmin(x), np.nanmax(x)
                log = bool(low > 0 and high / low > 20)
                if log:
                    x, low, high = np.log(x), math.log(low), math.log(high)
                span = float(high - low) or 1.0
                lo = float(np.exp(low)) if log else float(low)
                columns[name] = ((x - low) / span, keys, (lo, span, log))
            self._cached_columns = columns
        return self._cached_columns

    def config_id(self, config: dict[str, Any]) -> int:
        key = _key({n: config[n] for n in self.param_names if n in config})
        if key not in self._lookup:
            raise KeyError(f"configuration {config} is not in the recorded table")
        return self._lookup[key]


def synthetic_curves(n: int, epochs: int = 27, seed: int = 0) -> Curves:
    """A made-up table for tests and load benchmarks: ``n`` configurations whose accuracy
    rises to a quality q at speed k, ``q · (1 − exp(−k t))`` plus noise.

    >>> synthetic_curves(3, epochs=5).values["val_accuracy"].shape
    (3, 5)
    """
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0.5, 0.99, n)
    speed = rng.uniform(0.05, 1.0, n)
    t = np.arange(1, epochs + 1)
    acc = quality[:, None] * (1 - np.exp(-speed[:, None] * t)) + rng.normal(0, 0.01, (n, epochs))
    frame = pd.DataFrame({
        "config_id": np.repeat(np.arange(n), epochs), "epoch": np.tile(t, n),
        "val_accuracy": acc.ravel(), "seconds": rng.uniform(0.01, 0.05, n * epochs),
        "config.learning_rate_init": np.repeat(10 ** rng.uniform(-4, -1, n), epochs),
        "config.activation": np.repeat(rng.choice(["relu", "tanh", "elu"], n), epochs),
    })  # fmt: skip
    return Curves(frame)


class TableSampler:
    """Proposes the recorded configurations of a table.

    ``random`` draws rows without replacement (a seeded permutation; None once all are
    used), or with ``replace`` again in a new permutation once all are used (a table is
    then a sample of its space, as a search of the real space would be, and never runs
    out; like a proposal of the real space, a new configuration is a row not used yet
    while there is one). ``tpe`` lets a
    model-based sampler (ours: Optuna's TPE per epoch level; or ``gp``) propose in the
    table's space, numbers as ranges, and takes the recorded row nearest to the proposal
    that has not been used yet; with ``replace``, a used row is taken again only once every
    row has been used. (A proposal near the best configurations so far would otherwise map
    to the same few rows over and over: on a sampled table of 1,000 rows, ASHA + TPE ran
    1,872 trials on 275 distinct rows. In the space itself, such proposals are new
    configurations.) Exact when the table is a full grid.
    """

    def __init__(
        self,
        curves: Curves,
        kind: str = "random",
        seed: int = 0,
        *,
        replace: bool = False,
        hint: SearchSpace | None = None,
    ) -> None:
        if kind not in ("random", "tpe", "grid", "gp"):
            raise ValueError(
                f"sampler={kind!r} is unknown for a recorded table; expected random, tpe, gp or grid"
            )
        if replace and kind == "grid":
            raise ValueError(
                "a grid runs each row once; sampling with replacement needs random or tpe"
            )
        self.curves, self.kind, self.replace = curves, kind, replace
        self.size: int | None = None if replace else curves.n_configs
        self._rng = np.random.default_rng(seed)
        self.used: set[int] = set()
        n = curves.n_configs
        self._order = np.arange(n) if kind == "grid" else self._rng.permutation(n)
        self._next = 0
        self._tpe = None
        if kind in ("tpe", "gp"):
            from hpo.samplers import make_sampler

            self._tpe = make_sampler(kind, curves.space(numeric=True, hint=hint), seed)

    def sample(self) -> dict[str, Any] | None:
        if self.size is not None and len(self.used) >= self.size:
            return None
        if self._tpe is not None:
            index = self._nearest(self._tpe.sample())
        elif self.replace:  # every row once, in a random order; then again, in a new one
            if self._next == self.curves.n_configs:
                self._order, self._next = self._rng.permutation(self.curves.n_configs), 0
            index = int(self._order[self._next])
            self._next += 1
        else:
            while int(self._order[self._next]) in self.used:
                self._next += 1
            index = int(self._order[self._next])
        self.used.add(index)
        return dict(self.curves.configs[index])

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        if self._tpe is not None:
            self._tpe.observe(config, epochs, score)

    def _nearest(self, proposal: dict[str, Any]) -> int:
        exhausted = len(self.used) >= self.curves.n_configs
        return self.curves.nearest(proposal, frozenset() if exhausted else self.used)


_ABSENT = "\x00absent"  # an inactive hyperparameter, as a key no value can have


def _missing(value: Any) -> bool:
    """An empty cell of a table: None, or NaN (pandas' empty)."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _value_key(value: Any) -> str:
    return json.dumps(_listify(value), sort_keys=True, default=str)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _freeze(json.loads(value))
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _listify(value: Any) -> Any:
    return [_listify(v) for v in value] if isinstance(value, tuple) else value


def _key(config: dict[str, Any]) -> str:
    return json.dumps({k: _listify(v) for k, v in sorted(config.items())}, sort_keys=True)


class SimulatorRunner:
    """``n_workers`` simulated workers over recorded curves, on a virtual clock.

    Args:
        curves: the recorded table.
        n_workers: simulated workers.
        resume_seconds: what restoring a paused trial on another worker costs.
    """

    def __init__(self, curves: Curves, n_workers: int, resume_seconds: float = 0.0) -> None:
        self.curves = curves
        self.n_workers = n_workers
        self.resume_seconds = resume_seconds
        self.now = 0.0
        self.busy_seconds = 0.0
        self._heap: list[tuple[float, int, TrialResult]] = []
        self._free = list(range(n_workers))
        self._holds: dict[int, int] = {}  # worker -> trial it holds warm
        self._worker_of: dict[int, int] = {}  # submission order -> worker
        self._order = 0
        self._starts, self._ends = array("d"), array("d")  # every assignment's busy interval
        self.last_new_trial_at = 0.0  # when the last trial that had not run before started

    @property
    def n_busy(self) -> int:
        return len(self._heap)

    def free_workers(self) -> int:
        return len(self._free)

    def is_warm(self, trial_id: int, epochs: int) -> bool:
        return True  # the simulator has no state to restore; resumes cost resume_seconds

    def submit(self, s: Suggestion, checkpoint: Checkpoint | None = None) -> None:
        warm = [w for w in self._free if self._holds.get(w) == s.trial_id]
        worker = warm[0] if warm else self._free[0]
        self._free.remove(worker)
        cid = self.curves.config_id(dict(s.config))
        seconds = self.curves.values["seconds"][cid]
        start = self.now + (self.resume_seconds if s.resume and not warm else 0.0)
        result = TrialResult(s.trial_id, worker=f"sim{worker}")
        t = start
        for epoch in range(s.from_epoch + 1, s.until_epoch + 1):
            if epoch > self.curves.lengths[cid]:
                result.error = f"the recorded curve of configuration {cid} ends at epoch {self.curves.lengths[cid]}"
                break
            t += float(seconds[epoch - 1])
            metrics = {
                m: float(self.curves.values[m][cid, epoch - 1]) for m in self.curves.metric_names
            }
            result.epochs.append(EpochResult(epoch, metrics, float(seconds[epoch - 1]), t))
        if result.error is None:
            # A token stands for the trainer's saved state: the table holds the rest.
            result.state = f"sim:{cid}:{s.until_epoch}".encode()
        self.busy_seconds += t - self.now
        self._starts.append(self.now)
        self._ends.append(t)
        if s.from_epoch == 0:
            self.last_new_trial_at = self.now
        self._holds[worker] = s.trial_id
        self._order += 1
        heapq.heappush(self._heap, (t, self._order, result))
        self._worker_of[self._order] = worker

    def wait(self) -> list[TrialResult]:
        t, order, result = heapq.heappop(self._heap)
        self.now = max(self.now, t)
        self._free.append(self._worker_of.pop(order))
        return [result]

    def pause(self, trial_id: int) -> None:
        """Nothing to keep: the curve is in the table."""

    def discard(self, trial_id: int) -> None:
        for w, t in list(self._holds.items()):
            if t == trial_id:
                del self._holds[w]

    def busy_fraction(self, until: float | None = None) -> float:
        """The share of worker time spent training (resumes included), over the whole run
        or up to the virtual time ``until``."""
        end = self.now if until is None else until
        if end <= 0:
            return 0.0
        if until is None:
            return self.busy_seconds / (self.n_workers * end)
        starts, ends = np.frombuffer(self._starts), np.frombuffer(self._ends)
        busy = np.clip(np.minimum(ends, end) - starts, 0.0, None).sum()
        return float(busy / (self.n_workers * end))

    def busy_fraction_while_starting(self) -> float:
        """Busy share until the last new trial started: the steady state, before the
        drain in which only the last promotions of a finite search are left. NaN when every
        trial started at once (there is no such period)."""
        if self.last_new_trial_at <= 0:
            return math.nan
        return self.busy_fraction(until=self.last_new_trial_at)


@dataclass
class SimulationResult:
    scheduler: Any
    simulated_seconds: float
    busy_fraction: float
    real_seconds: float
    n_workers: int
    metric: str
    failures: dict[str, int] | None = None  # reason -> trials that failed with it

    def lines(self) -> list[str]:
        s = self.scheduler
        unit = "samples" if getattr(s, "refits", False) else "epochs"
        out = [
            f"simulated {s.name} with {self.n_workers} workers: {len(s.trials)} trials, "
            f"{s.epochs_spent} {unit}, {self.simulated_seconds:.4g} s of simulated wall time "
            f"(workers {100 * self.busy_fraction:.1f}% busy), {self.real_seconds:.2f} s real"
        ]
        if s.best_trial is not None:
            best = s.trials[s.best_trial]
            out.append(
                f"best {self.metric} {s.best_value:.4f}: trial {best.trial_id} after {best.epochs} {unit}"
            )
            out.append("  " + json.dumps({k: _listify(v) for k, v in best.config.items()}))
        for reason, n in (self.failures or {}).items():  # never silent
            out.append(f"FAILED: {n} trial(s): {reason}")
        return out


def simulate_table(
    table: str | Path | Curves,
    *,
    scheduler: str = registry.DEFAULT_SCHEDULER,
    sampler: str = registry.DEFAULT_SAMPLER,
    max_epochs: int | None = None,
    min_epochs: int = 1,
    eta: int = 3,
    budget: int | None = None,
    n_configs: int | None = None,
    iterations: int = 1,
    workers: int = 4,
    seed: int = 0,
    metric: str = "val_accuracy",
    mode: str = "max",
    resume_seconds: float = 0.0,
    replace: bool = False,
    space: SearchSpace | None = None,
) -> SimulationResult:
    """Run one scheduler over a recorded table; returns its scheduler and simulated time.

    A plan that the table cannot carry (a rung beyond the table's curves) is refused
    before anything runs; trials that fail anyway are counted in the result."""
    from hpo.tuner import Tuner

    curves = table if isinstance(table, Curves) else Curves.read(table)
    if metric not in curves.values:
        raise ValueError(
            f"metric {metric!r} is not in the recorded table; it has {', '.join(curves.metric_names)}"
        )
    R = max_epochs or curves.max_epochs
    if curves.max_epochs < R:
        raise ValueError(
            f"max_epochs={R} is beyond the table's longest curve ({curves.max_epochs} epochs)"
        )
    sched = build_table_scheduler(
        curves, scheduler=scheduler, sampler=sampler, max_epochs=R, min_epochs=min_epochs, eta=eta,
        budget=budget, n_configs=n_configs, iterations=iterations, seed=seed, metric=metric,
        mode=mode, replace=replace, space=space,
    )  # fmt: skip
    runner = SimulatorRunner(curves, workers, resume_seconds)
    recorder = _FailureRecorder()
    start = time.perf_counter()
    Tuner(sched, runner, recorder, metric=metric).run()
    return SimulationResult(
        sched, runner.now, runner.busy_fraction(), time.perf_counter() - start, workers, metric,
        recorder.failures,
    )  # fmt: skip


def build_table_scheduler(
    curves: Curves,
    *,
    scheduler: str = registry.DEFAULT_SCHEDULER,
    sampler: str = registry.DEFAULT_SAMPLER,
    max_epochs: int | None = None,
    min_epochs: int = 1,
    eta: int = 3,
    budget: int | None = None,
    n_configs: int | None = None,
    iterations: int = 1,
    seed: int = 0,
    metric: str = "val_accuracy",
    mode: str = "max",
    replace: bool = False,
    space: SearchSpace | None = None,
    stopping: list[dict[str, Any]] | None = None,
) -> Any:
    """A scheduler of the usual settings whose sampler draws the table's rows; refuses a
    plan whose rungs go beyond the table's curves."""
    from hpo.settings import SearchSettings, SettingsError

    R = max_epochs or curves.max_epochs
    table_space = curves.space()
    table_spec = {
        n: {"values": [_listify(v) for v in p.values]}  # type: ignore[union-attr]
        for n, p in table_space.params.items()
    }
    for n, spec in table_spec.items():
        if (when := table_space.condition_spec(n)) is not None:
            spec["when"] = when
    settings = SearchSettings(
        space=table_spec,
        fixed={n: _listify(v) for n, v in table_space.fixed.items()},
        scheduler=scheduler, sampler=_settings_sampler(sampler),
        max_epochs=R, min_epochs=min_epochs, eta=eta, budget=budget, n_configs=n_configs,
        iterations=iterations, seed=seed, metric=metric, mode=mode, executor="serial",
        stopping=list(stopping or []),
    )  # fmt: skip
    settings.validate()
    kind = registry.scheduler(scheduler).sampler or sampler  # grid search: the table's order
    sched = settings.build_scheduler(TableSampler(curves, kind, seed, replace=replace, hint=space))
    deepest = max(r.epochs for b in sched.planned_brackets() for r in b.rungs)
    if deepest > curves.max_epochs:  # the report's successive halving: its budget sets R
        raise SettingsError(
            f"the {scheduler} plan (budget {budget}) trains its last survivors to {deepest} "
            f"epochs, but the table's curves end at {curves.max_epochs}; lower --budget or "
            "raise --n-configs"
        )
    return sched


def _settings_sampler(sampler: str) -> str:
    """The sampler the settings are checked with: the table's rows replace it, so only a
    grid's checks matter (an unknown name is left for the settings to refuse)."""
    known = sampler in registry.sampler_names()
    return (
        sampler if not known or registry.sampler(sampler).needs_grid else registry.DEFAULT_SAMPLER
    )


class _FailureRecorder(NullRecorder):
    """Keeps no history, but counts failures by reason (a simulation must not hide them)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, int] = {}

    def on_failure(self, trial_id: int, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


__all__ = [
    "Curves",
    "SimulationResult",
    "SimulatorRunner",
    "build_table_scheduler",
    "simulate_table",
]
