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

The package, by what each module does: :mod:`~hpo.space._params` one hyperparameter's
domain and its YAML entry; :mod:`~hpo.space._conditions` the ``when:`` tests;
:mod:`~hpo.space._space` :class:`SearchSpace`; :mod:`~hpo.space._yaml` reading YAML;
:mod:`~hpo.space._python` spaces written in Python and nested names.
"""

from hpo.space._conditions import COMPARISONS, Condition
from hpo.space._params import Categorical, Float, Int, Param, SpaceError
from hpo.space._python import (
    Domain,
    choice,
    flatten,
    grid,
    loguniform,
    nest,
    nested_names,
    randint,
    space_document,
    uniform,
)
from hpo.space._space import SearchSpace
from hpo.space._yaml import parse_yaml, read_yaml

__all__ = [
    "COMPARISONS",
    "Categorical",
    "Condition",
    "Domain",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
    "SpaceError",
    "choice",
    "flatten",
    "grid",
    "loguniform",
    "nest",
    "nested_names",
    "parse_yaml",
    "randint",
    "read_yaml",
    "space_document",
    "uniform",
]
