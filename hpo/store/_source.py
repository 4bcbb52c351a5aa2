"""Where a recorded study is read: one interface for this machine's database and a server.

``hpo list``, ``status``, ``best``, ``export`` and :class:`hpo.result.Result` read through
a :class:`StudySource`. Its implementations: :class:`hpo.result.LocalSource` (the study
database, over :class:`~hpo.store.StudyReader`) and :class:`hpo.result.ClientSource` (a
server's HTTP API, its existing routes only). Neither writes.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd


class StudySource(Protocol):
    """The reads of a recorded study; each method that takes a name raises
    :class:`~hpo.store.StudyNotFound` for an unknown one.

    The frames are :class:`~hpo.store.StudyReader`'s (the same columns from a server, its
    JSON numbers as read back).
    """

    def studies(self) -> pd.DataFrame:
        """Every study, oldest first: name, status, scheduler, metric, mode, best_value,
        best_trial, epochs_spent, planned_budget, created_at, updated_at, trials (a count)."""
        ...

    def study(self, name: str) -> dict[str, Any]:
        """The header: name, status, scheduler, metric, mode, epochs_spent, planned_budget,
        best_trial, best_value, settings, brackets (the planned ones, for the plot)."""
        ...

    def status(self, name: str) -> dict[str, Any]:
        """What ``hpo status`` shows of it: status, scheduler, metric, mode, epochs_spent,
        planned_budget, and ``error`` where a server says why its run failed (its status
        then ``failed``)."""
        ...

    def trials(self, name: str) -> pd.DataFrame:
        """One row per trial: :data:`~hpo.store.TRIAL_COLUMNS`, ``config`` (a dict), …"""
        ...

    def epochs(self, name: str) -> pd.DataFrame:
        """One row per (trial, epoch): value, seconds, worker, node, ended_at, every metric."""
        ...

    def events(self, name: str) -> pd.DataFrame:
        """Every decision (trial_id, kind, epoch, reason, at), in order."""
        ...

    def best(self, name: str) -> dict[str, Any]:
        """The best trial: study, metric, value, trial_id, epochs, status, config."""
        ...

    def export(self, name: str, fmt: str) -> bytes:
        """Every epoch with its trial's status, bracket, seed and ``config.*`` columns, as a
        ``csv`` or ``parquet`` file's bytes (:meth:`~hpo.store.StudyReader.export`)."""
        ...

    def nodes(self, name: str) -> pd.DataFrame | None:
        """Per machine: workers, trials and epochs (:meth:`~hpo.store.StudyReader.nodes`);
        None where the source cannot say (a server: no route for it)."""
        ...
