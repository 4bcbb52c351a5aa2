"""Checking a trainer's hyperparameters, with one message shape for a rejected value.

Every trainer here resolves its configuration alike: unknown keys refused, defaults
filled in, each value checked and converted. A bad value is a ``ValueError`` that names
the key, the value and what was expected (``hyperparameter alpha=-1.0 is invalid;
expected a number >= 0``). The numpy MLP (:func:`trainers.mlp.resolve_config`) and the
CNN (:func:`trainers.torch_cnn.resolve_cnn_config`) write their tables with these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np


def bad_value(key: str, value: Any, expected: str) -> ValueError:
    """The one message shape of a rejected hyperparameter.

    >>> bad_value("alpha", -1.0, "a number >= 0")
    ValueError('hyperparameter alpha=-1.0 is invalid; expected a number >= 0')
    """
    return ValueError(f"hyperparameter {key}={value!r} is invalid; expected {expected}")


def is_int(value: Any) -> bool:
    """An integer (Python's or numpy's), and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A real number (Python's or numpy's), and not a bool."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def check_dtype(dtype: str) -> None:
    """The floating-point type a trainer computes in: ``float32`` or ``float64``."""
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype={dtype!r} is unknown; expected 'float32' or 'float64'")


def with_defaults(
    config: Mapping[str, Any], defaults: Mapping[str, Any], trainer: str
) -> dict[str, Any]:
    """``config`` over ``defaults``; a key that ``defaults`` lacks is refused.

    >>> with_defaults({"a": 2}, {"a": 1, "b": 0}, "T")
    {'a': 2, 'b': 0}
    """
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown hyperparameter {unknown[0]!r} for {trainer}; expected some of "
            f"{', '.join(defaults)}"
        )
    return {**defaults, **config}


def check_choice(c: Mapping[str, Any], key: str, choices: Collection[str]) -> None:
    """``c[key]`` must be one of ``choices`` (the names, in their order, in the message)."""
    if c[key] not in choices:
        raise bad_value(key, c[key], f"one of {', '.join(choices)}")


def check_batch_size(c: Mapping[str, Any]) -> None:
    """``batch_size`` is ``"auto"`` or a positive integer."""
    bs = c["batch_size"]
    if bs != "auto" and not (is_int(bs) and bs >= 1):
        raise bad_value("batch_size", bs, "'auto' or a positive integer")


def check_numbers(
    c: dict[str, Any], checks: Mapping[str, tuple[Callable[[float], bool], str]]
) -> None:
    """Each ``key: (test, expected)`` of ``checks``: ``c[key]`` must be a finite number that
    passes ``test``; it becomes a float in ``c``."""
    for key, (test, expected) in checks.items():
        value = c[key]
        if not (is_number(value) and math.isfinite(value) and test(value)):
            raise bad_value(key, value, expected)
        c[key] = float(value)


def batch_size(setting: Any, n: int) -> int:
    """Rows per mini-batch for ``n`` training rows: ``auto`` is scikit-learn's min(200, n),
    and no batch exceeds ``n``.

    >>> batch_size("auto", 90), batch_size(32, 90), batch_size(500, 90)
    (90, 32, 90)
    """
    return min(200, n) if setting == "auto" else min(int(setting), n)
