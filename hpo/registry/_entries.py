"""The registry's machinery: the three kinds of entry, their tables, and every look-up.

:func:`register_scheduler`, :func:`register_sampler` and :func:`register_optuna` add an
entry (the built-in ones are added by :mod:`hpo.registry._builtin`); everything that lists
or builds methods asks the functions here (see :mod:`hpo.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hpo.budgets import hyperband_brackets
from hpo.schedulers import Scheduler
from hpo.types import Mode

if TYPE_CHECKING:
    from hpo.samplers import Sampler
    from hpo.settings import SearchSettings
    from hpo.space import SearchSpace

#: What a search runs unless told otherwise (``hpo run``, ``SearchSettings``, ``simulate``).
DEFAULT_SCHEDULER = "hyperband"
DEFAULT_SAMPLER = "random"
#: The scheduler a sampler's name alone stands for in a comparison: every trial to R.
FULL_BUDGET = "random"


@dataclass(frozen=True)
class Within:
    """What a method gets in a comparison: the rungs (R, r, η), the total epochs B and a sampler.

    Args:
        sampler: proposes configurations (a table's rows, or the live space's).
        max_epochs: R. min_epochs: r (1 on a table). eta: η.
        total: B, the epochs every method of the comparison may spend.
        mode, seed: the objective's direction and the run's seed.
        on_table: a recorded table (``hpo simulate --methods``, :mod:`hpo.quality`) or a
            live problem (``hpo compare``, :mod:`hpo.compare`); the rules differ only
            where an entry says why.
    """

    sampler: Sampler
    max_epochs: int
    min_epochs: int
    eta: int
    total: int
    mode: str
    seed: int
    on_table: bool

    @property
    def common(self) -> dict[str, Any]:
        return {"mode": self.mode, "seed": self.seed}

    @property
    def hyperband_budget(self) -> int:
        """One HyperBand iteration's epochs at R, r, η (Li et al. 2018)."""
        return sum(b.budget for b in hyperband_brackets(self.max_epochs, self.eta, self.min_epochs))


#: ``build(settings, sampler, R, r, common)``: R and r are max/min epochs, or resources
#: under ``resource: samples``; ``common`` holds mode, seed, stopping rules and resource.
Build = Callable[["SearchSettings", "Sampler", int, int, dict[str, Any]], Scheduler]


@dataclass(frozen=True)
class SchedulerEntry:
    """A scheduler, named once.

    Args:
        name: what ``--scheduler`` and the comparison methods call it.
        description: one line of help, with its source.
        build: the scheduler from a search's settings; None for a variant that only
            comparisons run.
        within: the scheduler within a total epoch budget (comparisons); None if it
            has no such rule.
        plan: ``"exact"``, or ``"approximate"`` when its rung sizes are what it reaches if
            every rung fills (asynchronous promotion); a budget then fixes the total, and
            the plan says "about" only without one.
        pauses: whether it pauses trials (and resumes them later), in its default form.
        stop_only: whether it has a stop-only form (``stop_only: true``).
        exhaust: whether it takes ``min_resources: exhaust`` (scikit-learn's rule for
            successive halving).
        sampler: the sampler it always uses, whatever the settings say (grid search).
        compare_default: one of the methods ``hpo compare`` runs by default.
    """

    name: str
    description: str
    build: Build | None = None
    within: Callable[[Within], Scheduler] | None = None
    plan: Literal["exact", "approximate"] = "exact"
    pauses: bool = True
    stop_only: bool = False
    exhaust: bool = False
    sampler: str | None = None
    compare_default: bool = False

    def approximate(self, budget: int | None) -> bool:
        """Whether a plan of this scheduler (with this budget) is an estimate."""
        return self.plan == "approximate" and budget is None


