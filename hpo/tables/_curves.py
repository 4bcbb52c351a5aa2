"""A recorded table of learning curves, as arrays: :class:`Curves`.

The format and its rules are the package's (:mod:`hpo.tables`). ``Curves`` reads a frame
once: every metric becomes a grid ``values[metric][config_id, epoch - 1]`` (NaN where a
curve ends early), the configurations become dicts holding what the space would hold
(lists as tuples; an empty cell is an absent, inactive hyperparameter), and lookups by
configuration (exact, or the nearest row) are vectorised over the rows. Nothing here
runs a trial: the simulator runner (:mod:`hpo.runners._simulator`) reads the grids, the
table sampler (:mod:`hpo.tables._sampler`) proposes the rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo.space import SearchSpace


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
            {
                n: _cell_value(v)
                for n, v in zip(self.param_names, row, strict=True)
                if not _missing(v)
            }
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
        """A table from a CSV or Parquet file (an ``hpo export`` file as well: its
        ``trial_id`` is the configuration's id)."""
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
                v = _thaw(config[n])
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

    def space_document(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The table's space (:meth:`space`: every value a choice) as settings write it,
        ``{name: {"values": [...], "when": ...}}`` with lists for tuples, and its fixed
        values: what :class:`hpo.settings.SearchSettings` takes."""
        space = self.space()
        spec = {
            n: {"values": [_thaw(v) for v in p.values]}  # type: ignore[union-attr]
            for n, p in space.params.items()
        }
        for n, entry in spec.items():
            if (when := space.condition_spec(n)) is not None:
                entry["when"] = when
        return spec, {n: _thaw(v) for n, v in space.fixed.items()}

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


_ABSENT = "\x00absent"  # an inactive hyperparameter, as a key no value can have


def _missing(value: Any) -> bool:
    """An empty cell of a table: None, or NaN (pandas' empty)."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell_value(value: Any) -> Any:
    """A table cell as a configuration holds it: a JSON list or object (what ``hpo export``
    writes for a list such as layer sizes) parsed, lists as tuples; numpy scalars as
    Python's."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _freeze(json.loads(value))
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _freeze(value: Any) -> Any:
    """Lists as tuples, as a space holds them (hashable, immutable)."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _thaw(value: Any) -> Any:
    """Tuples back to lists, as YAML and a space's spec write them."""
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


# JSON writes a tuple as it writes a list, so a value and a configuration have one key
# whether they hold tuples (the table's) or lists (a proposal's).


def _value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True)
