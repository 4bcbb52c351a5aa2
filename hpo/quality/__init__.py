"""Search quality on a recorded table: methods side by side on a virtual clock.

Any table of learning curves (see :mod:`hpo.tables` for its format) is
replayed for every method, seed and number of simulated workers, with the same rules:

* the same **epoch accounting**: an epoch is paid when it is trained; a promotion
  resumes the paused trial (it is not retrained), at ``resume_seconds`` of extra
  simulated time on a worker that does not hold it;
* the same **budget** (epochs; ``budget`` defaults to one HyperBand iteration at R, η)
  and the same **simulated clock** (each epoch takes its recorded seconds);
* the same **configurations**: every method draws the table's rows, each once unless
  ``replace``; model-based samplers see numbers as ranges (log where the values span
  more than a factor of 20, or where ``space`` says so).

A method is named ``scheduler/sampler`` (``hyperband/tpe``, ``asha/random``, …) or is one
of ``random``, ``tpe``, ``gp`` (full budget per configuration), ``grid`` (table order),
``optuna-tpe-hyperband``, ``optuna-random-sha`` (Optuna's samplers and pruners through
ask/tell, W trials in flight on the same clock). Each run is a :class:`Trace`: every
paid epoch's end time and value; :func:`summarise` reads the median anytime curves, the
speedups to random search's final best, busy fractions and ranks off them.

``hpo simulate TABLE --methods …`` and ``bench/search_quality.py`` are thin shells over
this package. Its modules, by what each does: :mod:`~hpo.quality._benchmark` the rules and
our runs, :mod:`~hpo.quality._optuna` Optuna's runs on the same clock,
:mod:`~hpo.quality._trace` one run's record, :mod:`~hpo.quality._summary` the figures read
off the runs, :mod:`~hpo.quality._figures` the curves page.
"""

from hpo.quality._benchmark import Benchmark, known_methods

# A benchmark run's recorder, for a test that runs a scheduler of its own the same way.
from hpo.quality._benchmark import _TimeRecorder as _TimeRecorder
from hpo.quality._figures import Panel, figure, panels, panels_from_cases, shown_methods, write_html
from hpo.quality._summary import (
    against_rivals,
    compare_curves,
    describe_table,
    first_reach,
    lines,
    overall_ranks,
    rank_correlation,
    summarise,
)
from hpo.quality._trace import Trace

__all__ = [
    "Benchmark",
    "Panel",
    "Trace",
    "against_rivals",
    "compare_curves",
    "describe_table",
    "figure",
    "first_reach",
    "known_methods",
    "lines",
    "overall_ranks",
    "panels",
    "panels_from_cases",
    "rank_correlation",
    "shown_methods",
    "summarise",
    "write_html",
]
