"""Samplers propose configurations: random, grid, and TPE (through Optuna's ask/tell).

A sampler has two methods:

* ``sample() -> dict | None``: the next configuration, or None once exhausted (a grid);
* ``observe(config, epochs, score)``: a configuration's score (lower is better) after
  ``epochs`` epochs. Random and grid sampling ignore it; TPE learns from it.

The TPE sampler is fed by trials of every bracket and rung, BOHB-style (Falkner et al.
2018): it keeps one model per epoch level and proposes from the highest level that has
enough observations, so a search with many cheap trials at low rungs and a few at
``max_epochs`` uses both. (Optuna's own HyperbandPruner gives each bracket's trials to a
separate sampler view, so TPE there sees one bracket at a time.)

In a conditional space (``when:``), every sampler leaves inactive hyperparameters out of
the configuration: random and grid through :class:`hpo.space.SearchSpace`, TPE by asking
Optuna define-by-run (parents first, then only the active children), the GP sampler by
its encoding (see :mod:`hpo._gp`).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from hpo.space import Categorical, Float, Int, SearchSpace


class Sampler(Protocol):
    def sample(self) -> dict[str, Any] | None: ...

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None: ...


class RandomSampler:
    """Independent uniform (or log-uniform) draws from the space."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)

    def sample(self) -> dict[str, Any]:
        return self.space.sample(self.rng)

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        """Random sampling learns nothing."""


class GridSampler:
    """Every configuration of a grid exactly once, in file order or shuffled by ``seed``."""

    def __init__(self, space: SearchSpace, seed: int | None = None) -> None:
        self.space = space
        self.size = space.grid_size()
        self.seed = seed
        self.position = 0
        self._order: np.ndarray | None = None
        if seed is not None:
            self._order = np.random.default_rng(seed).permutation(self.size)
        self._configs: list[dict[str, Any]] | None = None

    def sample(self) -> dict[str, Any] | None:
        if self.position >= self.size:
            return None
        if self._configs is None:
            self._configs = list(self.space.grid())
        index = self.position if self._order is None else int(self._order[self.position])
        self.position += 1
        return dict(self._configs[index])

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        """A grid is fixed in advance."""

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_configs": None}  # rebuilt on demand; keeps pickles small


def optuna_distributions(space: SearchSpace) -> tuple[dict[str, Any], dict[str, dict]]:
    """Optuna distributions for a space; categorical values become JSON-able keys."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    dists: dict[str, Any] = {}
    decode: dict[str, dict] = {}
    for name, p in space.params.items():
        if isinstance(p, Float):
            dists[name] = FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            dists[name] = IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Categorical):
            keys = [choice_key(v) for v in p.values]
            dists[name] = CategoricalDistribution(keys)
            decode[name] = dict(zip(keys, p.values, strict=True))
    return dists, decode


def choice_key(value: Any) -> Any:
    """Optuna accepts None, bool, int, float and str as choices; others go by JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)


