"""HyperBand (Li et al., JMLR 2018): several successive-halving brackets, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from hpo.budgets import hyperband_brackets
from hpo.samplers import Sampler
from hpo.schedulers._base import _check_positive_int
from hpo.schedulers._brackets import BracketScheduler, keep_fraction
from hpo.types import Mode


class HyperBand(BracketScheduler):
    """HyperBand's brackets ``s = s_max … 0``, each a synchronous successive halving.

    Bracket ``s`` starts ``⌈(s_max+1)·η^s/(s+1)⌉`` trials at ``R·η^(−s)`` epochs and keeps
    ``⌊n_i/η⌋`` at each rung (see :func:`hpo.budgets.hyperband_brackets`). These are the
    paper's brackets, anchored at ``R`` with ``s_max = ⌊log_η(R/r)⌋``: the first rung is
    ``r`` only when ``R`` is ``r`` times a power of η (``r=2, R=81, η=3``: 3, 9, 27, 81),
    unlike ASHA's rungs, which start at ``r``. Brackets run
    side by side: promotions go first, then new trials of the most aggressive bracket
    that still has some to start, so no worker waits for a rung to fill while another
    bracket has work.

    Args:
        sampler: proposes configurations; with TPE it learns from every bracket.
        max_epochs: R. eta: η ≥ 2. min_epochs: r.
        iterations: how many times to run the whole set of brackets.
        mode, seed, stopping: as for every scheduler.

    >>> from hpo.samplers import RandomSampler
    >>> from hpo.space import SearchSpace
    >>> space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    >>> hb = HyperBand(RandomSampler(space), max_epochs=81, eta=3)
    >>> [b.n_trials for b in hb.planned_brackets()], hb.planned_budget()
    ([81, 34, 15, 8, 5], 1581)
    """

    name = "hyperband"

    def __init__(
        self,
        sampler: Sampler | None = None,
        max_epochs: int | None = None,
        *,
        eta: int = 3,
        min_epochs: int = 1,
        iterations: int = 1,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        _check_positive_int("iterations", iterations)
        brackets = hyperband_brackets(max_epochs, eta, min_epochs, resource=resource) * iterations
        self.eta, self.min_epochs, self.iterations = eta, min_epochs, iterations
        super().__init__(
            sampler,
            brackets,
            keep=partial(keep_fraction, eta),
            mode=mode,
            seed=seed,
            stopping=stopping,
            resource=resource,
        )
