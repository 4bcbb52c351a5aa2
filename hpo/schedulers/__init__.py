"""Schedulers: pure ask/tell state machines that decide who trains for how many epochs.

No Ray, no clock, no files, no printing: a scheduler can be pickled and driven by our
tuner, by a user's own loop, or by a test.
"""

from hpo.schedulers._asha import ASHA
from hpo.schedulers._base import Scheduler, TrialRecord, TrialStatus, trial_seed
from hpo.schedulers._baselines import GridSearch, RandomSearch
from hpo.schedulers._hyperband import HyperBand
from hpo.schedulers._pasha import PASHA
from hpo.schedulers._stopping import CurveExtrapolation, MedianStopping, Patience, StoppingRule
from hpo.schedulers._successive_halving import SuccessiveHalving
from hpo.schedulers._topk import OneEpochTopK

__all__ = [
    "ASHA",
    "PASHA",
    "CurveExtrapolation",
    "GridSearch",
    "HyperBand",
    "MedianStopping",
    "OneEpochTopK",
    "Patience",
    "RandomSearch",
    "Scheduler",
    "StoppingRule",
    "SuccessiveHalving",
    "TrialRecord",
    "TrialStatus",
    "trial_seed",
]
