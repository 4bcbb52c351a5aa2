"""One registry of methods: every scheduler, sampler and comparison method, named once.

Each entry says what a method is called, how it is built, whether its plan is exact or
approximate, whether it pauses trials, and one line of help. Everything that lists or
builds methods reads it: :class:`hpo.settings.SearchSettings` (validation and
``build_scheduler``), the CLI's choices (``hpo run/submit --scheduler/--sampler``,
``hpo simulate --methods``, ``hpo compare --methods``), plan printing
(:func:`hpo.search.make_plan`), the service's settings schema, :mod:`hpo.quality` (methods
on a recorded table) and :mod:`hpo.compare` (methods on a live problem).

Three kinds of entry:

* :class:`SchedulerEntry`: a scheduler. ``build`` makes it from a search's settings (the
  real search of ``hpo run``; None for a variant that exists only in comparisons, such as
  ``asha-greedy``); ``within`` makes it spend at most a total epoch budget ``B`` (a
  comparison: ``hpo simulate --methods`` on a recorded table, ``hpo compare`` live).
* :class:`SamplerEntry`: how new configurations are proposed. In a comparison a sampler's
  name alone is random search with that sampler (every trial to R: the sampler on its own).
* :class:`OptunaEntry`: Optuna's sampler and pruner, driven through ask/tell.

The package: :mod:`hpo.registry._entries` holds the kinds of entry and every look-up,
:mod:`hpo.registry._builtin` the built-in methods (imported here, so that they are
registered whenever the registry is).

A comparison method is named ``scheduler/sampler`` on a table (``hyperband/tpe``), a
scheduler alone live (its sampler random), a sampler alone (full budget), or an Optuna
entry. Adding a scheduler is its module in :mod:`hpo.schedulers` and one
:func:`register_scheduler` call::

    >>> from hpo.schedulers import RandomSearch
    >>> class Toy(RandomSearch):
    ...     name = "toy"
    >>> entry = register_scheduler(SchedulerEntry(
    ...     "toy", "random search under another name",
    ...     build=lambda s, sampler, R, r, common: Toy(sampler, 3, R, **common),
    ...     pauses=False))
    >>> "toy" in scheduler_names()
    True
    >>> unregister("toy"); "toy" in scheduler_names()
    False
"""

from hpo.registry import _builtin  # noqa: F401  (registers the built-in methods)
from hpo.registry._entries import (
    DEFAULT_SAMPLER,
    DEFAULT_SCHEDULER,
    FULL_BUDGET,
    OptunaEntry,
    SamplerEntry,
    SchedulerEntry,
    Within,
    compare_methods,
    find_scheduler,
    is_optuna,
    open_ended_samplers,
    optuna_method,
    optuna_methods,
    register_optuna,
    register_sampler,
    register_scheduler,
    sampler,
    sampler_names,
    samplers,
    scheduler,
    scheduler_names,
    schedulers,
    settings_of,
    table_methods,
    unregister,
    within,
)

__all__ = [
    "DEFAULT_SAMPLER",
    "DEFAULT_SCHEDULER",
    "FULL_BUDGET",
    "OptunaEntry",
    "SamplerEntry",
    "SchedulerEntry",
    "Within",
    "compare_methods",
    "find_scheduler",
    "is_optuna",
    "open_ended_samplers",
    "optuna_method",
    "optuna_methods",
    "register_optuna",
    "register_sampler",
    "register_scheduler",
    "sampler",
    "sampler_names",
    "samplers",
    "scheduler",
    "scheduler_names",
    "schedulers",
    "settings_of",
    "table_methods",
    "unregister",
    "within",
]
