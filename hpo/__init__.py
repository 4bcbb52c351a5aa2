"""hpo: hyperparameter search by successive halving, HyperBand and ASHA.

Schedulers are pure ask/tell state machines (``hpo.schedulers``); runners execute trials
(serially, on Ray, or replayed by a simulator); the tuner joins the two and is the only
writer of the study store.

The front door is ``hpo.search(train, space, **settings)`` (:mod:`hpo.api`). It, spaces
in Python (``hpo.uniform``, ``hpo.loguniform``, ``hpo.randint``, ``hpo.choice``,
``hpo.grid``), scheduler objects (``hpo.ASHA(max_epochs=81, eta=3)``, ``hpo.HyperBand``, …)
and a recorded study's results (``hpo.load`` -> ``hpo.Result``) are imported on first use,
so that ``import hpo`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "search": "hpo.api",
    "SettingsError": "hpo.settings",
    "HpoError": "hpo.errors",
    "uniform": "hpo.space",
    "loguniform": "hpo.space",
    "randint": "hpo.space",
    "choice": "hpo.space",
    "grid": "hpo.space",
    "Result": "hpo.result",
    "load": "hpo.result",
    # scheduler objects for hpo.search(..., scheduler=hpo.ASHA(max_epochs=81, eta=3))
    "ASHA": "hpo.schedulers",
    "PASHA": "hpo.schedulers",
    "HyperBand": "hpo.schedulers",
    "SuccessiveHalving": "hpo.schedulers",
    "RandomSearch": "hpo.schedulers",
    "OneEpochTopK": "hpo.schedulers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
