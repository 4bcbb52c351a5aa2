"""One hyperparameter's domain: a float or int range (optionally log-scaled) or a categorical.

:func:`_parse_param` reads one YAML entry (``{type: float, low: …, high: …}``, a bare list,
``{grid: [...]}``, a fixed scalar) into a :data:`Param`, checking it; each ``sample``
draws from the caller's generator (the study's). :class:`SpaceError` is every problem of
a space, here and in the other modules of :mod:`hpo.space`.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from hpo.errors import HpoError


class SpaceError(HpoError, ValueError):
    """A malformed search space; the message names the file, the key and the problem."""

    __module__ = "hpo.space"  # where users import it from, as tracebacks name it


N = TypeVar("N", int, float)


@dataclass(frozen=True)
class _Range(Generic[N]):
    """[low, high], drawn on a log scale when ``log``: what a float and an int range share."""

    low: N
    high: N
    log: bool = False


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A draw whose logarithm is uniform on [log low, log high]."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))


class Float(_Range[float]):
    """A float drawn uniformly from [low, high], or log-uniformly when ``log``."""

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(_log_uniform(rng, self.low, self.high))
        return float(rng.uniform(self.low, self.high))


class Int(_Range[int]):
    """An integer drawn uniformly from {low, …, high}, or log-uniformly when ``log``."""

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:  # each integer owns [k - 0.5, k + 0.5) of the log-uniform draw
            x = _log_uniform(rng, self.low - 0.5, self.high + 0.5)
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