def optuna_suggest(trial: Any, name: str, dist: Any) -> Any:
    """``trial.suggest_*`` for one Optuna distribution (define-by-run)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_int(name, dist.low, dist.high, log=dist.log)


class TPESampler:
    """Optuna's TPE with one model per epoch level (BOHB-style), fed by every bracket.

    In a conditional space the trial is asked define-by-run: hyperparameters in
    dependency order (:attr:`~hpo.space.SearchSpace.order`), only the active ones
    suggested, and only those told back.

    Args:
        space: the search space.
        seed: seeds Optuna's sampler.
        min_observations: a level's model is used once it has this many scores
            (default: max(10, number of hyperparameters + 1)); before that, the highest
            level with enough data is used, and with none, TPE's own random start-up.
        multivariate, group: Optuna's options (a joint Parzen estimator; one per set of
            hyperparameters that occur together). Default: Optuna's own for a space
            without conditions (as before), both on for a conditional one, where they
            were measured (``bench/conditional_samplers.py``).
    """

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        min_observations: int | None = None,
        *,
        multivariate: bool | None = None,
        group: bool | None = None,
    ):
        self.space = space
        self.seed = seed
        self.min_observations = min_observations or max(10, len(space.params) + 1)
        self.multivariate, self.group = multivariate, group
        self.distributions, self._decode = optuna_distributions(space)
        self._studies: dict[int, Any] = {}
        self._counts: dict[int, int] = {}
        self._seen: dict[int, set[str]] = {}
        self._n_sampled = 0

    def _study(self, epochs: int) -> Any:
        import optuna

        if epochs not in self._studies:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            with warnings.catch_warnings():  # multivariate and group are "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(
                    seed=self.seed + epochs, constant_liar=False, **self._options()
                )
            self._studies[epochs] = optuna.create_study(direction="minimize", sampler=sampler)
            self._counts[epochs] = 0
            self._seen[epochs] = set()
        return self._studies[epochs]

    def _options(self) -> dict[str, bool]:
        """Optuna's multivariate/group options: none given for a space without conditions
        unless asked (Optuna's defaults, as before), both on for a conditional one."""
        multivariate = getattr(self, "multivariate", None)  # older pickles lack the options
        group = getattr(self, "group", None)
        if self.space.is_conditional:
            multivariate = True if multivariate is None else multivariate
            group = multivariate if group is None else group
        options = {} if multivariate is None else {"multivariate": multivariate}
        if group is not None:
            options["group"] = group and bool(multivariate)  # group needs multivariate
        return options

    def _level(self) -> int:
        """The highest epoch level with enough observations (the lowest if none has)."""
        ready = [e for e, n in self._counts.items() if n >= self.min_observations]
        if ready:
            return max(ready)
        return min(self._counts) if self._counts else 0

    def sample(self) -> dict[str, Any]:
        from optuna.trial import TrialState

        study = self._study(self._level())
        if self.space.is_conditional:
            trial = study.ask()
            values = dict(self.space.fixed)
            for name in self.space.order:
                if self.space.is_active(name, values):
                    raw = optuna_suggest(trial, name, self.distributions[name])
                    values[name] = self._decode[name][raw] if name in self._decode else raw
            params = {n: trial.params[n] for n in self.space.params if n in trial.params}
        else:
            trial = study.ask(self.distributions)
            params = dict(trial.params)
        # The proposal is not an observation: close it so TPE never sees it as pending.
        study.tell(trial, state=TrialState.FAIL)
        self._n_sampled += 1
        config = dict(self.space.fixed)
        for name, value in params.items():
            config[name] = self._decode[name][value] if name in self._decode else value
        return config

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        from optuna.trial import create_trial

        if not math.isfinite(score):
            return
        params = {
            name: choice_key(config[name]) if name in self._decode else config[name]
            for name in self.distributions
            if name in config  # an inactive hyperparameter is not told
        }
        key = json.dumps(params, sort_keys=True, default=str)
        study = self._study(epochs)
        if key in self._seen[epochs]:
            return
        self._seen[epochs].add(key)
        dists = {n: self.distributions[n] for n in params}
        study.add_trial(create_trial(params=params, distributions=dists, value=score))
        self._counts[epochs] += 1


def make_sampler(name: str, space: SearchSpace, seed: int) -> Sampler:
    """The sampler registered as ``name`` (:mod:`hpo.registry`): ``random``, ``grid`` (file
    order), ``tpe`` or ``gp`` (:class:`hpo._gp.GPSampler`), or one registered later."""
    from hpo import registry  # the registry builds samplers from this module

    if name not in registry.sampler_names():
        names = registry.sampler_names()
        expected = ", ".join(repr(n) for n in names[:-1]) + f" or {names[-1]!r}"
        raise ValueError(f"sampler={name!r} is unknown; expected {expected}")
    return registry.sampler(name).build(space, seed)


def iterate(sampler: Sampler) -> Iterator[dict[str, Any]]:
    """Configurations until the sampler is exhausted (forever for random and TPE)."""
    while (config := sampler.sample()) is not None:
        yield config
