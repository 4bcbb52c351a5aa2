"""Where ``hpo list``, ``status``, ``best`` and ``export`` read a study: the study database
(``--storage``) or a server (``--server``), behind one small class.

Kept as it was in the single-module CLI, so that it can be swapped in this one place for
the store's :class:`~hpo.store.StudySource` (:class:`hpo.sources.LocalSource` and
:class:`hpo.sources.ClientSource`); until then the trial columns asked of a server below
mirror what :class:`~hpo.store.StudyReader` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpo.cli._errors import connect
from hpo.store import StudyReader


class Source:
    """Where ``list``, ``status``, ``best`` and ``export`` read: the database, or a server."""

    def __init__(
        self, storage: str, server: str | None, token: str | None, ca: str | None = None
    ) -> None:
        self.storage, self.server, self.token, self.ca = storage, server, token, ca

    def _client(self) -> Any:
        return connect(self.server, token=self.token, ca=self.ca, retry_for=3.0)

    def studies(self) -> Any:
        import pandas as pd

        if self.server:
            with self._client() as client:
                return pd.DataFrame.from_records(client.studies())
        with StudyReader(self.storage) as r:
            return r.studies()

    def nodes(self, name: str) -> Any:
        """Per-node counts (workers, trials, epochs), from the database only (None via a server)."""
        if self.server:
            return None
        with StudyReader(self.storage) as r:
            return r.nodes(name)

    def study_and_trials(self, name: str) -> tuple[dict[str, Any], Any]:
        import pandas as pd

        if self.server:
            with self._client() as client:
                study = client.study(name)
                info, rows = study.info(), study.trials_table()
            columns = ["trial_id", "status", "bracket", "rung", "epochs", "best_value",
                       "last_value", "reason", "seed", "config"]  # fmt: skip
            return info, pd.DataFrame.from_records(rows, columns=columns)
        with StudyReader(self.storage) as r:
            return r.study(name), r.trials(name)

    def best(self, name: str) -> dict[str, Any]:
        if self.server:
            with self._client() as client:
                return client.study(name).best()
        with StudyReader(self.storage) as r:
            return r.best(name)

    def export(self, name: str, output: Path) -> tuple[int, int]:
        """Write the study's epochs to ``output`` (CSV or Parquet); returns the rows."""
        import pandas as pd

        fmt = output.suffix.lower().lstrip(".")
        output.parent.mkdir(parents=True, exist_ok=True)
        if self.server:
            with self._client() as client:
                output.write_bytes(client.study(name).export(fmt))
            frame = pd.read_csv(output) if fmt == "csv" else pd.read_parquet(output)
            return len(frame), frame["trial_id"].nunique() if len(frame) else 0
        with StudyReader(self.storage) as r:
            frame = r.export_frame(name)
        frame.to_csv(output, index=False) if fmt == "csv" else frame.to_parquet(output, index=False)
        return len(frame), frame["trial_id"].nunique() if len(frame) else 0
