"""The baseline every multi-fidelity paper now expects (Egele et al. 2023, "Is one epoch
all you need for multi-fidelity hyperparameter optimization?"): train every configuration
for ``r`` epochs (one, by default), then train the best ``k`` to ``R``.

One synchronous bracket with two rungs, ``n@r`` and ``k@R``: the top ``k`` are resumed,
never retrained. With a budget ``B`` and no ``k``, ``k = ⌊(B − n·r) / (R − r)⌋``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpo.budgets import Bracket, Rung
from hpo.samplers import Sampler
from hpo.schedulers._base import _check_positive_int
from hpo.schedulers._brackets import BracketScheduler
from hpo.types import Mode


class OneEpochTopK(BracketScheduler):
    """``n_configs`` trials for ``min_epochs``, then the best ``k`` to ``max_epochs``.

    Args:
        sampler: proposes configurations.
        n_configs: n, the configurations screened.
        max_epochs: R. min_epochs: r, the screening epochs (1 in the paper).
        k: trials trained fully; or give ``budget`` (total epochs) and k follows.
        iterations: repeat the whole (new configurations each time).
        mode, seed, stopping, resource: as for every scheduler.

    >>> from hpo.samplers import RandomSampler
    >>> from hpo.space import SearchSpace
    >>> space = SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1}})
    >>> s = OneEpochTopK(RandomSampler(space), 100, max_epochs=81, budget=500)
    >>> [(r.n_trials, r.epochs) for r in s.planned_brackets()[0].rungs], s.planned_budget()
    ([(100, 1), (5, 81)], 500)
    """

    name = "topk"

    def __init__(
        self,
        sampler: Sampler | None = None,
        n_configs: int | None = None,
        max_epochs: int | None = None,
        *,
        k: int | None = None,
        budget: int | None = None,
        min_epochs: int = 1,
        iterations: int = 1,
        mode: str | Mode = "max",
        seed: int = 0,
        stopping: Sequence[Any] = (),
        resource: str = "epochs",
    ) -> None:
        n = _check_positive_int("n_configs", n_configs)
        _check_positive_int("max_epochs", max_epochs)
        _check_positive_int("min_epochs", min_epochs)
        if min_epochs >= max_epochs:
            raise ValueError(f"min_epochs={min_epochs} must be below max_epochs={max_epochs}")
        step = max_epochs if resource == "samples" else max_epochs - min_epochs  # a refit pays all
        if k is None:
            if budget is None:
                raise ValueError("one-epoch top-k needs k, or a budget to derive it from")
            k = (budget // _check_positive_int("iterations", iterations) - n * min_epochs) // step
            if k < 1:
                raise ValueError(
                    f"budget={budget} cannot screen {n} configurations for {min_epochs} epochs "
                    f"and train one to {max_epochs}; expected a budget >= "
                    f"{iterations * (n * min_epochs + step)}"
                )
        k = min(_check_positive_int("k", k), n)
        plan = Bracket(1, (Rung(n, min_epochs), Rung(k, max_epochs)))
        self.n_configs, self.k = n, k
        super().__init__(sampler, [plan] * iterations, keep=lambda m: min(k, m), mode=mode,
                         seed=seed, stopping=stopping, resource=resource)  # fmt: skip
