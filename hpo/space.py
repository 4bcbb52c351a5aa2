"""Search spaces: float and int ranges (optionally log-scaled), categorical choices and grids.

A space is written in YAML under a ``space:`` key, one entry per hyperparameter::

    space:
      learning_rate_init: {type: float, low: 1.0e-4, high: 0.1, log: true}
      hidden_layer_sizes: {type: categorical, values: [[64], [128, 64]]}
      activation: [relu, tanh, elu]          # a bare list is categorical
      batch_size: 64                         # a scalar is fixed

``{grid: [...]}`` is a categorical that a grid search enumerates; a space whose every
entry is finite (categorical, grid, fixed) is a grid. Sampling draws from a generator the
caller owns (the study's), so the same seed gives the same configurations.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml


class SpaceError(ValueError):
    """A malformed search space; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Float:
    """A float drawn uniformly from [low, high], or log-uniformly when ``log``."""

    low: float
    high: float
    log: bool = False

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Int:
    """An integer drawn uniformly from {low, …, high}, or log-uniformly when ``log``."""

    low: int
    high: int
    log: bool = False

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
            return int(min(max(round(x), self.low), self.high))
        return int(rng.integers(self.low, self.high + 1))


@dataclass(frozen=True)
class Categorical:
    """One of ``values`` (which may be lists, such as layer sizes), uniformly."""

    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


Param = Float | Int | Categorical


@dataclass(frozen=True)
class SearchSpace:
    """Named hyperparameters to search, plus fixed ones passed to every trial."""

    params: Mapping[str, Param]
    fixed: Mapping[str, Any]

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One configuration, fixed values included.

        >>> space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.1, "high": 1}})
        >>> sorted(space.sample(np.random.default_rng(0)))
        ['lr']
        """
        config = dict(self.fixed)
        for name, param in self.params.items():
            config[name] = param.sample(rng)
        return config

    @property
    def is_grid(self) -> bool:
        return all(isinstance(p, Categorical) for p in self.params.values())

    def grid_size(self) -> int:
        """Number of configurations in the grid (raises if a parameter is continuous)."""
        self._require_grid()
        return math.prod(len(p.values) for p in self.params.values())  # type: ignore[union-attr]

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every configuration of the grid, in the order the file lists the values."""
        self._require_grid()
        names = list(self.params)
        choices = [p.values for p in self.params.values()]  # type: ignore[union-attr]
        for combo in itertools.product(*choices):
            yield {**self.fixed, **dict(zip(names, combo, strict=True))}

    def _require_grid(self) -> None:
        continuous = [n for n, p in self.params.items() if not isinstance(p, Categorical)]
        if continuous:
            raise SpaceError(
                f"a grid needs finite values for every hyperparameter; {', '.join(continuous)} "
                "is a range (use values: or grid: lists)"
            )

    @classmethod
    def from_dict(
        cls, space: Mapping[str, Any], fixed: Mapping[str, Any] | None = None, source: str = ""
    ) -> SearchSpace:
        """Build and validate a space from parsed YAML/JSON; ``source`` names the file."""
        prefix = f"{source}: " if source else ""
        if not isinstance(space, Mapping) or not space:
            raise SpaceError(f"{prefix}'space' must be a non-empty mapping of hyperparameters")
        params: dict[str, Param] = {}
        fixed_values = dict(fixed or {})
        for name, spec in space.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"{prefix}hyperparameter names must be strings, got {name!r}")
            parsed = _parse_param(spec, f"{prefix}space.{name}")
            if isinstance(parsed, _Fixed):
                fixed_values[name] = parsed.value
            else:
                params[name] = parsed
        overlap = sorted(set(params) & set(fixed or {}))
        if overlap:
            raise SpaceError(f"{prefix}{overlap[0]!r} is both searched and fixed")
        if not params:
            raise SpaceError(f"{prefix}'space' has no hyperparameter to search, only fixed values")
        return cls(params=params, fixed=fixed_values)


@dataclass(frozen=True)
class _Fixed:
    value: Any


_KEYS = {
    "float": {"type", "low", "high", "log"},
    "int": {"type", "low", "high", "log"},
    "categorical": {"type", "values"},
}


def _number(value: Any, where: str, key: str, integer: bool = False) -> float:
    if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"{where}: {key}={value!r} is not a finite number")
    if integer and value != int(value):
        raise SpaceError(f"{where}: {key}={value!r} is not an integer")
    return value


def _parse_param(spec: Any, where: str) -> Param | _Fixed:
    if isinstance(spec, list):
        return _categorical(spec, where)
    if not isinstance(spec, Mapping):
        return _Fixed(spec)
    if "grid" in spec or ("values" in spec and "type" not in spec):
        key = "grid" if "grid" in spec else "values"
        extra = set(spec) - {key}
        if extra:
            raise SpaceError(f"{where}: unexpected key {sorted(extra)[0]!r} next to {key!r}")
        return _categorical(spec[key], where)
    kind = spec.get("type")
    if kind not in _KEYS:
        raise SpaceError(
            f"{where}: type={kind!r} is unknown; expected float, int, categorical, "
            "or a list of values"
        )
    extra = set(spec) - _KEYS[kind]
    if extra:
        raise SpaceError(
            f"{where}: unexpected key {sorted(extra)[0]!r} for type {kind}; expected "
            f"{', '.join(sorted(_KEYS[kind] - {'type'}))}"
        )
    if kind == "categorical":
        if "values" not in spec:
            raise SpaceError(f"{where}: type categorical needs 'values'")
        return _categorical(spec["values"], where)
    for key in ("low", "high"):
        if key not in spec:
            raise SpaceError(f"{where}: type {kind} needs '{key}'")
    integer = kind == "int"
    low = _number(spec["low"], where, "low", integer)
    high = _number(spec["high"], where, "high", integer)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{where}: log={log!r} must be true or false")
    if low > high or (not integer and low == high):
        raise SpaceError(f"{where}: low={low!r} must be below high={high!r}")
    if log and low <= 0:
        raise SpaceError(f"{where}: a log scale needs low > 0, got low={low!r}")
    return Int(int(low), int(high), log) if integer else Float(float(low), float(high), log)


def _categorical(values: Any, where: str) -> Categorical:
    if not isinstance(values, list) or not values:
        raise SpaceError(f"{where}: values must be a non-empty list")
    keys = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(keys)) != len(keys):
        raise SpaceError(f"{where}: values has duplicates")
    return Categorical(tuple(_freeze(v) for v in values))


def _freeze(value: Any) -> Any:
    """Lists become tuples so that configurations are hashable and immutable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(path: str) -> Any:
    """Parse a YAML file; a missing file or a syntax error is a SpaceError naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_yaml(handle.read(), path)
    except FileNotFoundError:
        raise SpaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SpaceError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: is not a UTF-8 text file") from None


def parse_yaml(text: str, source: str = "YAML") -> Any:
    """Parse YAML text; a syntax error is a SpaceError naming ``source`` and the place."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpaceError(f"{source}: malformed YAML{where}: {problem}") from None
