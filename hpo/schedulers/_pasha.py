"""PASHA (Bohdal et al., 2023): ASHA that raises its top rung only while the ranking of the
configurations is still changing.

It starts with two rungs, ``r`` and ``rη``. Each time a trial reaches the current top
rung, the trials there are ranked by their scores at the top rung and at the rung below;
if the two rankings disagree (beyond the noise ε, soft ranking), the next rung opens and
the trials paused at the old top may be promoted into it, as in ASHA. When the ranking
settles early, the search ends at a lower rung and saves the epochs of the higher ones.

ε is the noise of the metric from one epoch to the next: the median over the trials at
the top rung of their median ``|score(e) − score(e − 1)|``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hpo.schedulers._asha import ASHA
from hpo.schedulers._base import TrialRecord, TrialStatus
from hpo.types import Decision, EventKind


class PASHA(ASHA):
    """ASHA with a progressively raised top rung; arguments as :class:`ASHA` (promotion)."""

    name = "pasha"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("stop_only"):
            raise ValueError("PASHA promotes paused trials; stop_only is ASHA's other form")
        super().__init__(*args, **kwargs)
        if self.refits:
            raise ValueError(
                "PASHA compares rankings epoch by epoch; it runs on epochs, not samples"
            )
        self._top = min(1, len(self.rung_epochs) - 1)
        self._rung_scores: dict[tuple[int, int], float] = {}  # (trial, rung) -> its score there

    def _top_rung(self) -> int:
        return self._top

    def _at_milestone(self, trial: TrialRecord) -> Decision:
        rung = trial.rung
        self._rung_scores[(trial.trial_id, rung)] = trial.score
        if rung < self._top or rung == len(self.rung_epochs) - 1:
            return super()._at_milestone(trial)
        # At the current top rung: open the next one if the ranking is still changing.
        if self._ranking_changes():
            self._top += 1
        decision = super()._at_milestone(trial)  # waits for promotion, as at any lower rung
        return decision

    def _ranking_changes(self) -> bool:
        top = self._top
        at_top = [t for (t, r) in self._rung_scores if r == top]
        if len(at_top) < 2:
            return False
        eps = self._noise(at_top)
        now = {t: self._rung_scores[(t, top)] for t in at_top}
        before = {
            t: self._rung_scores[(t, top - 1)] for t in at_top if (t, top - 1) in self._rung_scores
        }
        ids = [t for t in at_top if t in before]
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                # a clearly ahead now, b clearly ahead before (or the other way round)
                if (now[a] < now[b] - eps and before[a] > before[b] + eps) or (
                    now[b] < now[a] - eps and before[b] > before[a] + eps
                ):
                    return True
        return False

    def _noise(self, trial_ids: list[int]) -> float:
        """ε: how much a trial's score moves from one epoch to the next, typically (the
        median over the trials of the median step), so that only swaps larger than the
        noise count as a changed ranking."""
        steps = [float(np.median(np.abs(np.diff(s)))) for t in trial_ids
                 if len(s := self.trials[t].scores) >= 2]  # fmt: skip
        return float(np.median(steps)) if steps else 0.0

    def finish(self) -> None:
        """Trials paused at the top rung PASHA settled on are complete, not stopped."""
        for trial in self.trials.values():
            if trial.status is TrialStatus.PAUSED and trial.rung == self._top:
                reason = f"at PASHA's top rung, {self.rung_epochs[self._top]} epochs: the ranking had settled"
                self._end(trial, TrialStatus.COMPLETED, EventKind.COMPLETE, reason)
        super().finish()
