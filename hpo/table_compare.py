"""Methods side by side on one recorded table of learning curves: what ``hpo simulate TABLE
--methods …`` runs and writes.

:func:`compare_on_table` runs :class:`hpo.quality.Benchmark` for every method, seed and
number of simulated workers on the same table, budget and clock, and returns a
:class:`TableComparison`: its lines (the medians, speedups and ranks of
:func:`hpo.quality.summarise`), the benchmark's JSON and the page of curves. The CLI only
parses the options and prints; ``bench/search_quality.py`` runs many tables the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo import quality
from hpo.space import SearchSpace
from hpo.tables import Curves


@dataclass(frozen=True)
class TableComparison:
    """The methods' runs on one table, summarised (:func:`hpo.quality.summarise`)."""

    table: str  # the table's file, as given
    metric: str
    mode: str
    budget: int  # epochs every run was given
    seeds: int
    workers: list[int]
    summary: dict[str, Any]

    def lines(self) -> list[str]:
        return quality.lines(self.summary, self.budget, self.workers)

    def to_json(self) -> dict[str, Any]:
        """The benchmark's figures: what was compared, and every method's case."""
        return {"table": self.table, "metric": self.metric, "mode": self.mode,
                "budget": self.budget, "seeds": self.seeds, "workers": self.workers,
                "cases": self.summary["cases"]}  # fmt: skip

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2))

    def write_html(self, path: str | Path) -> None:
        """One page of the median anytime curves (:func:`hpo.quality.write_html`)."""
        title = f"{Path(self.table).stem}: median best {self.metric} over {self.seeds} seeds"
        quality.write_html(self.summary, self.budget, self.workers, path, metric=self.metric,
                           title=title)  # fmt: skip


def compare_on_table(
    curves: Curves,
    methods: Sequence[str],
    seeds: int,
    workers: list[int],
    *,
    table: str,
    metric: str,
    mode: str,
    eta: int,
    max_epochs: int | None = None,
    budget: int | None = None,
    replace: bool = False,
    resume_seconds: float = 0.0,
    space: SearchSpace | None = None,
) -> TableComparison:
    """Run every method (:func:`hpo.quality.known_methods`) with seeds ``0 … seeds-1`` on
    each number of ``workers``, on the recorded ``curves`` of the file ``table``.

    Args:
        max_epochs: R; None for the table's longest curve.
        eta: η, the halving rate of the methods that halve.
        budget: epochs each run may spend; None for one HyperBand iteration at R, η.
        replace: draw the table's rows with replacement.
        resume_seconds: what resuming a paused trial on another worker costs.
        space: the space the table was recorded from (log scales for model-based samplers).

    Raises ValueError for a plan the table cannot hold.
    """
    bench = quality.Benchmark(curves, metric=metric, mode=mode, max_epochs=max_epochs, eta=eta,
                              budget=budget, replace=replace, resume_seconds=resume_seconds,
                              space=space, name=Path(table).stem)  # fmt: skip
    traces = [bench.run(m, s, w) for m in methods for s in range(seeds) for w in workers]
    summary = quality.summarise(traces, bench.total, workers, mode)
    return TableComparison(table, metric, mode, bench.total, seeds, workers, summary)