@dataclass(frozen=True)
class SamplerEntry:
    """A sampler, named once.

    Args:
        name: what ``--sampler`` calls it; alone, a comparison method (full budget).
        description: one line of help.
        build: ``build(space, seed)``, the sampler over a search space.
        open_ended: proposes without end (random, model-based); a grid enumerates a fixed
            list, so on a table it is a method of its own, never ``scheduler/grid``.
        needs_grid: needs every hyperparameter to have finite values.
        in_compare: ``hpo compare`` runs it live (random search with it).
    """

    name: str
    description: str
    build: Callable[[SearchSpace, int], Sampler]
    open_ended: bool = True
    needs_grid: bool = False
    in_compare: bool = True


@dataclass(frozen=True)
class OptunaEntry:
    """One of Optuna's samplers with one of its pruners (the comparison's anchor).

    Args:
        name: the comparison method's name (``optuna-…``).
        description: one line of help.
        parts: ``parts(seed, R, r, eta) -> (sampler, pruner)``, Optuna objects.
        in_compare: ``hpo compare`` runs it (every Optuna entry runs on tables).
        compare_default: one of the methods ``hpo compare`` runs by default.
    """

    name: str
    description: str
    parts: Callable[[int, int, int, int], tuple[Any, Any]]
    in_compare: bool = True
    compare_default: bool = False


_SCHEDULERS: dict[str, SchedulerEntry] = {}
_SAMPLERS: dict[str, SamplerEntry] = {}
_OPTUNA: dict[str, OptunaEntry] = {}


def register_scheduler(entry: SchedulerEntry) -> SchedulerEntry:
    """Add a scheduler (its name must be new); returns the entry."""
    _check_new(entry.name)
    _SCHEDULERS[entry.name] = entry
    return entry


def register_sampler(entry: SamplerEntry) -> SamplerEntry:
    """Add a sampler (its name must be new among samplers and Optuna's methods)."""
    if entry.name in _SAMPLERS or entry.name in _OPTUNA:
        raise ValueError(f"sampler {entry.name!r} is registered already")
    _SAMPLERS[entry.name] = entry
    return entry


