"""Budget arithmetic of successive halving and HyperBand, in small pure functions.

Everything is counted with integers: ``math.log(243, 3)`` is 4.999…, so a
``floor(log(...))`` would drop a rung. Symbols follow the papers:

* ``N`` configurations and total budget ``B`` (epochs), successive halving as the report
  states it: ``T = ⌈log₂N⌉ − 1``;
* ``R = max_epochs``, ``r = min_epochs``, reduction factor ``η = eta`` (HyperBand, Li et al.
  JMLR 2018; ASHA, Li et al. MLSys 2020).

Two rules place the rungs. HyperBand keeps the paper's brackets, anchored at ``R``
(``R·η^(i−s)``, :func:`rung_epochs`); ASHA, PASHA and the η form of successive halving
start at the minimum resource, ``r, rη, rη², …``, and end at ``R`` (:func:`geometric_rungs`).
With training samples as the resource, successive halving follows scikit-learn's
``HalvingRandomSearchCV`` exactly (:func:`halving_bracket`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """A milestone: ``n_trials`` trials are compared after ``epochs`` epochs in total."""

    n_trials: int
    epochs: int


@dataclass(frozen=True)
class Bracket:
    """One run of successive halving: its index ``s`` and its rungs, first to last."""

    s: int
    rungs: tuple[Rung, ...]

    @property
    def n_trials(self) -> int:
        return self.rungs[0].n_trials

    @property
    def budget(self) -> int:
        """Epochs the bracket spends: each rung's trials train from the previous rung on."""
        spent, done = 0, 0
        for rung in self.rungs:
            spent += rung.n_trials * (rung.epochs - done)
            done = rung.epochs
        return spent

    @property
    def refit_budget(self) -> int:
        """What the bracket spends when each rung refits from scratch (training samples)."""
        return sum(rung.n_trials * rung.epochs for rung in self.rungs)


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid; expected an integer >= {minimum}")


def ceil_log2(n: int) -> int:
    """⌈log₂ n⌉ for n ≥ 1, exactly.

    >>> [ceil_log2(n) for n in (1, 2, 3, 4, 5, 8, 9, 2520)]
    [0, 1, 2, 2, 3, 3, 4, 12]
    """
    _check_int("n", n, 1)
    return (n - 1).bit_length()


def floor_log(x: int, base: int) -> int:
    """⌊log_base x⌋ for integers x ≥ 1, base ≥ 2, by repeated multiplication.

    >>> floor_log(243, 3), floor_log(242, 3), floor_log(1, 3)
    (5, 4, 0)
    """
    _check_int("x", x, 1)
    _check_int("base", base, 2)
    k, power = 0, base
    while power <= x:
        k, power = k + 1, power * base
    return k


