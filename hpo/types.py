"""The typed objects that cross the boundary between a scheduler and whoever drives it.

A scheduler is an ask/tell state machine:

* ``suggest() -> Suggestion | None``: what to run next: a new configuration trained up
  to ``until_epoch``, or a paused trial resumed (never retrained) up to ``until_epoch``;
  ``None`` when nothing can start now.
* ``on_report(Report) -> Decision``: one epoch's objective value of a running trial.
  Before ``until_epoch`` the answer is CONTINUE unless a stopping rule fires; at
  ``until_epoch`` it is PAUSE (free the worker, keep the trial's state), STOP (the trial
  is over) or CONTINUE (keep the trial warm: its next ``Suggestion`` follows at once).
* ``pop_events()``: what changed and why (promotions, stops of paused trials, …), for
  the study record.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Decision(enum.Enum):
    """What happens to a running trial after one of its reports."""

    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


class Mode(enum.Enum):
    """Whether the objective is maximised or minimised; schedulers minimise internally."""

    MAX = "max"
    MIN = "min"

    @classmethod
    def parse(cls, mode: str | Mode) -> Mode:
        if isinstance(mode, Mode):
            return mode
        try:
            return cls(mode)
        except ValueError:
            raise ValueError(f"mode={mode!r} is invalid; expected 'max' or 'min'") from None

    def score(self, value: float) -> float:
        """The value as a loss (lower is better); NaN and ±inf become +inf (worst).

        >>> Mode.MAX.score(0.9), Mode.MIN.score(0.9), Mode.MAX.score(float("nan"))
        (-0.9, 0.9, inf)
        """
        if not math.isfinite(value):
            return math.inf
        return -value if self is Mode.MAX else value

    def value(self, score: float) -> float:
        """Back from a score to the user's value."""
        return -score if self is Mode.MAX else score


@dataclass(frozen=True)
class Suggestion:
    """Run ``trial_id`` from ``from_epoch`` up to ``until_epoch`` epochs in total.

    ``resume`` is False for a new trial (train from scratch with ``config`` and
    ``seed``) and True for a trial that was paused or kept warm: it continues from its
    state after ``from_epoch`` epochs, never from scratch.
    """

    trial_id: int
    config: Mapping[str, Any]
    seed: int
    until_epoch: int
    resume: bool = False
    bracket: int = 0
    rung: int = 0
    from_epoch: int = 0


@dataclass(frozen=True)
class Report:
    """The objective ``value`` of ``trial_id`` after ``epoch`` epochs (NaN if diverged)."""

    trial_id: int
    epoch: int
    value: float


class EventKind(enum.Enum):
    """What a scheduler did to a trial, for the record."""

    START = "start"
    PAUSE = "pause"
    PROMOTE = "promote"
    CONTINUE = "continue"
    STOP = "stop"
    COMPLETE = "complete"
    DIVERGE = "diverge"
    FAIL = "fail"


@dataclass(frozen=True)
class Event:
    """A change of a trial's state with the reason for it."""

    trial_id: int
    kind: EventKind
    epoch: int
    reason: str = ""
