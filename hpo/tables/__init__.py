"""Recorded tables of learning curves: what the simulator replays and search quality reads.

A recorded table (CSV or Parquet) has one row per (configuration, epoch):

* the hyperparameters, as ``config.<name>`` columns (what ``hpo export`` writes) or as
  the columns named by ``params``;
* ``epoch`` (1, 2, …), or another resource column (``resource=``; e.g. a training-set
  size, for curves over samples);
* the metrics (every other numeric column);
* optionally ``seconds`` (what that epoch took; 1 when absent) and ``config_id`` (one per
  distinct configuration when absent).

A conditional space's table leaves an inactive hyperparameter empty (NaN/None): that
configuration has no such key, and :meth:`Curves.space` gives the table's space the
conditions (those of the space it was recorded from, or, without it, the categorical
whose values decide when the column is filled).

The package is data, not a runner: :class:`Curves` (:mod:`~hpo.tables._curves`) reads a
table into arrays, :class:`TableSampler` (:mod:`~hpo.tables._sampler`) proposes its rows
to a scheduler, :func:`synthetic_curves` makes one up. The simulator runner
(:class:`hpo.runners._simulator.SimulatorRunner`) replays the curves on a virtual clock;
:mod:`hpo.simulate` and :mod:`hpo.quality` build searches over them.
"""

from hpo.tables._curves import Curves, synthetic_curves
from hpo.tables._sampler import TableSampler

__all__ = ["Curves", "TableSampler", "synthetic_curves"]
