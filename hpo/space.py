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

**Conditional hyperparameters.** An entry may carry ``when:``; it is then *active* only
when every key of it holds, and an inactive hyperparameter is absent from the
configuration (not given a made-up value)::

    space:
      solver: [sgd, adam]
      momentum: {type: float, low: 0.5, high: 0.99, when: {solver: sgd}}
      beta_1: {type: float, low: 0.8, high: 0.99, when: {solver: [adam]}}   # membership
      depth: {type: int, low: 1, high: 3}
      width_3: {type: int, low: 8, high: 256, when: {depth: {ge: 3}}}       # comparison

A condition's value is a scalar (equality), a list (membership) or a mapping of
comparisons (``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``in``); the keys of one
``when`` must all hold (AND), and a hyperparameter whose parent is inactive is inactive.
A fixed value of a scalar entry cannot carry ``when:`` (write ``{values: [x], when: ...}``
for that). Samplers draw the parents before their children (:attr:`SearchSpace.order`);
a space without ``when:`` samples exactly as before conditions existed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from hpo.errors import HpoError


class SpaceError(HpoError, ValueError):
    """A malformed search space; the message names the file, the key and the problem."""


#: The comparisons a condition may use, and what each means for an actual value ``x``.
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "in")
_ORDERED = ("lt", "le", "gt", "ge")


