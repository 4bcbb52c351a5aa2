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

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hpo.budgets import (
    ceil_log2,
    eta_configs,
    hyperband_brackets,
    report_sh_plan,
    successive_halving_rounds,
)
from hpo.schedulers import (
    ASHA,
    PASHA,
    GridSearch,
    HyperBand,
    OneEpochTopK,
    RandomSearch,
    Scheduler,
    SuccessiveHalving,
)

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
        given["mode"] = getattr(given["mode"], "value", given["mode"])
    return {"scheduler": entry.name, **given}


# -- the schedulers: a real search from settings ------------------------------------------------


def _build_hyperband(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    from hpo.trainer_spec import SettingsError

    if s.budget is not None or s.n_configs is not None:
        raise SettingsError(
            "hyperband takes max_epochs, min_epochs, eta and iterations, not budget or n_configs"
        )
    return HyperBand(sampler, R, eta=s.eta, min_epochs=r, iterations=s.iterations, **common)


def _build_sh(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    if s.budget is not None:
        n = s.n_configs or getattr(sampler, "size", 64)
        return SuccessiveHalving(sampler, n, budget=s.budget, iterations=s.iterations, **common)
    # The η form needs η^k configurations for its k + 1 rungs r, rη, …, R;
    # scikit-learn's (samples) starts max_resources // min_resources candidates, its
    # n_candidates='exhaust' (HalvingRandomSearchCV), or the whole grid
    # (HalvingGridSearchCV), and runs fewer rungs when they are few.
    n = s.n_configs or s._halving_candidates() or eta_configs(R, s.eta, r)
    return SuccessiveHalving(sampler, n, max_epochs=R, eta=s.eta, min_epochs=r,
                             iterations=s.iterations, **common)  # fmt: skip


def _build_asha(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    return ASHA(sampler, R, eta=s.eta, min_epochs=r, n_configs=s.n_configs,
                budget=s.budget, stop_only=s.stop_only, **common)  # fmt: skip


def _build_pasha(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    return PASHA(sampler, R, eta=s.eta, min_epochs=r, n_configs=s.n_configs,
                 budget=s.budget, **common)  # fmt: skip


def _build_topk(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    # Egele et al.: screen n configurations for r epochs, train the best k to R; by
    # default as many as HyperBand starts, with HyperBand's budget.
    brackets = hyperband_brackets(R, s.eta, r)
    n = s.n_configs or sum(b.n_trials for b in brackets)
    budget = s.budget or sum(b.budget for b in brackets) * s.iterations
    return OneEpochTopK(sampler, n, R, budget=budget, min_epochs=r, iterations=s.iterations,
                        **common)  # fmt: skip


def _build_random(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    n = s.n_configs
    if n is None:  # the number HyperBand's budget buys at full training
        n = max(1, sum(b.budget for b in hyperband_brackets(R, s.eta, r)) // R)
        if s.budget is not None:
            n = max(1, s.budget // R)
    return RandomSearch(sampler, n, R, eta=s.eta, min_epochs=r, **common)


def _build_grid(s: SearchSettings, sampler: Sampler, R: int, r: int, common: dict[str, Any]) -> Scheduler:  # fmt: skip
    from hpo.samplers import GridSampler

    if not isinstance(sampler, GridSampler):  # a table of recorded rows: every row once
        return RandomSearch(sampler, sampler.size, R, eta=s.eta, min_epochs=r, **common)  # type: ignore[attr-defined]
    return GridSearch(sampler, R, eta=s.eta, min_epochs=r, **common)


# -- the schedulers: within a total epoch budget (comparisons) --------------------------------


def _sh_within(b: Within) -> Scheduler:
    """The report's successive halving within B epochs.

    The two rules differ, and the recorded figures of each depend on its own: on a table
    the curves end at R, so (N, B) is the report's largest plan whose survivors end at R
    (:func:`hpo.budgets.report_sh_plan`), repeated while the budget lasts; live
    (``hpo compare``) the survivors may train past R, so N is HyperBand's most aggressive
    bracket's, halved until every round still gets an epoch, and B is the whole budget.
    """
    if b.on_table:
        n, one = report_sh_plan(b.max_epochs)
        spent = successive_halving_rounds(n, one).budget
        return SuccessiveHalving(b.sampler, n, budget=one, iterations=max(1, b.total // spent),
                                 **b.common)  # fmt: skip
    n = hyperband_brackets(b.max_epochs, b.eta, b.min_epochs)[0].n_trials
    while n > 2 and b.total < n * ceil_log2(n):
        n //= 2
    return SuccessiveHalving(b.sampler, max(2, n), budget=b.total, **b.common)


def _sh_eta_within(b: Within) -> Scheduler:
    """The η form, η^k configurations for the rungs r, rη, …, R, repeated while B lasts."""
    R, r, eta = b.max_epochs, b.min_epochs, b.eta
    n = eta_configs(R, eta, r)
    one = SuccessiveHalving(b.sampler, n, max_epochs=R, eta=eta, min_epochs=r).planned_budget()
    return SuccessiveHalving(b.sampler, n, max_epochs=R, eta=eta, min_epochs=r,
                             iterations=max(1, b.total // one), **b.common)  # fmt: skip


def _hyperband_within(b: Within) -> Scheduler:
    """HyperBand's brackets, as many whole iterations as B holds (at least one)."""
    return HyperBand(b.sampler, b.max_epochs, eta=b.eta, min_epochs=b.min_epochs,
                     iterations=max(1, b.total // b.hyperband_budget), **b.common)  # fmt: skip


def _asha_within(stop_only: bool = False, budget_aware: bool = True) -> Callable[[Within], Scheduler]:  # fmt: skip
    def make(b: Within) -> Scheduler:
        return ASHA(b.sampler, b.max_epochs, eta=b.eta, min_epochs=b.min_epochs, budget=b.total,
                    stop_only=stop_only, budget_aware=budget_aware, **b.common)  # fmt: skip

    return make


def _pasha_within(b: Within) -> Scheduler:
    return PASHA(b.sampler, b.max_epochs, eta=b.eta, min_epochs=b.min_epochs, budget=b.total,
                 **b.common)  # fmt: skip


def _topk_within(b: Within) -> Scheduler:
    """Egele et al.: screen as many configurations as HyperBand starts in B, keeping enough
    of it to train at least one of them to R."""
    R = b.max_epochs
    iterations = max(1, b.total // b.hyperband_budget)
    starts = sum(x.n_trials for x in hyperband_brackets(R, b.eta, b.min_epochs))
    n = min(starts * iterations, b.total - R + 1)
    return OneEpochTopK(b.sampler, max(1, n), R, budget=b.total, min_epochs=b.min_epochs,
                        **b.common)  # fmt: skip


def _random_within(b: Within) -> Scheduler:
    """B // R configurations, each to R.

    Live, the decision points are the settings' rungs r, rη, …; on a table they stay at
    RandomSearch's defaults (r = 1, η = 3) whatever the benchmark's η, as the committed
    search-quality figures were made (a point where a trial only continues can still
    reorder epochs that end at the same simulated time).
    """
    rungs = {} if b.on_table else {"eta": b.eta, "min_epochs": b.min_epochs}
    return RandomSearch(b.sampler, max(1, b.total // b.max_epochs), b.max_epochs, **rungs,
                        **b.common)  # fmt: skip


# -- the samplers and Optuna's methods ---------------------------------------------------------


def _random_sampler(space: SearchSpace, seed: int) -> Sampler:
    from hpo.samplers import RandomSampler

    return RandomSampler(space, seed)


def _grid_sampler(space: SearchSpace, seed: int) -> Sampler:
    from hpo.samplers import GridSampler

    return GridSampler(space)


def _tpe_sampler(space: SearchSpace, seed: int) -> Sampler:
    from hpo.samplers import TPESampler

    return TPESampler(space, seed)


def _gp_sampler(space: SearchSpace, seed: int) -> Sampler:
    from hpo._gp import GPSampler

    return GPSampler(space, seed)


def _optuna_tpe_hyperband(seed: int, R: int, r: int, eta: int) -> tuple[Any, Any]:
    import optuna

    return optuna.samplers.TPESampler(seed=seed), optuna.pruners.HyperbandPruner(
        min_resource=r, max_resource=R, reduction_factor=eta
    )


def _optuna_random_sha(seed: int, R: int, r: int, eta: int) -> tuple[Any, Any]:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed), optuna.pruners.SuccessiveHalvingPruner(
        min_resource=r, reduction_factor=eta
    )


def _optuna_tpe(seed: int, R: int, r: int, eta: int) -> tuple[Any, Any]:
    import optuna

    return optuna.samplers.TPESampler(seed=seed), optuna.pruners.NopPruner()


# The order is the order of every list: --scheduler's choices, the table's methods, compare's.
for _entry in (
    SchedulerEntry("sh", "successive halving: the report's N, B form, or rungs r, rη, …, R "
                   "(Jamieson & Talwalkar 2016; scikit-learn's halving with samples)",
                   build=_build_sh, within=_sh_within, exhaust=True, compare_default=True),
    SchedulerEntry("sh-eta", "successive halving's η form, η^k configurations, repeated "
                   "while the budget lasts (a comparison's variant)", within=_sh_eta_within),
    SchedulerEntry("hyperband", "HyperBand: brackets s = s_max … 0 of successive halving "
                   "(Li et al., JMLR 2018)", build=_build_hyperband, within=_hyperband_within,
                   compare_default=True),
    SchedulerEntry("asha", "ASHA: asynchronous successive halving, promotes the top 1/η of "
                   "a rung (Li et al., MLSys 2020)", build=_build_asha, within=_asha_within(),
                   plan="approximate", stop_only=True, compare_default=True),
    SchedulerEntry("asha-stop", "ASHA's stop-only form: continues the top 1/η at once, "
                   "never pauses (a comparison's variant)", within=_asha_within(stop_only=True),
                   plan="approximate", pauses=False),
    SchedulerEntry("asha-greedy", "ASHA starting new trials while the budget lasts, not "
                   "budget-aware (a comparison's variant)",
                   within=_asha_within(budget_aware=False), plan="approximate"),
    SchedulerEntry("pasha", "PASHA: ASHA that raises its top rung only while the ranking "
                   "changes (Bohdal et al. 2023)", build=_build_pasha, within=_pasha_within,
                   plan="approximate"),
    SchedulerEntry("topk", "one epoch for n configurations, then the best k to R "
                   "(Egele et al. 2023)", build=_build_topk, within=_topk_within),
    SchedulerEntry("random", "random search: every configuration trained to R (Bergstra "
                   "& Bengio 2012)", build=_build_random, within=_random_within, pauses=False,
                   compare_default=True),
    SchedulerEntry("grid", "grid search: every configuration of the grid trained to R",
                   build=_build_grid, pauses=False, sampler="grid"),
):  # fmt: skip
    register_scheduler(_entry)

for _sampler in (
    SamplerEntry("random", "uniform draws from the space", _random_sampler),
    SamplerEntry("tpe", "Optuna's TPE through ask/tell, fed by every bracket (Bergstra et "
                 "al. 2011)", _tpe_sampler),
    SamplerEntry("gp", "a Gaussian process with expected improvement (hpo._gp)", _gp_sampler),
    SamplerEntry("grid", "every combination of the grid, in file order", _grid_sampler,
                 open_ended=False, needs_grid=True, in_compare=False),
):  # fmt: skip
    register_sampler(_sampler)

for _optuna in (
    OptunaEntry("optuna-tpe-hyperband", "Optuna's TPESampler with its HyperbandPruner",
                _optuna_tpe_hyperband, compare_default=True),
    OptunaEntry("optuna-random-sha", "Optuna's RandomSampler with its SuccessiveHalvingPruner",
                _optuna_random_sha, compare_default=True),
    OptunaEntry("optuna-tpe", "Optuna's TPESampler alone, every trial to R (NopPruner)",
                _optuna_tpe),
):  # fmt: skip
    register_optuna(_optuna)

del _entry, _sampler, _optuna

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
