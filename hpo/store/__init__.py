"""The study store: one SQLite database (WAL mode) that records everything of a search.

This package owns the database: every table and migration (:mod:`hpo.store._schema`,
whose docstring lists the tables) and every SQL statement of the project. Other layers
call its methods; none of them runs SQL.

Who writes what:

* :class:`StudyWriter` (:mod:`~hpo.store._writer`): the tuner's record of a search
  (``hpo run``, ``resume``, ``hpo.search``, and the server's managed searches): one
  writer per study at a time, under a lock, one transaction per batch;
* the same writer's :class:`~hpo.store._leases.LeaseRecords`: what the server's
  :class:`~hpo.service.ServedStudy` records beside the tape of a study its clients train
  (leases, the answer to each epoch's report);
* :func:`save_report` (``hpo report``) and :func:`save_comparison` (``hpo compare``):
  rows of their own tables (:mod:`~hpo.store._records`), never a study's record.

Who reads: :class:`StudyReader` (``hpo status``, ``export``, :func:`hpo.load`, the
service's study routes and its restart) and :class:`LiveReader` (the dashboard's polls,
:mod:`~hpo.store._queries`), both read-only and safe while a search runs; through
:class:`StudySource`, the CLI and :class:`hpo.result.Result` read a database or a server
alike.
"""

from hpo.store._db import (
    DEFAULT_STORAGE,
    StoreError,
    StudyNotFound,
    as_stored,
    connect,
    create_database,
    storage_path,
)
from hpo.store._queries import LiveReader
from hpo.store._reader import TRIAL_COLUMNS, StudyReader
from hpo.store._records import save_comparison, save_report
from hpo.store._schema import SCHEMA, node_column
from hpo.store._source import StudySource
from hpo.store._writer import LogEntry, StudyLock, StudyWriter

__all__ = [
    "DEFAULT_STORAGE",
    "SCHEMA",
    "TRIAL_COLUMNS",
    "LiveReader",
    "LogEntry",
    "StoreError",
    "StudyLock",
    "StudyNotFound",
    "StudyReader",
    "StudySource",
    "StudyWriter",
    "as_stored",
    "connect",
    "create_database",
    "node_column",
    "save_comparison",
    "save_report",
    "storage_path",
]
