"""One study on the server, as a client sees it: its assignments, its results, its loop.

:meth:`Study.trials` hands out assignments until the study is finished; :meth:`Study.run`
calls ``train(config, trial)`` for each, refusing first a function that keeps no state if
the study pauses trials (:meth:`Study.check_function`).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from hpo.client._errors import StudyOver
from hpo.client._trial import Trial
from hpo.function_trial import ContractError, mentions_checkpoint, no_state_note, no_state_refusal

if TYPE_CHECKING:
    from hpo.client._client import Client

log = logging.getLogger("hpo.client")


def default_client_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Study:
    """One study on the server: ask for its trials, read its results."""

    def __init__(self, client: Client, name: str) -> None:
        self.client, self.name = client, name
        self._path = f"/api/studies/{name}"

    def info(self) -> dict[str, Any]:
        """Status counts, the plan and the best trial so far."""
        return self.client.request("GET", self._path).json()

    def best(self) -> dict[str, Any]:
        return self.client.request("GET", f"{self._path}/best").json()

    def trials_table(self) -> list[dict[str, Any]]:
        return self.client.request("GET", f"{self._path}/trials").json()

    def export(self, format: str = "csv") -> bytes:
        return self.client.request("GET", f"{self._path}/export", params={"format": format}).content

    def stop(self) -> dict[str, Any]:
        return self.client.request("POST", f"{self._path}/stop", json={}).json()

    def suggest(self, client_id: str, wait: float = 10.0) -> Trial | None:
        """One assignment, or None if nothing could start within ``wait`` seconds.
        Raises :class:`StudyOver` when the study is finished."""
        response = self.client.request(
            "POST", f"{self._path}/suggest", json={"client_id": client_id, "wait": wait},
            timeout=wait + 30.0,
        )  # fmt: skip
        if response.status_code == 204:
            return None
        return Trial(self, response.json())

    def trials(self, client_id: str | None = None, *, wait: float = 10.0) -> Iterator[Trial]:
        """Assignments, one after another, until the study is finished."""
        client_id = client_id or default_client_id()
        while True:
            try:
                trial = self.suggest(client_id, wait)
            except StudyOver:
                return
            if trial is None:
                continue
            try:
                yield trial
            finally:
                trial.close()

    def check_function(self, train: Callable[..., Any], who: str | None = None) -> str | None:
        """Before any work: a function that keeps no state (no ``trial.checkpoint`` and no
        ``report(..., checkpoint=)`` in its code: see
        :func:`~hpo.function_trial.mentions_checkpoint`) is refused with a ContractError if
        the study pauses trials; if it never does, the one line saying that it runs.
        None for a function that checkpoints."""
        if mentions_checkpoint(train):
            return None
        who = who or f"{getattr(train, '__module__', '?')}:{getattr(train, '__qualname__', train)}"
        info = self.info()
        scheduler = str(info.get("scheduler", "?"))
        if info.get("pauses_trials", True):
            why = f"{who} never calls trial.checkpoint(state)"
            raise ContractError(no_state_refusal(f"study {self.name!r}", why, scheduler))
        from hpo.registry import find_scheduler

        entry = find_scheduler(scheduler)  # a form that pauses by default runs stop-only here
        label = (
            f"{scheduler} with stop_only"
            if entry and entry.pauses and entry.stop_only
            else scheduler
        )
        return no_state_note(who, label)

    def run(
        self, train: Callable[[dict[str, Any], Trial], Any], client_id: str | None = None
    ) -> int:
        """Call ``train(config, trial)`` for every assignment until the study is finished.

        An exception in ``train`` fails that trial (with the exception as its reason) and
        the loop goes on, as in the tuner. Returns the number of assignments run. A function
        that keeps no state is refused before any work if the study pauses trials
        (:meth:`check_function`).
        """
        note = self.check_function(train)
        if note is not None:
            log.info("%s", note)
        n = 0
        for trial in self.trials(client_id):
            n += 1
            try:
                train(dict(trial.config), trial)
                trial.check_paused()
            except Exception as exc:
                from hpo.runners._base import describe_error

                trial.fail(describe_error(exc))
        return n
