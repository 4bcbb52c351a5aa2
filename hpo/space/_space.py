"""The search space: named hyperparameters, fixed values and the conditions between them.

:class:`SearchSpace` samples configurations, makes a proposed one valid (:meth:`~SearchSpace.conform`),
enumerates a grid, and is built (and checked) from the parsed ``space:`` of a search file
by :meth:`~SearchSpace.from_dict`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo.space._conditions import (
    Condition,
    _check_acyclic,
    _dependency_order,
    _parse_when,
    _thaw,
)
from hpo.space._params import Categorical, Param, SpaceError, _Fixed, _parse_param


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
