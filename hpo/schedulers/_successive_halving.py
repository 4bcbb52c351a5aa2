"""Synchronous successive halving: the report's form, the η form, and scikit-learn's
schedule when training samples are the resource."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from hpo.budgets import eta_bracket, halving_bracket, successive_halving_rounds
from hpo.samplers import Sampler
from hpo.schedulers._base import _check_positive_int
from hpo.schedulers._brackets import BracketScheduler, keep_ceil_fraction, keep_fraction, keep_half
from hpo.types import Mode


class SuccessiveHalving(BracketScheduler):
    """Successive halving over ``n_configs`` configurations, in one of two forms.

    * **The report's form** (give ``budget``): ``⌈log₂N⌉`` rounds; round ``t`` gives each
      survivor ``⌊B / (|S_t|·⌈log₂N⌉)⌋`` more epochs and keeps the best ``⌈|S_t|/2⌉``
      (see :func:`hpo.budgets.successive_halving_rounds`). Never spends more than ``B``.
    * **The η form** (give ``max_epochs``): rungs ``r, rη, rη², …`` below ``R``, then ``R``
      (the first judgement is at ``r = min_epochs``); each keeps the top ``⌊n_i/η⌋`` (see
      :func:`hpo.budgets.eta_bracket`).
    * **scikit-learn's form**, the η form with ``resource="samples"``: the schedule of
      ``HalvingRandomSearchCV``/``HalvingGridSearchCV`` for the same ``n_candidates``
      (``n_configs``), ``factor`` (η), ``min_resources`` (r) and ``max_resources`` (R): each
      rung keeps ``⌈n_i/η⌉`` on ``r·η^i`` samples, and too few candidates mean fewer rungs,
      not a refusal (see :func:`hpo.budgets.halving_bracket`).

    Args:
        sampler: proposes the configurations.
        n_configs: N, the configurations that start.
        budget: B, total epochs (the report's form).
        max_epochs, eta, min_epochs: R, η and r (the η form).
        iterations: run the bracket this many times, each with new configurations
            (side by side when workers are free); the total budget is ``iterations·B``.
        mode, seed, stopping: as for every scheduler.

    >>> from hpo.samplers import RandomSampler
    >>> from hpo.space import SearchSpace
    >>> space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    >>> sh = SuccessiveHalving(RandomSampler(space), n_configs=8, budget=240)
    >>> [(r.n_trials, r.epochs) for r in sh.planned_brackets()[0].rungs]
    [(8, 10), (4, 30), (2, 70)]
    """

    name = "sh"

    def __init__(
        self,
        sampler: Sampler | None = None,
        n_configs: int | None = None,
        *,
        budget: int | None = None,
        max_epochs: int | None = None,
        eta: int = 3,
        min_epochs: int = 1,
        iterations: int = 1,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        if budget is not None and max_epochs is not None:
            raise ValueError(
                "give budget (the report's form) or max_epochs (the eta form) for successive "
                "halving, not both"
            )
        if budget is None and max_epochs is None:
            raise ValueError(
                "successive halving needs budget (the report's form) or max_epochs (the eta form)"
            )
        if budget is not None and resource != "epochs":
            raise ValueError(
                "the report's successive halving (budget) adds epochs round after round; with "
                f"resource={resource!r} give max_epochs, min_epochs and eta (the eta form)"
            )
        if budget is not None:
            plan = successive_halving_rounds(n_configs, budget)
            self.budget, self.form = budget, "report"
        elif resource == "samples":
            assert max_epochs is not None
            plan = halving_bracket(n_configs, max_epochs, eta, min_epochs)
            self.budget, self.form = plan.refit_budget, "sklearn"
        else:
            assert max_epochs is not None
            plan = eta_bracket(n_configs, max_epochs, eta, min_epochs)
            self.budget, self.form = plan.budget, "eta"
        _check_positive_int("iterations", iterations)
        self.n_configs, self.eta, self.min_epochs = n_configs, eta, min_epochs
        self.iterations = iterations
        # The report keeps ⌈|S_t|/2⌉ of each round; the η form keeps ⌊n_i/η⌋ (HyperBand's
        # rule); scikit-learn's keeps ⌈n_i/η⌉ (``ceil(n_candidates / self.factor)``).
        keep = {
            "report": keep_half,
            "eta": partial(keep_fraction, eta),
            "sklearn": partial(keep_ceil_fraction, eta),
        }[self.form]
        super().__init__(
            sampler,
            [plan] * iterations,
            keep=keep,
            mode=mode,
            seed=seed,
            stopping=stopping,
            resource=resource,
        )
