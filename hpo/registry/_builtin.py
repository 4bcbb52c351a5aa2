"""The built-in methods: each scheduler's builders, the samplers and Optuna's methods.

For each scheduler, ``_build_*`` makes it from a search's settings and ``*_within`` within
a comparison's total epoch budget; the entries at the end register them, in the order of
every list (``--scheduler``'s choices, the table's methods, ``hpo compare``'s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hpo.budgets import (
    ceil_log2,
    eta_configs,
    hyperband_brackets,
    report_sh_plan,
    successive_halving_rounds,
)
from hpo.registry._entries import (
    OptunaEntry,
    SamplerEntry,
    SchedulerEntry,
    Within,
    register_optuna,
    register_sampler,
    register_scheduler,
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
