"""Budget arithmetic of successive halving and HyperBand, in small pure functions.

Everything is counted with integers: ``math.log(243, 3)`` is 4.999…, so a
``floor(log(...))`` would drop a rung. Symbols follow the papers:

* ``N`` configurations and total budget ``B`` (epochs), successive halving as the report
  states it: ``T = ⌈log₂N⌉ − 1``;
* ``R = max_epochs``, ``r = min_epochs``, reduction factor ``η = eta`` (HyperBand, Li et al.
  JMLR 2018; ASHA, Li et al. MLSys 2020).
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


def max_bracket_index(max_epochs: int, eta: int, min_epochs: int = 1) -> int:
    """s_max = ⌊log_η(R / r)⌋: the largest s with r · η^s ≤ R."""
    _check_int("min_epochs", min_epochs, 1)
    _check_int("max_epochs", max_epochs, 1)
    _check_int("eta", eta, 2)
    if min_epochs > max_epochs:
        raise ValueError(
            f"min_epochs={min_epochs} is larger than max_epochs={max_epochs}; "
            "expected min_epochs <= max_epochs"
        )
    s, power = 0, eta
    while min_epochs * power <= max_epochs:
        s, power = s + 1, power * eta
    return s


def rung_epochs(max_epochs: int, eta: int, s: int) -> tuple[int, ...]:
    """Epochs at the rungs of a bracket with ``s + 1`` rungs: ``R · η^(i−s)``, i = 0 … s.

    Rungs are anchored at ``R`` so the last is exactly ``max_epochs``; when ``R`` is not a
    power of η times ``r`` the lower rungs round down (``R = 100, η = 3``: 1, 3, 11, 33, 100).

    >>> rung_epochs(81, 3, 4)
    (1, 3, 9, 27, 81)
    """
    return tuple(max_epochs * eta**i // eta**s for i in range(s + 1))


def hyperband_brackets(max_epochs: int, eta: int = 3, min_epochs: int = 1) -> tuple[Bracket, ...]:
    """The brackets of HyperBand (Li et al. 2018, Algorithm 1), most aggressive first.

    Bracket ``s = s_max … 0`` starts ``n = ⌈(s_max + 1) · η^s / (s + 1)⌉`` trials at
    ``R · η^(−s)`` epochs; rung ``i`` holds ``⌊n / η^i⌋`` trials at ``R · η^(i−s)`` epochs,
    so each rung keeps the top ``⌊n_i / η⌋`` of the one before.

    >>> [f"{b.rungs[0].n_trials}@{b.rungs[0].epochs}" for b in hyperband_brackets(81, 3)]
    ['81@1', '34@3', '15@9', '8@27', '5@81']
    """
    s_max = max_bracket_index(max_epochs, eta, min_epochs)
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta**s // (s + 1))
        epochs = rung_epochs(max_epochs, eta, s)
        rungs = tuple(Rung(n // eta**i, e) for i, e in enumerate(epochs))
        brackets.append(Bracket(s=s, rungs=rungs))
    return tuple(brackets)


def eta_bracket(n_configs: int, max_epochs: int, eta: int = 3, min_epochs: int = 1) -> Bracket:
    """Successive halving in its η form: ``N`` trials at ``r``, the top ``1/η`` at each rung.

    Rungs are those of HyperBand's most aggressive bracket (``r, rη, …, R``); rung ``i``
    holds ``⌊N / η^i⌋`` trials. Raises ValueError if the last rung would be empty.

    >>> [(r.n_trials, r.epochs) for r in eta_bracket(27, 27, 3).rungs]
    [(27, 1), (9, 3), (3, 9), (1, 27)]
    """
    _check_int("n_configs", n_configs, 1)
    s = max_bracket_index(max_epochs, eta, min_epochs)
    needed = eta**s
    if n_configs < needed:
        raise ValueError(
            f"n_configs={n_configs} is too few for {s + 1} rungs with eta={eta}: the last rung "
            f"at {max_epochs} epochs would be empty; expected n_configs >= {needed} "
            "(or a larger min_epochs)"
        )
    epochs = rung_epochs(max_epochs, eta, s)
    return Bracket(s=s, rungs=tuple(Rung(n_configs // eta**i, e) for i, e in enumerate(epochs)))


def asha_rungs(max_epochs: int, eta: int = 3, min_epochs: int = 1) -> tuple[int, ...]:
    """ASHA's rung epochs ``r, rη, …, R`` (anchored at R like HyperBand's brackets).

    >>> asha_rungs(100, 3, 1)
    (1, 3, 11, 33, 100)
    """
    return rung_epochs(max_epochs, eta, max_bracket_index(max_epochs, eta, min_epochs))