def register_optuna(entry: OptunaEntry) -> OptunaEntry:
    """Add one of Optuna's methods (its name must be new)."""
    _check_new(entry.name)
    _OPTUNA[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a scheduler, sampler or Optuna method (tests register and remove their own)."""
    for table in (_SCHEDULERS, _SAMPLERS, _OPTUNA):
        table.pop(name, None)


def _check_new(name: str) -> None:
    if name in _SCHEDULERS or name in _OPTUNA:
        raise ValueError(f"method {name!r} is registered already")


# -- what the registry holds ----------------------------------------------------------------------


def scheduler(name: str) -> SchedulerEntry:
    """The entry of scheduler ``name`` (KeyError if none)."""
    return _SCHEDULERS[name]


def find_scheduler(name: str) -> SchedulerEntry | None:
    """The entry of scheduler ``name``, or None."""
    return _SCHEDULERS.get(name)


def sampler(name: str) -> SamplerEntry:
    """The entry of sampler ``name`` (KeyError if none)."""
    return _SAMPLERS[name]


def optuna_method(name: str) -> OptunaEntry:
    """The entry of Optuna's method ``name`` (KeyError if none)."""
    return _OPTUNA[name]


def schedulers() -> list[SchedulerEntry]:
    """Every scheduler entry, variants included, in registration order."""
    return list(_SCHEDULERS.values())


def samplers() -> list[SamplerEntry]:
    return list(_SAMPLERS.values())


def optuna_methods() -> list[OptunaEntry]:
    return list(_OPTUNA.values())


def scheduler_names() -> list[str]:
    """What ``--scheduler`` accepts: the schedulers a real search can be built with."""
    return [e.name for e in _SCHEDULERS.values() if e.build is not None]


def sampler_names() -> list[str]:
    """What ``--sampler`` accepts."""
    return list(_SAMPLERS)


def open_ended_samplers() -> list[str]:
    """The samplers a scheduler's new trials on a table may draw with (``hpo simulate --sampler``)."""
    return [e.name for e in _SAMPLERS.values() if e.open_ended]


def table_methods() -> list[str]:
    """Every method ``hpo simulate --methods`` (:class:`hpo.quality.Benchmark`) runs on a
    recorded table: each sampler alone (full budget), each scheduler with a budget rule
    times each open-ended sampler, and Optuna's methods."""
    full = _SCHEDULERS[FULL_BUDGET].name
    kinds = [e.name for e in _SCHEDULERS.values() if e.within is not None and e.name != full]
    return [*_SAMPLERS, *(f"{k}/{s}" for k in kinds for s in open_ended_samplers()), *_OPTUNA]


def compare_methods(*, default: bool = False) -> list[str]:
    """What ``hpo compare --methods`` accepts (``default``: what it runs unless told).

    Each scheduler with a budget rule (its sampler random; the full-budget one is named by
    its samplers), each sampler that runs live (random search with it), and Optuna's
    methods. The default is the original suite: the report's four and Optuna's two.
    """
    full = _SCHEDULERS[FULL_BUDGET]
    ours = [e for e in _SCHEDULERS.values() if e.within is not None and e is not full]
    out = [e.name for e in ours if e.compare_default or not default]
    out += [s for s in _SAMPLERS if _SAMPLERS[s].in_compare and (not default or (
        s == full.name and full.compare_default))]  # fmt: skip
    out += [e.name for e in _OPTUNA.values() if e.in_compare and (e.compare_default or not default)]
    return out


def is_optuna(method: str) -> bool:
    return method in _OPTUNA


def within(method: str, budget: Within) -> Scheduler:
    """One of our comparison methods (``scheduler`` or a sampler's name, the sampler already
    in ``budget``) spending at most ``budget.total`` epochs; ValueError for a name with no
    budget rule."""
    entry = _SCHEDULERS.get(_SCHEDULERS[FULL_BUDGET].name if method in _SAMPLERS else method)
    if entry is None or entry.within is None:
        raise ValueError(f"method {method!r} has no rule for a total epoch budget")
    return entry.within(budget)


#: A scheduler's constructor arguments that are settings of the same name.
_SETTING_ARGS = ("max_epochs", "min_epochs", "eta", "n_configs", "budget", "iterations",
                 "stop_only", "mode", "seed", "resource")  # fmt: skip


def settings_of(declared: Scheduler) -> dict[str, Any]:
    """The settings a scheduler object stands for, from the arguments it was given.

    ``hpo.search(train, space, scheduler=ASHA(max_epochs=81, eta=3))`` is
    ``scheduler="asha", max_epochs=81, eta=3``: the search builds its scheduler from
    settings (as ``hpo run`` does), so that the study records names and numbers and a
    resume builds the same one. The object must be a registered scheduler's class, built
    without a sampler (the search's ``sampler=`` and space choose it), and every argument
    it was given must be a setting. Raises SettingsError otherwise.
    """
    from hpo.trainer_spec import SettingsError

    kind = type(declared).__name__
    entry = _SCHEDULERS.get(getattr(declared, "name", ""))
    if entry is None or entry.build is None:
        raise SettingsError(
            f"{kind} is not a registered scheduler; expected one of {', '.join(scheduler_names())} "
            "(hpo.registry.register_scheduler adds one)"
        )
    given = dict(getattr(declared, "given", {}))
    if given.pop("sampler", None) is not None:
        raise SettingsError(
            f"give hpo.search {kind}(max_epochs=...) without a sampler; the search's "
            "sampler= and space build it"
        )
    if given.pop("stopping", ()):
        raise SettingsError(
            "stopping rules are settings here: stopping=[{'rule': 'median', ...}], not objects"
        )
    other = sorted(set(given) - set(_SETTING_ARGS))
    if other:
        raise SettingsError(
            f"{kind}'s {', '.join(other)} {'is' if len(other) == 1 else 'are'} not a setting of "
            f"hpo.search; expected only {', '.join(_SETTING_ARGS)}"
        )
    if given.get("resource") == "samples":  # the rungs count training samples
        for epochs, resources in (("max_epochs", "max_resources"), ("min_epochs", "min_resources")):
            if epochs in given:
                given[resources] = given.pop(epochs)
    if "mode" in given:
        given["mode"] = Mode.parse(given["mode"])._value_  # Mode.value is its scoring method
    return {"scheduler": entry.name, **given}
