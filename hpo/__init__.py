"""hpo: hyperparameter search by successive halving, HyperBand and ASHA.

Schedulers are pure ask/tell state machines (``hpo.schedulers``); runners execute trials
(serially, on Ray, or replayed by a simulator); the tuner joins the two and is the only
writer of the study store.
"""

__version__ = "0.1.0"
