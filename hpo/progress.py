"""The progress bar of a running search, for ``hpo run`` and ``hpo.search`` alike.

tqdm on stderr in a terminal; in Jupyter, tqdm's notebook widget when ipywidgets is there.
"""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    """trials running/paused/finished, best so far, epochs spent against the budget."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, budget: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=budget,
            unit="epoch",
            dynamic_ncols=True,
            mininterval=0.5,
            file=sys.stderr,
            disable=None,
        )

    def update(self, p: Any) -> None:
        if self.bar is None:
            return
        self.bar.total = max(self.bar.total, p.epochs_spent)
        self.bar.n = p.epochs_spent
        best = f"{p.best_value:.4f}" if p.best_trial is not None else "-"
        workers = "" if p.workers is None else f"workers {p.workers} "
        self.bar.set_postfix_str(
            f"{workers}running {p.running} paused {p.paused} done {p.finished} best {best}",
            refresh=False,
        )
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
