"""One assignment of the service as a client trains it: the ``trial`` of ``train(config, trial)``.

:class:`Trial` is a :class:`~hpo.function_trial.BaseTrial` (the same epoch loop, report and
checkpoint rules as in-process and on Ray) whose reports are answered by the server and
whose checkpoints are uploaded, pickled, when the server wants them (a pause).
:class:`_Heartbeats` renews the leases of a client's quiet trials.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpo.client._errors import ClientError, StudyOver
from hpo.function_trial import NOTHING, BaseTrial

if TYPE_CHECKING:
    from hpo.client._study import Study

log = logging.getLogger("hpo.client")


class Trial(BaseTrial):
    """One assignment: what to train, and the calls that report it."""

    def __init__(self, study: Study, assignment: dict[str, Any]) -> None:
        self.study = study
        self.trial_id: int = assignment["trial_id"]
        super().__init__(assignment["config"], assignment["seed"], assignment["from_epoch"])
        self.until_epoch: int = assignment["until_epoch"]
        self.resume: bool = assignment["resume"]
        self.lease: str = assignment["lease"]
        self.lease_seconds: float = assignment["lease_seconds"]
        self.metric: str = assignment["metric"]
        self.max_epochs: int = assignment["max_epochs"]
        self.resource: str = assignment.get("resource", "epochs")
        self.checkpoint_wanted = False
        self._pending: tuple[int, Any] | None = None  # a state taken before its report
        self._path = f"{study._path}/trials/{self.trial_id}"
        self._clock = self.contact = time.perf_counter()
        study.client._heartbeats.add(self)

    def __repr__(self) -> str:
        return (f"Trial({self.trial_id}, epochs {self.from_epoch + 1}..{self.until_epoch}, "
                f"config={self.config})")  # fmt: skip

    @property
    def id(self) -> int:
        return self.trial_id

    def _start_epoch(self, last: int) -> int | None:
        """Up to ``until_epoch``; the epoch's clock starts (its report's default seconds)."""
        if last >= self.until_epoch:
            return None
        self._clock = time.perf_counter()
        # Training samples: one refit on until_epoch of them, reported once.
        return self.until_epoch if self.resource == "samples" else last + 1

    def _answer(
        self, epoch: int, metrics: Mapping[str, float], seconds: float | None, checkpoint: Any
    ) -> None:
        """Post the measurement; a study that is over, or a lease this client lost to
        another (409), answers ``stop``. A ``checkpoint`` is held for :meth:`_answered`."""
        if checkpoint is not NOTHING:
            self._pending = (int(epoch), checkpoint)
        if seconds is None:
            seconds = time.perf_counter() - self._clock
        body = {"lease": self.lease, "epoch": int(epoch), "seconds": max(0.0, float(seconds)),
                "metrics": {k: _number(v) for k, v in metrics.items()}}  # fmt: skip
        try:
            told = self.study.client.request("POST", f"{self._path}/measurements", json=body).json()
        except StudyOver:
            told = {"action": "stop", "until_epoch": epoch, "checkpoint_wanted": False}
        except ClientError as exc:
            if exc.status != 409:
                raise
            log.warning("trial %s: %s", self.trial_id, exc.message)
            told = {"action": "stop", "until_epoch": epoch, "checkpoint_wanted": False}
        self.contact = time.perf_counter()
        self.action = told["action"]
        self.until_epoch = told["until_epoch"]
        self.checkpoint_wanted = told["checkpoint_wanted"]
        self.last_epoch = epoch
        self._clock = time.perf_counter()

    def _answered(self, epoch: int) -> None:
        """A state taken before (or with) this report is the state after it: uploaded if the
        server wants it. A trial that ends with nothing to upload sends no more heartbeats."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == epoch and self.checkpoint_wanted:
            self._kept = (epoch, False)
            self._upload(pending[1])
        elif self.action != "continue" and not self.checkpoint_wanted:
            self.close()

    def restore(self) -> Any:
        """The state saved by :meth:`checkpoint` (unpickled), or None for a fresh start."""
        blob = self.restore_bytes()
        return None if blob is None else pickle.loads(blob)

    def restore_bytes(self) -> bytes | None:
        if self.from_epoch == 0:
            return None
        response = self.study.client.request("GET", f"{self._path}/checkpoint")
        return response.content

    def _keep(self, epoch: int, after_continue: bool, state: Any) -> None:
        """The trial's state (pickled), for a paused trial to resume from, here or on another
        client. Taken after ``report(N)`` it is uploaded as the state after N; taken while
        epoch N trains, before its report, it is held and uploaded after ``report(N)`` if the
        server wants it (see :class:`~hpo.function_trial.CheckpointClock`)."""
        if epoch > self.last_epoch:
            self._pending = (epoch, state)
            return
        if self.last_epoch == 0:
            return
        self._kept = (epoch, after_continue)
        self._upload(state)

    def check_paused(self) -> None:
        """After ``train(config, trial)`` returned: raise ContractError if the trial paused
        at epoch N + 1 with only the state after N, checkpointed after ``report(N)`` said
        continue in a loop of its own (see :class:`~hpo.function_trial.CheckpointClock`)."""
        if self.action == "pause" and self.checkpoint_wanted:
            self._refuse_stale()

    def _upload(self, state: Any) -> None:
        self.checkpoint_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))

    def checkpoint_bytes(self, blob: bytes) -> None:
        try:
            self.study.client.request(
                "PUT", f"{self._path}/checkpoint", content=blob,
                params={"lease": self.lease, "epoch": self.last_epoch},
                headers={"Content-Type": "application/octet-stream"},
            )  # fmt: skip
        except ClientError as exc:
            if exc.status not in (409, 410):
                raise
            # 410: the trial ended meanwhile (a rung filled); 409: this client lost it.
            level = logging.INFO if exc.status == 410 else logging.WARNING
            log.log(level, "trial %s: checkpoint not kept: %s", self.trial_id, exc.message)
        if self.action != "continue":
            self.close()

    def fail(self, reason: str) -> None:
        """The trial cannot go on (an exception, say): it fails with ``reason``."""
        self.action = "stop"
        self.close()
        try:
            self.study.client.request("POST", f"{self._path}/fail",
                                      json={"lease": self.lease, "reason": reason[:2000]})  # fmt: skip
        except ClientError as exc:
            if exc.status not in (409, 410):
                raise

    def heartbeat(self) -> str:
        try:
            told = self.study.client.request("POST", f"{self._path}/heartbeat",
                                             json={"lease": self.lease}).json()  # fmt: skip
        except ClientError as exc:
            if exc.status not in (409, 410):
                raise
            return "stop"
        return told["action"]

    def close(self) -> None:
        """No more heartbeats for this assignment."""
        self.study.client._heartbeats.discard(self)


class _Heartbeats:
    """One thread per client renews the leases of its trials that have been quiet for a
    third of their lease (a long epoch); reports renew them anyway."""

    def __init__(self) -> None:
        self._trials: set[Trial] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, trial: Trial) -> None:
        with self._lock:
            self._trials.add(trial)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="hpo-heartbeats"
                )
                self._thread.start()

    def discard(self, trial: Trial) -> None:
        with self._lock:
            self._trials.discard(trial)

    def _run(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                due = [t for t in self._trials
                       if time.perf_counter() - t.contact > t.lease_seconds / 3]  # fmt: skip
            for trial in due:
                trial.contact = time.perf_counter()
                try:
                    if trial.heartbeat() != "continue":
                        self.discard(trial)
                except ClientError as exc:
                    log.warning("trial %s: heartbeat failed: %s", trial.trial_id, exc.message)


def _number(value: Any) -> float | None:
    value = float(value)
    return None if value != value or value in (float("inf"), float("-inf")) else value