@dataclass(frozen=True)
class Condition:
    """``name <op> value``: one test a hyperparameter's ``when:`` makes on another.

    ``op`` is one of :data:`COMPARISONS`; for ``in``, ``value`` is a tuple. A condition
    on a hyperparameter that is absent (inactive) never holds.

    >>> Condition("solver", "eq", "sgd").holds({"solver": "sgd"})
    True
    >>> Condition("depth", "ge", 3).holds({"depth": 2})
    False
    >>> Condition("depth", "ge", 3).holds({})
    False
    """

    name: str
    op: str
    value: Any

    def test(self, x: Any) -> bool:
        """Whether the value ``x`` of :attr:`name` passes."""
        op, v = self.op, self.value
        if op == "eq":
            return _same(x, v)
        if op == "ne":
            return not _same(x, v)
        if op == "in":
            return any(_same(x, w) for w in v)
        if not _is_real(x):
            return False
        return {"lt": x < v, "le": x <= v, "gt": x > v, "ge": x >= v}[op]

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether it holds in ``config`` (False when :attr:`name` is absent)."""
        return self.name in config and self.test(config[self.name])

    def to_spec(self) -> Any:
        """The YAML form of this one test (its value under the name's key)."""
        if self.op == "eq":
            return _thaw(self.value)
        if self.op == "in":
            return [_thaw(v) for v in self.value]
        return {self.op: _thaw(self.value)}


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
    """Named hyperparameters to search, plus fixed ones passed to every trial.

    ``conditions[name]`` lists the tests (AND) under which ``name`` is active; a name
    without an entry is always active (as long as no parent it names is inactive).
    """

    params: Mapping[str, Param]
    fixed: Mapping[str, Any]
    conditions: Mapping[str, tuple[Condition, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_order", _dependency_order(self.params, self.conditions))

    @property
    def is_conditional(self) -> bool:
        """Whether some hyperparameter is active only for some values of others."""
        return bool(self.conditions)

    @property
    def order(self) -> tuple[str, ...]:
        """The searched names, every parent before its children (file order otherwise)."""
        return self._order  # type: ignore[attr-defined,no-any-return]

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given the values ``config`` holds for its parents."""
        return all(c.holds(config) for c in self.conditions.get(name, ()))

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One configuration, fixed values included, inactive hyperparameters left out.

        >>> space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.1, "high": 1}})
        >>> sorted(space.sample(np.random.default_rng(0)))
        ['lr']
        """
        config = dict(self.fixed)
        for name in self.order:
            if self.is_active(name, config):
                config[name] = self.params[name].sample(rng)
        return self._in_file_order(config)

    def conform(self, config: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """``config`` made valid: inactive hyperparameters dropped, active ones that it
        lacks drawn from ``rng`` (no draw at all when nothing is missing)."""
        out = dict(self.fixed)
        for name in self.order:
            if not self.is_active(name, out):
                continue
            out[name] = config[name] if name in config else self.params[name].sample(rng)
        return self._in_file_order(out)

    def _in_file_order(self, config: dict[str, Any]) -> dict[str, Any]:
        if not self.conditions:
            return config
        return {
            **{k: v for k, v in config.items() if k not in self.params},
            **{n: config[n] for n in self.params if n in config},
        }

    @property
    def is_grid(self) -> bool:
        return all(isinstance(p, Categorical) for p in self.params.values())

    def grid_size(self) -> int:
        """Number of configurations in the grid (raises if a parameter is continuous);
        with conditions, only the active combinations count."""
        self._require_grid()
        if not self.conditions:
            return math.prod(len(p.values) for p in self.params.values())  # type: ignore[union-attr]
        return sum(1 for _ in self._active_combinations())

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every configuration of the grid, in the order the file lists the values; with
        conditions, each active combination once (an inactive value is not a new point)."""
        self._require_grid()
        if self.conditions:
            for config in self._active_combinations():
                yield self._in_file_order(config)
            return
        names = list(self.params)
        choices = [p.values for p in self.params.values()]  # type: ignore[union-attr]
        for combo in itertools.product(*choices):
            yield {**self.fixed, **dict(zip(names, combo, strict=True))}

    def _active_combinations(self) -> Iterator[dict[str, Any]]:
        """Depth first over :attr:`order`: an inactive name is skipped, not branched on."""
        order = self.order

        def walk(i: int, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(order):
                yield dict(config)
                return
            name = order[i]
            if not self.is_active(name, config):
                yield from walk(i + 1, config)
                return
            for value in self.params[name].values:  # type: ignore[union-attr]
                config[name] = value
                yield from walk(i + 1, config)
            del config[name]

        yield from walk(0, dict(self.fixed))

    def _require_grid(self) -> None:
        continuous = [n for n, p in self.params.items() if not isinstance(p, Categorical)]
        if continuous:
            raise SpaceError(
                f"a grid needs finite values for every hyperparameter; {', '.join(continuous)} "
                "is a range (use values: or grid: lists)"
            )

    def condition_spec(self, name: str) -> dict[str, Any] | None:
        """The ``when:`` mapping of ``name`` as YAML would write it (None if unconditional)."""
        tests = self.conditions.get(name)
        if not tests:
            return None
        by_name: dict[str, list[Condition]] = {}
        for c in tests:
            by_name.setdefault(c.name, []).append(c)
        return {
            key: group[0].to_spec() if len(group) == 1 else {c.op: _thaw(c.value) for c in group}
            for key, group in by_name.items()
        }

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
        whens: dict[str, Any] = {}
        for name, spec in space.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"{prefix}hyperparameter names must be strings, got {name!r}")
            if isinstance(spec, Mapping) and "when" in spec:
                whens[name] = spec["when"]
                spec = {k: v for k, v in spec.items() if k != "when"}
            parsed = _parse_param(spec, f"{prefix}space.{name}")
            if isinstance(parsed, _Fixed):
                if name in whens:
                    raise SpaceError(
                        f"{prefix}space.{name}.when: a fixed value cannot be conditional; "
                        "give it as {values: [...], when: ...}"
                    )
                fixed_values[name] = parsed.value
            else:
                params[name] = parsed
        overlap = sorted(set(params) & set(fixed or {}))
        if overlap:
            raise SpaceError(f"{prefix}{overlap[0]!r} is both searched and fixed")
        if not params:
            raise SpaceError(f"{prefix}'space' has no hyperparameter to search, only fixed values")
        conditions = {
            name: _parse_when(when, f"{prefix}space.{name}.when", name, params, fixed_values)
            for name, when in whens.items()
        }
        _check_acyclic(conditions, prefix)
        return cls(params=params, fixed=fixed_values, conditions=conditions)


def _dependency_order(
    params: Mapping[str, Param], conditions: Mapping[str, tuple[Condition, ...]]
) -> tuple[str, ...]:
    """The names in file order, except that each comes after the parents it names."""
    done: dict[str, None] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name not in params or name in path:
            return
        for c in conditions.get(name, ()):
            visit(c.name, (*path, name))
        done[name] = None

    for name in params:
        visit(name, ())
    return tuple(done)


def _check_acyclic(conditions: Mapping[str, tuple[Condition, ...]], prefix: str) -> None:
    """A hyperparameter may not depend on itself, directly or through others."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise SpaceError(
                f"{prefix}space.{cycle[0]}.when: the conditions form a cycle "
                f"({' -> '.join(cycle)}); a hyperparameter cannot depend on itself"
            )
        state[name] = 1
        for c in conditions.get(name, ()):
            visit(c.name, [*path, name])
        state[name] = 2

    for name in conditions:
        visit(name, [])


def _parse_when(
    when: Any,
    where: str,
    child: str,
    params: Mapping[str, Param],
    fixed: Mapping[str, Any],
) -> tuple[Condition, ...]:
    """The tests of one ``when:`` mapping, each checked against its parent's values."""
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(
            f"{where}: expected a mapping such as {{solver: sgd}} or {{depth: {{ge: 3}}}}, "
            f"got {when!r}"
        )
    out: list[Condition] = []
    for key, test in when.items():
        at = f"{where}.{key}"
        if key == child:
            raise SpaceError(
                f"{where}: the conditions form a cycle ({child} -> {child}); a hyperparameter "
                "cannot depend on itself"
            )
        if key not in params and key not in fixed:
            known = ", ".join(n for n in params if n != child)
            raise SpaceError(f"{at}: {key!r} is not a hyperparameter of the space (it has {known})")
        if isinstance(test, Mapping):
            if not test:
                raise SpaceError(f"{at}: expected comparisons such as {{ge: 3}}, got {{}}")
            tests = []
            for op, value in test.items():
                if op not in COMPARISONS:
                    raise SpaceError(
                        f"{at}: comparison {op!r} is unknown; expected one of {', '.join(COMPARISONS)}"
                    )
                tests.append(_condition(key, op, value, at))
        elif isinstance(test, list):
            tests = [_condition(key, "in", test, at)]
        else:
            tests = [_condition(key, "eq", test, at)]
        _check_can_hold(tests, params.get(key), fixed.get(key), key in fixed, at)
        out += tests
    return tuple(out)


def _condition(name: str, op: str, value: Any, at: str) -> Condition:
    if op == "in":
        if not isinstance(value, list) or not value:
            raise SpaceError(f"{at}: 'in' needs a non-empty list of values, got {value!r}")
        return Condition(name, op, tuple(_freeze(v) for v in value))
    if op in _ORDERED:
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
            with contextlib.suppress(ValueError):
                value = float(value)
        if not _is_real(value) or not math.isfinite(value):
            raise SpaceError(f"{at}: {op} needs a number, got {value!r}")
    return Condition(name, op, _freeze(value))


def _check_can_hold(
    tests: list[Condition], parent: Param | None, fixed_value: Any, is_fixed: bool, at: str
) -> None:
    """Refuse tests that no value of the parent passes (the child would never be active)."""

    def fail(problem: str) -> None:
        shown = "; ".join(f"{c.op} {_thaw(c.value)!r}" for c in tests)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise SpaceError(f"{at}: the condition ({shown}) can never hold: {problem}")

    if is_fixed:
        if not all(c.test(fixed_value) for c in tests):
            fail(f"{tests[0].name} is fixed at {fixed_value!r}")
        return
    if isinstance(parent, Categorical):
        ordered = [c for c in tests if c.op in _ORDERED]
        if ordered and not all(_is_real(v) for v in parent.values):
            fail(
                f"{ordered[0].op} compares numbers, but {tests[0].name} is a categorical of "
                f"{', '.join(repr(_thaw(v)) for v in parent.values)}"
            )
        if not any(all(c.test(v) for c in tests) for v in parent.values):
            fail(f"{tests[0].name}'s values are {', '.join(repr(_thaw(v)) for v in parent.values)}")
        return
    assert parent is not None  # a name that is neither searched nor fixed was refused
    kind = "int" if isinstance(parent, Int) else "float"
    for c in tests:
        for v in c.value if c.op == "in" else (c.value,):
            if not _is_real(v):
                fail(f"{c.name} is a {kind} range and {v!r} is not a number")
    if isinstance(parent, Float) and any(c.op in ("eq", "in") for c in tests):
        fail(f"{tests[0].name} is a float range, where one value has probability 0; compare it")
    low, high = parent.low, parent.high
    points = {float(low), float(high)}
    for c in tests:
        for v in c.value if c.op == "in" else (c.value,):
            points |= {float(v), float(v) - 1, float(v) + 1}
            if isinstance(parent, Int):
                points |= {float(math.floor(v)), float(math.ceil(v))}
    inside = sorted(p for p in points if low <= p <= high)
    if isinstance(parent, Int):  # neighbours cover the integers next to every threshold
        candidates = {int(p) for p in inside if p == int(p)}
        candidates |= {c + d for c in list(candidates) for d in (-2, -1, 1, 2)}
        values: list[float] = [v for v in candidates if low <= v <= high]
    else:  # midpoints cover the open intervals between thresholds
        values = inside + [(a + b) / 2 for a, b in itertools.pairwise(inside)]
    if not any(all(c.test(v) for c in tests) for v in values):
        fail(f"{tests[0].name} ranges over [{low}, {high}]")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _same(a: Any, b: Any) -> bool:
    """Equality of values as a space holds them (lists as tuples; True is not 1)."""
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return False
    return bool(_freeze(a) == _freeze(b))


def _thaw(value: Any) -> Any:
    """Tuples back to lists, as YAML and JSON write them."""
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


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


# -- spaces written in Python ----------------------------------------------------------------------
#
# ``hpo.uniform(1e-4, 1e-1)`` and friends are the YAML entries as objects: each holds exactly
# the mapping the YAML parser gives for its twin, so a Python space converts to the same
# ``space:`` (and ``fixed:``) a search file would have, is recorded in the study as JSON, and
# builds the same :class:`SearchSpace`.


@dataclass(frozen=True)
class Domain:
    """One searched hyperparameter written in Python: its YAML entry and its condition.

    Made by :func:`uniform`, :func:`loguniform`, :func:`randint`, :func:`choice` and
    :func:`grid`, which check their arguments at once (a :class:`SpaceError`, one line).

    >>> uniform(0.1, 1.0).to_spec()
    {'type': 'float', 'low': 0.1, 'high': 1.0}
    >>> choice(["sgd", "adam"], when={"depth": {"ge": 2}}).to_spec()
    {'values': ['sgd', 'adam'], 'when': {'depth': {'ge': 2}}}
    """

    spec: Any  # the YAML form without ``when`` (a mapping, or a list for a plain choice)
    when: Mapping[str, Any] | None = None
    label: str = ""

    def to_spec(self) -> Any:
        """The entry exactly as the YAML parser would give it for the same line of a file."""
        if self.when is None:
            return _plain_copy(self.spec)
        spec = self.spec if isinstance(self.spec, Mapping) else {"values": self.spec}
        return {**_plain_copy(spec), "when": _plain_copy(self.when)}

    def __repr__(self) -> str:
        return self.label + (f", when={_plain_copy(self.when)!r})" if self.when else ")")


def uniform(low: float, high: float, *, when: Mapping[str, Any] | None = None) -> Domain:
    """A float drawn uniformly from [low, high]: YAML ``{type: float, low: …, high: …}``.

    >>> uniform(3, 1)
    Traceback (most recent call last):
    ...
    hpo.space.SpaceError: uniform(3, 1): low=3 must be below high=1
    """
    label = f"uniform({low!r}, {high!r}"
    return _domain({"type": "float", "low": _plain(low), "high": _plain(high)}, when, label)


def loguniform(low: float, high: float, *, when: Mapping[str, Any] | None = None) -> Domain:
    """A float drawn log-uniformly from [low, high] (low > 0): YAML ``{type: float, …, log: true}``."""
    label = f"loguniform({low!r}, {high!r}"
    spec = {"type": "float", "low": _plain(low), "high": _plain(high), "log": True}
    return _domain(spec, when, label)


def randint(
    low: int, high: int, *, log: bool = False, when: Mapping[str, Any] | None = None
) -> Domain:
    """An integer from {low, …, high}, **high included** (as the YAML ``type: int`` and
    Optuna's ``suggest_int``; unlike numpy's and Ray Tune's ``randint``); log-uniformly
    with ``log=True``.

    >>> randint(1, 3).to_spec()
    {'type': 'int', 'low': 1, 'high': 3}
    """
    label = f"randint({low!r}, {high!r}" + (", log=True" if log else "")
    spec: dict[str, Any] = {"type": "int", "low": _plain(low), "high": _plain(high)}
    if log:
        spec["log"] = log
    return _domain(spec, when, label)


def choice(values: list[Any] | tuple[Any, ...], *, when: Mapping[str, Any] | None = None) -> Domain:
    """One of ``values``, uniformly: YAML ``[a, b, …]`` (``{values: [...], when: …}`` with a
    condition). A value may itself be a list, such as layer sizes."""
    return _domain(_values(values, "choice"), when, f"choice({_values(values, 'choice')!r}")


def grid(values: list[Any] | tuple[Any, ...], *, when: Mapping[str, Any] | None = None) -> Domain:
    """Values a grid sampler enumerates (a random sampler draws them uniformly): YAML
    ``{grid: [...]}``."""
    return _domain({"grid": _values(values, "grid")}, when, f"grid({_values(values, 'grid')!r}")


def _values(values: Any, who: str) -> Any:
    if isinstance(values, tuple):
        values = list(values)
    if not isinstance(values, list):
        raise SpaceError(f"{who}: values={values!r} must be a non-empty list")
    return _plain_copy(values)


def _domain(spec: Any, when: Mapping[str, Any] | None, label: str) -> Domain:
    where = label + ")"
    parsed = _parse_param(spec, where)
    assert not isinstance(parsed, _Fixed)  # every form above is a searched one
    if when is not None and (not isinstance(when, Mapping) or not when):
        raise SpaceError(
            f"{where}: when={when!r} must be a mapping such as {{'solver': 'sgd'}} or "
            "{'depth': {'ge': 3}}"
        )
    return Domain(spec, dict(when) if when is not None else None, label)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (JSON and the YAML checks know only those)."""
    return value.item() if isinstance(value, np.generic) else value


def _plain_copy(value: Any) -> Any:
    """A deep copy with tuples as lists and numpy scalars as Python ones, as YAML gives."""
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value]
    return _plain(value)


#: The keys of a YAML entry; a mapping of only these (with a type, values or grid) among
#: Python objects is that entry, any other mapping a group of nested names.
_SPEC_KEYS = {"type", "low", "high", "log", "values", "grid", "when"}


def _is_spec(value: Mapping[str, Any]) -> bool:
    keys = set(value)
    return (
        bool(keys)
        and keys <= _SPEC_KEYS
        and bool({"type", "values", "grid"} & keys)
        and not any(isinstance(v, Domain) for v in value.values())
    )


def _has_domain(value: Any) -> bool:
    if isinstance(value, Domain):
        return True
    return isinstance(value, Mapping) and any(_has_domain(v) for v in value.values())


def _walk(obj: Mapping[str, Any], prefix: str, out: list[tuple[str, Any, bool]]) -> None:
    """Leaves of a Python space as ``(dotted name, value, came from nesting)``."""
    for key, value in obj.items():
        if not isinstance(key, str) or not key:
            raise SpaceError(f"space: hyperparameter names must be strings, got {key!r}")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not _is_spec(value):
            if not value:
                raise SpaceError(f"space.{name}: an empty mapping is neither a value nor a group")
            _walk(value, f"{name}.", out)
        else:
            out.append((name, value, bool(prefix)))


def space_document(space: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``space:`` and ``fixed:`` mappings of a search file, from any way of writing one.

    ``space`` is one of:

    * a YAML path (``str`` or ``Path``): a search file (its ``space:`` and ``fixed:``) or a
      file holding only the hyperparameters;
    * a mapping as YAML would parse it (``{"lr": {"type": "float", ...}}``): passed through;
    * Python objects (:func:`uniform`, :func:`loguniform`, :func:`randint`, :func:`choice`,
      :func:`grid`) mixed with fixed values. A plain value is fixed (a list too: use
      :func:`choice` to search one); a YAML entry mapping is accepted among them; any other
      mapping is a group whose names are joined with dots
      (``{"optimizer": {"lr": ...}}`` is ``optimizer.lr``). A condition names the dotted
      names (``when={"optimizer.name": "sgd"}``).

    Fixed scalars stay under ``space:`` as YAML writes them; fixed lists, which ``space:``
    would read as a choice, go under ``fixed:``. The result is checked as a space (one
    :class:`SpaceError` naming the entry).

    >>> space_document({"optimizer": {"lr": loguniform(1e-4, 1e-1)}, "epochs": 5, "hidden": [64]})
    ({'optimizer.lr': {'type': 'float', 'low': 0.0001, 'high': 0.1, 'log': True}, 'epochs': 5}, {'hidden': [64]})
    """
    import os

    source = ""
    if isinstance(space, (str, os.PathLike)):
        source = str(space)
        doc = read_yaml(source)
        if isinstance(doc, Mapping) and isinstance(doc.get("space"), Mapping):
            out, fixed = dict(doc["space"]), dict(doc.get("fixed") or {})
        else:
            out, fixed = doc, {}
    elif isinstance(space, Mapping) and not _has_domain(space):
        out, fixed = dict(space), {}
    elif isinstance(space, Mapping):
        leaves: list[tuple[str, Any, bool]] = []
        _walk(space, "", leaves)
        out, fixed = {}, {}
        for name, value, _ in leaves:
            if name in out or name in fixed:
                raise SpaceError(f"space.{name}: given twice (once nested, once dotted)")
            if isinstance(value, Domain):
                out[name] = value.to_spec()
            elif isinstance(value, Mapping):  # a YAML entry among Python objects
                out[name] = _plain_copy(value)
            elif isinstance(value, (list, tuple)):
                fixed[name] = _plain_copy(value)
            else:
                out[name] = _plain(value)
    elif isinstance(space, Domain):
        raise SpaceError(
            f"space: {space!r} needs a name; give a mapping such as {{'lr': {space!r}}}"
        )
    else:
        raise SpaceError(
            f"space={space!r} is not a space; expected a YAML path, a mapping of hyperparameters "
            "or Python objects such as {'lr': hpo.loguniform(1e-4, 1e-1)}"
        )
    SearchSpace.from_dict(out, fixed, source=source)  # every problem now, in one line
    return out, fixed


def nested_names(space: Any) -> frozenset[str]:
    """The dotted names of a Python space that came from nested mappings (those that
    :func:`nest` gives back nested); empty for YAML and for flat names."""
    if not isinstance(space, Mapping) or not _has_domain(space):
        return frozenset()
    leaves: list[tuple[str, Any, bool]] = []
    _walk(space, "", leaves)
    return frozenset(name for name, _, nested in leaves if nested)


def nest(config: Mapping[str, Any], names: Any = None) -> dict[str, Any]:
    """A flat configuration with dotted names as nested mappings, for the trainer.

    Only ``names`` (default: every dotted name) are split; the others stay flat, as the
    user wrote them. An inactive hyperparameter is absent, and so is a group none of whose
    names is present.

    >>> nest({"optimizer.lr": 0.1, "optimizer.name": "sgd", "depth": 2})
    {'optimizer': {'lr': 0.1, 'name': 'sgd'}, 'depth': 2}
    >>> nest({"a.b": 1, "c.d": 2}, names={"c.d"})
    {'a.b': 1, 'c': {'d': 2}}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if "." not in key or (names is not None and key not in names):
            if key in out:
                raise SpaceError(f"{key!r} is both a value and a group of nested names")
            out[key] = value
            continue
        *groups, last = key.split(".")
        node = out
        for i, group in enumerate(groups):
            node = node.setdefault(group, {})
            if not isinstance(node, dict):
                raise SpaceError(f"{'.'.join(groups[: i + 1])!r} is both a value and a group")
        node[last] = value
    return out


def flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse of :func:`nest`: nested mappings as dotted names.

    >>> flatten({"optimizer": {"lr": 0.1}, "depth": 2})
    {'optimizer.lr': 0.1, 'depth': 2}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            out.update({f"{key}.{k}": v for k, v in flatten(value).items()})
        else:
            out[key] = value
    return out
