"""The sampler over a recorded table's rows: :class:`TableSampler`.

A scheduler draws its configurations from a sampler (:mod:`hpo.samplers`); over a table,
the configurations are the table's rows, so the sampler proposes rows: in a seeded
random order, in the table's order (a grid), or the row nearest to what a model-based
sampler proposes in the table's space. Every method of a comparison on one table
(:mod:`hpo.quality`) draws its rows from one of these, under the same rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hpo.samplers import Sampler, make_sampler
from hpo.space import SearchSpace
from hpo.tables._curves import Curves


class TableSampler:
    """Proposes the recorded configurations of a table.

    ``random`` draws rows without replacement (a seeded permutation; None once all are
    used), or with ``replace`` again in a new permutation once all are used (a table is
    then a sample of its space, as a search of the real space would be, and never runs
    out; like a proposal of the real space, a new configuration is a row not used yet
    while there is one). ``tpe`` lets a
    model-based sampler (ours: Optuna's TPE per epoch level; or ``gp``) propose in the
    table's space, numbers as ranges, and takes the recorded row nearest to the proposal
    that has not been used yet; with ``replace``, a used row is taken again only once every
    row has been used. (A proposal near the best configurations so far would otherwise map
    to the same few rows over and over: on a sampled table of 1,000 rows, ASHA + TPE ran
    1,872 trials on 275 distinct rows. In the space itself, such proposals are new
    configurations.) Exact when the table is a full grid.
    """

    def __init__(
        self,
        curves: Curves,
        kind: str = "random",
        seed: int = 0,
        *,
        replace: bool = False,
        hint: SearchSpace | None = None,
    ) -> None:
        if kind not in ("random", "tpe", "grid", "gp"):
            raise ValueError(
                f"sampler={kind!r} is unknown for a recorded table; expected random, tpe, gp or grid"
            )
        if replace and kind == "grid":
            raise ValueError(
                "a grid runs each row once; sampling with replacement needs random or tpe"
            )
        self.curves, self.kind, self.replace = curves, kind, replace
        self.size: int | None = None if replace else curves.n_configs
        self._rng = np.random.default_rng(seed)
        self.used: set[int] = set()
        n = curves.n_configs
        self._order = np.arange(n) if kind == "grid" else self._rng.permutation(n)
        self._next = 0
        self._tpe: Sampler | None = None
        if kind in ("tpe", "gp"):
            self._tpe = make_sampler(kind, curves.space(numeric=True, hint=hint), seed)

    def sample(self) -> dict[str, Any] | None:
        if self.size is not None and len(self.used) >= self.size:
            return None
        if self._tpe is not None:
            index = self._nearest(self._tpe.sample())
        elif self.replace:  # every row once, in a random order; then again, in a new one
            if self._next == self.curves.n_configs:
                self._order, self._next = self._rng.permutation(self.curves.n_configs), 0
            index = int(self._order[self._next])
            self._next += 1
        else:
            while int(self._order[self._next]) in self.used:
                self._next += 1
            index = int(self._order[self._next])
        self.used.add(index)
        return dict(self.curves.configs[index])

    def observe(self, config: dict[str, Any], epochs: int, score: float) -> None:
        if self._tpe is not None:
            self._tpe.observe(config, epochs, score)

    def _nearest(self, proposal: dict[str, Any]) -> int:
        exhausted = len(self.used) >= self.curves.n_configs
        return self.curves.nearest(proposal, frozenset() if exhausted else self.used)


__all__ = ["TableSampler"]
