"""Where a recorded study is read: the two implementations of :class:`hpo.store.StudySource`.

* :class:`LocalSource`: a study database on this machine, over
  :class:`hpo.store.StudyReader`;
* :class:`ClientSource`: a server (``hpo serve``), over :class:`hpo.client.Client` and the
  server's existing routes.

``hpo list``, ``status``, ``best``, ``export`` and :class:`hpo.result.Result` read through
either, alike. Neither writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hpo.store import TRIAL_COLUMNS, StudyNotFound, StudyReader

if TYPE_CHECKING:
    from hpo.client import Client


class LocalSource:
    """A study database on this machine (a :class:`~hpo.store.StudySource`), read with a
    fresh :class:`~hpo.store.StudyReader` per call (so that a result may be read from any
    thread, and never holds the file open)."""

    def __init__(self, storage: str | Path) -> None:
        self.storage = storage
        with StudyReader(storage):  # no database there: one line now (StoreError)
            pass

    def studies(self) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.studies()

    def study(self, name: str) -> dict[str, Any]:
        from hpo.dashboard import DashboardData

        with StudyReader(self.storage) as r:
            info = r.study(name)  # its message lists the studies that are there
        info["brackets"] = DashboardData(self.storage).study(name)["brackets"]
        return info

    def status(self, name: str) -> dict[str, Any]:
        with StudyReader(self.storage) as r:
            return r.study(name)

    def trials(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.trials(name)

    def epochs(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.epochs(name)

    def events(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.events(name)

    def best(self, name: str) -> dict[str, Any]:
        with StudyReader(self.storage) as r:
            return r.best(name)

    def export(self, name: str, fmt: str) -> bytes:
        with StudyReader(self.storage) as r:
            return r.export(name, fmt)

    def nodes(self, name: str) -> pd.DataFrame:
        with StudyReader(self.storage) as r:
            return r.nodes(name)


# SQLite's largest INTEGER: a cursor past every row (the dashboard route's upper bound).
_PAST_EVERY_ROW = 2**63 - 1


class ClientSource:
    """A study on a server (``hpo serve``), read through its HTTP API (a
    :class:`~hpo.store.StudySource`): the header and the decisions from the dashboard's
    ``delta`` route, the list, the status, the trials, the best trial and the export from
    the study routes, every metric of every epoch from the export (Parquet)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def studies(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self.client.studies())

    def _get(self, name: str, tail: str = "", **params: Any) -> Any:
        from urllib.parse import quote

        from hpo.client import ClientError

        try:
            return self.client.request(
                "GET", f"/api/studies/{quote(name, safe='')}{tail}", params=params
            )
        except ClientError as exc:
            if exc.status == 404:
                raise StudyNotFound(f"{exc.message} (on {self.client.url})") from None
            raise

    def _delta(self, name: str, **cursors: Any) -> dict[str, Any]:
        return self._get(name, "/delta", **cursors).json()

    def study(self, name: str) -> dict[str, Any]:
        # Cursors past every row: the header alone.
        delta = self._delta(name, epochs=_PAST_EVERY_ROW, events=_PAST_EVERY_ROW, trials=1e308)
        return delta["study"]

    def status(self, name: str) -> dict[str, Any]:
        return self._get(name).json()

    def trials(self, name: str) -> pd.DataFrame:
        rows = self._get(name, "/trials").json()
        if not rows:  # no records to read the columns from
            return pd.DataFrame(columns=[*TRIAL_COLUMNS, "config"])
        return pd.DataFrame.from_records(rows)

    def epochs(self, name: str) -> pd.DataFrame:
        import io

        frame = pd.read_parquet(io.BytesIO(self.export(name, "parquet")))
        # The export is the epochs joined with their trial's status, bracket, seed and
        # config.* columns (StudyReader.export_frame): keep the epochs' own columns.
        columns = list(frame.columns)
        for i in range(len(columns) - 3, -1, -1):
            if columns[i : i + 3] == ["status", "bracket", "seed"]:
                return frame[columns[:i]]
        return frame

    def events(self, name: str) -> pd.DataFrame:
        events = self._delta(name, epochs=_PAST_EVERY_ROW, trials=1e308)["events"]
        events.pop("cursor", None)
        return pd.DataFrame(events)

    def best(self, name: str) -> dict[str, Any]:
        return self._get(name, "/best").json()

    def export(self, name: str, fmt: str) -> bytes:
        return self._get(name, "/export", format=fmt).content

    def nodes(self, name: str) -> None:
        return None  # the server has no route for it


__all__ = ["ClientSource", "LocalSource"]
