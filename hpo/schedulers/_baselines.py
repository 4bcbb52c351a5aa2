"""The baselines: random search and grid search, every trial trained to ``max_epochs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpo.budgets import Bracket, Rung, asha_rungs
from hpo.samplers import GridSampler, Sampler
from hpo.schedulers._base import Scheduler, TrialRecord, _check_positive_int
from hpo.types import Decision, Mode, Suggestion


class RandomSearch(Scheduler):
    """``n_configs`` configurations, each trained to ``max_epochs`` (the full budget).

    Without stopping rules it never stops a trial early. Decision points lie at the
    rungs ``r, rη, …, R`` (where it simply continues), so that stopping rules composed
    with it can act there.

    >>> from hpo.samplers import RandomSampler
    >>> from hpo.space import SearchSpace
    >>> space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    >>> RandomSearch(RandomSampler(space), n_configs=10, max_epochs=27).planned_budget()
    270
    """

    name = "random"
    pauses_trials = False  # every trial continues to max_epochs, or a stopping rule ends it

    def __init__(
        self,
        sampler: Sampler | None = None,
        n_configs: int | None = None,
        max_epochs: int | None = None,
        *,
        eta: int = 3,
        min_epochs: int = 1,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        super().__init__(
            sampler, max_epochs, mode=mode, seed=seed, stopping=stopping, resource=resource
        )
        self.n_configs = _check_positive_int("n_configs", n_configs)
        # A refit (training samples) goes to the full size at once: its rungs would only
        # refit it again and again.
        self.rung_epochs = (
            (max_epochs,)
            if self.refits
            else asha_rungs(max_epochs, eta, min_epochs, resource=resource)
        )

    def planned_brackets(self) -> tuple[Bracket, ...]:
        return (Bracket(0, (Rung(self.n_configs, self.max_epochs),)),)

    def _next(self) -> Suggestion | None:
        if len(self.trials) >= self.n_configs:
            return None
        config = self._sample()
        if config is None:
            return None
        n = len(self.trials) + 1
        return self._new_trial(config, self.rung_epochs[0], reason=f"trial {n} of {self.n_configs}")

    def _at_milestone(self, trial: TrialRecord) -> Decision:
        if trial.epochs >= self.max_epochs:
            return self._complete(trial)
        nxt = trial.rung + 1
        return self._continue_now(trial, nxt, self.rung_epochs[nxt], "full budget: continues")

    def _exhausted(self) -> bool:
        return len(self.trials) >= self.n_configs or self._sampler_exhausted


class GridSearch(RandomSearch):
    """Every configuration of a grid space, each trained to ``max_epochs``."""

    name = "grid"

    def __init__(
        self,
        sampler: GridSampler | None = None,
        max_epochs: int | None = None,
        *,
        eta: int = 3,
        min_epochs: int = 1,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        if not isinstance(sampler, GridSampler):
            raise ValueError(
                "GridSearch needs a GridSampler over a grid space (hpo.search(..., "
                "scheduler='grid') builds one from the search's space)"
            )
        super().__init__(
            sampler, sampler.size, max_epochs, eta=eta, min_epochs=min_epochs, mode=mode,
            seed=seed, stopping=stopping, resource=resource,
        )  # fmt: skip
