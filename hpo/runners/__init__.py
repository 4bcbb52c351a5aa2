"""Runners execute trials: in-process (serial), on Ray, or replayed by a simulator.

Ray is imported only inside the Ray runner.
"""

from hpo.runners._base import EpochResult, Trainer, TrainerFactory, TrialResult
from hpo.runners._serial import SerialRunner

__all__ = ["EpochResult", "SerialRunner", "Trainer", "TrainerFactory", "TrialResult"]
