"""Conditional hyperparameters: the tests of a ``when:`` mapping, checked as they are read.

``when: {solver: sgd}`` makes an entry active only while ``solver`` is ``sgd``; a list is
membership, a mapping holds comparisons (:data:`COMPARISONS`), and every key must hold.
:func:`_parse_when` reads one ``when:`` into :class:`Condition` objects and refuses a test
that no value of its parent passes; :func:`_check_acyclic` refuses a cycle, and
:func:`_dependency_order` puts every parent before its children (the order samplers draw in).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo.space._params import Categorical, Float, Int, Param, SpaceError, _freeze

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
