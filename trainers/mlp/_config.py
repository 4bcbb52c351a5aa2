"""The numpy MLP's hyperparameters: their defaults and :func:`resolve_config`'s checks.

The names and defaults are scikit-learn's ``MLPClassifier``'s, so the report's grid reads
as written, plus γ of the activations, the initialisation, the report's §4 aids for
deeper networks and its §3.2 architecture search (depth × width, or one width per layer).
The PyTorch MLP (:mod:`trainers.torch_mlp`) takes the same table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from trainers._checks import (
    bad_value,
    check_batch_size,
    check_choice,
    check_numbers,
    is_int,
    is_number,
    with_defaults,
)
from trainers.mlp._activations import ACTIVATIONS
from trainers.mlp._network import INITS, NORMALIZATIONS

SOLVERS = ("sgd", "adam", "lbfgs")
SCHEDULES = ("constant", "invscaling", "adaptive")

#: Hyperparameters and their defaults (scikit-learn's, plus γ and the initialisation).
DEFAULTS: dict[str, Any] = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "power_t": 0.5,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "tol": 1e-4,
    "n_iter_no_change": 10,
    "activation_gamma": None,
    "init": "auto",
    # The report's §4: aids for deeper networks (all off by default).
    "dropout": 0.0,  # a rate, or one per hidden layer (inverted dropout)
    "normalization": "none",  # batch | layer
    "residual": False,  # skip connections between hidden layers of equal width
    "early_stopping": False,  # scikit-learn's: hold out validation_fraction of training
    "validation_fraction": 0.1,
    # The report's §3.2 architecture search: depth × width, instead of hidden_layer_sizes;
    # or depth with one width per layer (width_1 … width_depth), which a conditional space
    # gives as width_i only when depth >= i.
    "depth": None,
    "width": None,
    **{f"width_{i}": None for i in range(1, 9)},
}

#: The most layers that per-layer widths (``width_1`` …) can describe.
MAX_LAYER_WIDTHS = 8

#: The numeric hyperparameters: each a finite number that passes its test.
NUMBERS: dict[str, tuple[Callable[[float], bool], str]] = {
    "alpha": (lambda v: v >= 0, "a number >= 0"),
    "learning_rate_init": (lambda v: v > 0, "a number > 0"),
    "power_t": (lambda v: v >= 0, "a number >= 0"),
    "momentum": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "beta_1": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta_2": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "epsilon": (lambda v: v > 0, "a number > 0"),
    "tol": (lambda v: v >= 0, "a number >= 0"),
}


def _layer_widths(c: dict[str, Any], config: Mapping[str, Any], given: list[int]) -> tuple:
    """``(width_1, …, width_depth)``; every layer up to ``depth`` needs its width, and no
    width beyond it may be given (a conditional space leaves those out).

    >>> _layer_widths({"depth": 2, "width": None, "width_1": 8, "width_2": 4}, {}, [1, 2])
    (8, 4)
    """
    depth = c["depth"]
    if not (is_int(depth) and depth >= 1):
        raise bad_value("depth", depth, "a positive integer (with width_1 … width_depth given)")
    if depth > MAX_LAYER_WIDTHS:
        raise bad_value("depth", depth, f"at most {MAX_LAYER_WIDTHS} with per-layer widths")
    if c["width"] is not None:
        raise ValueError("give width (every layer), or width_1 … width_depth, not both")
    beyond = [i for i in given if i > depth]
    if beyond:
        raise bad_value(f"width_{beyond[0]}", c[f"width_{beyond[0]}"], f"absent with depth={depth}")
    for i in range(1, int(depth) + 1):
        value = c[f"width_{i}"]
        if not (is_int(value) and value >= 1):
            raise bad_value(f"width_{i}", value, f"a positive integer (a layer of depth={depth})")
    sizes = tuple(int(c[f"width_{i}"]) for i in range(1, int(depth) + 1))
    # A resolved configuration (a saved state) carries hidden_layer_sizes too; they agree.
    if "hidden_layer_sizes" in config and tuple(config["hidden_layer_sizes"]) != sizes:
        raise ValueError("give hidden_layer_sizes, or depth and width_1 … width_depth, not both")
    return sizes


def _hidden_layer_sizes(c: dict[str, Any], config: Mapping[str, Any]) -> tuple[int, ...]:
    """The hidden widths: ``hidden_layer_sizes``, or from ``depth`` and the width(s)."""
    layer_widths = [i for i in range(1, MAX_LAYER_WIDTHS + 1) if c[f"width_{i}"] is not None]
    if layer_widths:
        return _layer_widths(c, config, layer_widths)
    if c["depth"] is not None or c["width"] is not None:
        depth, width = c["depth"], c["width"]
        for key, value in (("depth", depth), ("width", width)):
            if not (is_int(value) and value >= 1):
                raise bad_value(key, value, "a positive integer (with depth and width both given)")
        sizes = (int(width),) * int(depth)
        # A resolved configuration (a saved state) carries both, and they agree.
        if "hidden_layer_sizes" in config and tuple(config["hidden_layer_sizes"]) != sizes:
            raise ValueError("give hidden_layer_sizes, or depth and width, not both")
        return sizes
    sizes = c["hidden_layer_sizes"]
    if is_int(sizes):
        sizes = (int(sizes),)
    try:
        sizes = tuple(int(s) for s in sizes)
        ok = all(s >= 1 for s in sizes)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise bad_value("hidden_layer_sizes", c["hidden_layer_sizes"], "positive layer widths")
    return sizes


def _dropout(c: dict[str, Any], layers: int) -> tuple[float, ...]:
    """One dropout rate per hidden layer (a single rate serves them all)."""
    rates = c["dropout"]
    if is_number(rates):
        rates = (float(rates),) * layers
    try:
        rates = tuple(float(p) for p in rates)
        ok = len(rates) == layers and all(0.0 <= p < 1.0 for p in rates)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise bad_value(
            "dropout", c["dropout"], f"a rate in [0, 1), or {layers} of them (one per hidden layer)"
        )
    if any(rates) and c["solver"] == "lbfgs":
        raise bad_value(
            "dropout", rates, "0 with solver lbfgs (a line search needs a fixed objective)"
        )
    return rates


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in and every value checked; raises ValueError naming the key.

    >>> resolve_config({"hidden_layer_sizes": 50})["hidden_layer_sizes"]
    (50,)
    """
    c = with_defaults(config, DEFAULTS, "MLPTrainer")
    c["hidden_layer_sizes"] = sizes = _hidden_layer_sizes(c, config)
    check_choice(c, "activation", ACTIVATIONS)
    check_choice(c, "solver", SOLVERS)
    check_choice(c, "learning_rate", SCHEDULES)
    check_batch_size(c)
    check_numbers(c, NUMBERS)
    if not (is_int(c["n_iter_no_change"]) and c["n_iter_no_change"] >= 1):
        raise bad_value("n_iter_no_change", c["n_iter_no_change"], "a positive integer")
    gamma = c["activation_gamma"]
    if gamma is not None and (
        isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not math.isfinite(gamma)
    ):
        raise bad_value("activation_gamma", gamma, "a number or null")
    check_choice(c, "init", INITS)
    check_choice(c, "normalization", NORMALIZATIONS)
    c["dropout"] = _dropout(c, len(sizes))
    for key in ("residual", "early_stopping", "nesterovs_momentum"):
        if not isinstance(c[key], (bool, np.bool_)):
            raise bad_value(key, c[key], "true or false")
        c[key] = bool(c[key])
    vf = c["validation_fraction"]
    if isinstance(vf, bool) or not isinstance(vf, (int, float)) or not 0.0 < vf < 1.0:
        raise bad_value("validation_fraction", vf, "a number in (0, 1)")
    return c