def successive_halving_rounds(n_configs: int, budget: int) -> Bracket:
    """Successive halving exactly as the report gives it (Karnin et al. 2013).

    With ``N`` configurations and budget ``B`` there are ``⌈log₂N⌉`` rounds
    ``t = 0 … T``, ``T = ⌈log₂N⌉ − 1``. Round ``t`` gives each of its ``|S_t|`` survivors
    ``r_t = ⌊B / (|S_t| · ⌈log₂N⌉)⌋`` more epochs (training continues, so epochs add up),
    then keeps the best ``⌈|S_t| / 2⌉``. The rounds are returned as rungs whose ``epochs``
    are the cumulative epochs of a survivor. Total spend never exceeds ``B``.

    Args:
        n_configs: N ≥ 2 configurations.
        budget: B, total epochs.

    Raises:
        ValueError: N < 2, or a budget that leaves some round with zero epochs (the
            message gives the smallest workable budget, ``N · ⌈log₂N⌉``).

    >>> [(r.n_trials, r.epochs) for r in successive_halving_rounds(8, 240).rungs]
    [(8, 10), (4, 30), (2, 70)]
    """
    _check_int("budget", budget, 1)
    if isinstance(n_configs, bool) or not isinstance(n_configs, int) or n_configs < 2:
        raise ValueError(
            f"n_configs={n_configs!r} is invalid; successive halving needs at least 2 "
            "configurations to compare"
        )
    n_rounds = ceil_log2(n_configs)
    smallest = n_configs * n_rounds
    if budget < smallest:
        raise ValueError(
            f"budget={budget} is too small for {n_configs} configurations: round 0 would give "
            f"⌊{budget}/({n_configs}·{n_rounds})⌋ = 0 epochs; the smallest workable budget is "
            f"{smallest}"
        )
    rungs, survivors, epochs = [], n_configs, 0
    for _ in range(n_rounds):
        epochs += budget // (survivors * n_rounds)
        rungs.append(Rung(survivors, epochs))
        survivors = -(-survivors // 2)  # ⌈|S_t| / 2⌉
    return Bracket(s=n_rounds - 1, rungs=tuple(rungs))


#: How a message names R, r and their unit, by resource: a samples search is told of samples.
_NAMES = {
    "epochs": ("max_epochs", "min_epochs", "epochs"),
    "samples": ("max_resources", "min_resources", "samples"),
}


def max_bracket_index(
    max_epochs: int, eta: int, min_epochs: int = 1, *, resource: str = "epochs"
) -> int:
    """s_max = ⌊log_η(R / r)⌋: the largest s with r · η^s ≤ R."""
    big, small, _ = _NAMES[resource]
    _check_int(small, min_epochs, 1)
    _check_int(big, max_epochs, 1)
    _check_int("eta", eta, 2)
    if min_epochs > max_epochs:
        raise ValueError(
            f"{small}={min_epochs} is larger than {big}={max_epochs}; expected {small} <= {big}"
        )
    s, power = 0, eta
    while min_epochs * power <= max_epochs:
        s, power = s + 1, power * eta
    return s


def rung_epochs(max_epochs: int, eta: int, s: int) -> tuple[int, ...]:
    """Epochs at the rungs of a bracket with ``s + 1`` rungs: ``R · η^(i−s)``, i = 0 … s.

    This is HyperBand's rule (Li et al. 2018: bracket ``s`` starts at ``R·η^(−s)``), kept as
    the paper has it: rungs are anchored at ``R`` so the last is exactly ``max_epochs``; when
    ``R`` is not a power of η times ``r`` the lower rungs round down (``R = 100, η = 3``:
    1, 3, 11, 33, 100), and the first rung may lie above ``r``. ASHA, PASHA and the η form
    of successive halving start at ``r`` instead (:func:`geometric_rungs`).

    >>> rung_epochs(81, 3, 4)
    (1, 3, 9, 27, 81)
    """
    return tuple(max_epochs * eta**i // eta**s for i in range(s + 1))


def hyperband_brackets(
    max_epochs: int, eta: int = 3, min_epochs: int = 1, *, resource: str = "epochs"
) -> tuple[Bracket, ...]:
    """The brackets of HyperBand (Li et al. 2018, Algorithm 1), most aggressive first.

    Bracket ``s = s_max … 0`` starts ``n = ⌈(s_max + 1) · η^s / (s + 1)⌉`` trials at
    ``R · η^(−s)`` epochs; rung ``i`` holds ``⌊n / η^i⌋`` trials at ``R · η^(i−s)`` epochs,
    so each rung keeps the top ``⌊n_i / η⌋`` of the one before.

    >>> [f"{b.rungs[0].n_trials}@{b.rungs[0].epochs}" for b in hyperband_brackets(81, 3)]
    ['81@1', '34@3', '15@9', '8@27', '5@81']
    """
    s_max = max_bracket_index(max_epochs, eta, min_epochs, resource=resource)
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta**s // (s + 1))
        epochs = rung_epochs(max_epochs, eta, s)
        rungs = tuple(Rung(n // eta**i, e) for i, e in enumerate(epochs))
        brackets.append(Bracket(s=s, rungs=rungs))
    return tuple(brackets)


def geometric_rungs(
    max_epochs: int, eta: int = 3, min_epochs: int = 1, *, resource: str = "epochs"
) -> tuple[int, ...]:
    """Rungs that start at the minimum resource: ``r, rη, rη², …`` below ``R``, then ``R``.

    This is the rule of ASHA (Li et al. 2020, rung ``k`` at ``r·η^k``), Optuna's
    ``SuccessiveHalvingPruner``, Syne Tune's and Ray Tune's ASHA (``grace_period·η^k``
    below ``max_t``, the trial ending at ``max_t``): the first judgement is at ``r``, and
    the last rung is ``R`` even when ``R`` is not ``r`` times a power of η (then the step to
    it is shorter than η). When it is, the rungs are HyperBand's most aggressive bracket.

    >>> geometric_rungs(81, 3, 2)
    (2, 6, 18, 54, 81)
    >>> geometric_rungs(81, 3, 1), geometric_rungs(100, 3, 1), geometric_rungs(10, 3, 10)
    ((1, 3, 9, 27, 81), (1, 3, 9, 27, 81, 100), (10,))
    """
    max_bracket_index(max_epochs, eta, min_epochs, resource=resource)  # checks the arguments
    rungs, epochs = [], min_epochs
    while epochs < max_epochs:
        rungs.append(epochs)
        epochs *= eta
    return (*rungs, max_epochs)


def eta_configs(max_epochs: int, eta: int = 3, min_epochs: int = 1) -> int:
    """The fewest configurations the η form needs so that its last rung is not empty:
    ``η^k`` for ``k + 1`` rungs.

    >>> eta_configs(27, 3, 1), eta_configs(81, 3, 2)
    (27, 81)
    """
    return eta ** (len(geometric_rungs(max_epochs, eta, min_epochs)) - 1)


def eta_bracket(
    n_configs: int, max_epochs: int, eta: int = 3, min_epochs: int = 1, *, resource: str = "epochs"
) -> Bracket:
    """Successive halving in its η form: ``N`` trials at ``r``, the top ``1/η`` at each rung.

    The rungs start at ``r`` and end at ``R`` (:func:`geometric_rungs`: ``r, rη, …, R``);
    rung ``i`` holds ``⌊N / η^i⌋`` trials. Raises ValueError if the last rung would be
    empty.

    >>> [(r.n_trials, r.epochs) for r in eta_bracket(27, 27, 3).rungs]
    [(27, 1), (9, 3), (3, 9), (1, 27)]
    >>> [(r.n_trials, r.epochs) for r in eta_bracket(81, 81, 3, min_epochs=2).rungs]
    [(81, 2), (27, 6), (9, 18), (3, 54), (1, 81)]
    """
    _check_int("n_configs", n_configs, 1)
    epochs = geometric_rungs(max_epochs, eta, min_epochs, resource=resource)
    needed = eta ** (len(epochs) - 1)
    if n_configs < needed:
        _, small, unit = _NAMES[resource]
        raise ValueError(
            f"n_configs={n_configs} is too few for {len(epochs)} rungs with eta={eta}: the last "
            f"rung at {max_epochs} {unit} would be empty; expected n_configs >= {needed} "
            f"(or a larger {small})"
        )
    return Bracket(
        s=len(epochs) - 1, rungs=tuple(Rung(n_configs // eta**i, e) for i, e in enumerate(epochs))
    )


def asha_rungs(
    max_epochs: int, eta: int = 3, min_epochs: int = 1, *, resource: str = "epochs"
) -> tuple[int, ...]:
    """ASHA's rung epochs ``r, rη, …, R``: :func:`geometric_rungs` (ASHA, PASHA, and the
    decision points of random and grid search).

    >>> asha_rungs(100, 3, 1)
    (1, 3, 9, 27, 81, 100)
    """
    return geometric_rungs(max_epochs, eta, min_epochs, resource=resource)


def halving_bracket(
    n_candidates: int, max_resources: int, factor: int = 3, min_resources: int = 1
) -> Bracket:
    """scikit-learn's successive halving (``HalvingRandomSearchCV``/``HalvingGridSearchCV``).

    As ``BaseSuccessiveHalving._run_search`` (``aggressive_elimination=False``), with ``n``
    candidates, ``R = max_resources``, ``r = min_resources`` and ``η = factor``:

    * ``n_required = 1 + ⌊log_η n⌋``: iterations until the last evaluates fewer than η;
    * ``n_possible = 1 + ⌊log_η ⌊R/r⌋⌋``: iterations from ``r`` without exceeding ``R``;
    * iteration ``i < min(n_required, n_possible)`` evaluates ``n_i`` candidates on
      ``min(r·η^i, R)`` samples, ``n_0 = n`` and ``n_{i+1} = ⌈n_i/η⌉`` (its ``n_candidates_``
      and ``n_resources_``). So few candidates mean fewer rungs, never a refusal, and the
      last rung is ``r·η^k``, which may lie below ``R``.

    The logs are counted with integers; scikit-learn's ``floor(log(n, factor))`` undercounts
    exact powers whose float log falls short (``math.log(243, 3)`` is 4.999…), so for
    ``n = 243, η = 3`` (or ``⌊R/r⌋ = 243``) it plans one rung fewer than its own formula.

    Args:
        n_candidates: n ≥ 1, the candidates of the first iteration.
        max_resources: R, the most samples a candidate gets.
        factor: η ≥ 2.
        min_resources: r, the samples of the first iteration (see
            :func:`exhaust_min_resources` for scikit-learn's ``'exhaust'``).

    >>> [(r.n_trials, r.epochs) for r in halving_bracket(14, 900, 3, 100).rungs]
    [(14, 100), (5, 300), (2, 900)]
    >>> [(r.n_trials, r.epochs) for r in halving_bracket(7, 31, 2, 4).rungs]
    [(7, 4), (4, 8), (2, 16)]
    """
    _check_int("n_candidates", n_candidates, 1)
    n_possible = 1 + max_bracket_index(max_resources, factor, min_resources, resource="samples")
    n_required = 1 + floor_log(n_candidates, factor)
    rungs, n = [], n_candidates
    for i in range(min(n_required, n_possible)):
        rungs.append(Rung(n, min(min_resources * factor**i, max_resources)))
        n = -(-n // factor)  # ⌈n_i / η⌉
    return Bracket(s=len(rungs) - 1, rungs=tuple(rungs))


def exhaust_min_resources(
    n_candidates: int, max_resources: int, factor: int = 3, smallest: int = 1
) -> int:
    """scikit-learn's ``min_resources='exhaust'``: the largest first rung whose last
    required iteration still fits in ``R``, ``max(smallest, ⌊R / η^(n_required − 1)⌋)``.

    >>> exhaust_min_resources(6, 1000, 3, 20), exhaust_min_resources(6, 50, 3, 20)
    (333, 20)
    """
    _check_int("n_candidates", n_candidates, 1)
    _check_int("max_resources", max_resources, 1)
    _check_int("factor", factor, 2)
    return max(smallest, max_resources // factor ** floor_log(n_candidates, factor))


def report_sh_plan(max_epochs: int) -> tuple[int, int]:
    """(N, B) for the report's successive halving on curves of ``max_epochs`` epochs: the
    largest power of two N whose survivors end at most at R, with the largest such B.

    >>> report_sh_plan(27)
    (16, 127)
    """
    best: tuple[int, int] | None = None
    n = 2
    while n <= max_epochs:
        b = n * ceil_log2(n)  # N is a power of two: ⌈log₂N⌉ rounds of at least one epoch each
        if successive_halving_rounds(n, b).rungs[-1].epochs <= max_epochs:
            while successive_halving_rounds(n, b + 1).rungs[-1].epochs <= max_epochs:
                b += 1
            best = (n, b)
        n *= 2
    if best is None:
        raise ValueError(
            f"the report's successive halving needs curves of at least 2 epochs, not {max_epochs}"
        )
    return best
