"""Spaces written in Python, and the dotted names of nested ones.

``hpo.uniform(1e-4, 1e-1)`` and friends are the YAML entries as objects: each holds exactly
the mapping the YAML parser gives for its twin, so a Python space converts to the same
``space:`` (and ``fixed:``) a search file would have (:func:`space_document`), is recorded
in the study as JSON, and builds the same :class:`~hpo.space.SearchSpace`. A nested mapping
is a group of dotted names (``optimizer.lr``); :func:`nest` gives the trainer its
configuration nested again, :func:`flatten` undoes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo.space._params import SpaceError, _Fixed, _parse_param
from hpo.space._space import SearchSpace
from hpo.space._yaml import read_yaml


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
