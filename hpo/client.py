"""A small Python client of the service (``hpo serve``), with a function-style loop::

    import hpo.client

    study = hpo.client.connect("http://127.0.0.1:8000").study("mlp")
    for trial in study.trials():                 # until the study is finished
        model = build(trial.config, seed=trial.seed)
        if trial.resume:                         # a paused trial, promoted
            model.load(trial.restore())
        for epoch in trial.epochs():             # from_epoch + 1 … until_epoch
            if trial.report(epoch, train_one_epoch(model)) != "continue":
                break
        trial.checkpoint(model.state())          # kept when the trial paused

Every call retries with backoff when the server cannot be reached (a restart, a
dropped connection) for up to ``retry_for`` seconds; the API is idempotent where a retry
could repeat a call (the same ``client_id`` gets the same assignment, a report of the
same epoch is recorded once). A lease lost to another client (this one was silent too
long) makes :meth:`Trial.report` answer ``stop``.

An ``https://`` URL is verified against the public CAs (certifi's, as httpx does); a server
with a certificate of a private CA is trusted with ``ca=`` (or ``$HPO_CA``), the CA's PEM
file. A certificate that cannot be verified is refused at once with one line, not retried.

Checkpoints travel as pickles of whatever the training code passes: load them only from
a server you trust, as with any pickle.
"""

from __future__ import annotations

import logging
import os
import pickle
import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from hpo.errors import HpoError
from hpo.function_trial import (
    NOTHING,
    CheckpointClock,
    ContractError,
    mentions_checkpoint,
    no_state_note,
    no_state_refusal,
    stale_checkpoint_refusal,
)

if TYPE_CHECKING:
    from hpo.result import Result

log = logging.getLogger("hpo.client")

RETRIED_STATUS = frozenset({502, 503, 504})


class ClientError(HpoError, RuntimeError):
    """The server refused a request (``status``, and its one-sentence ``message``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class StudyOver(ClientError):
    """The study is finished or stopped: there is no more work."""


def default_client_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def connect(
    url: str,
    *,
    token: str | None = None,
    ca: str | Path | None = None,
    timeout: float = 30.0,
    retry_for: float = 300.0,
) -> Client:
    """A client of the server at ``url``; ``token`` defaults to ``$HPO_TOKEN``, ``ca`` (the
    PEM certificate of a private CA that signed the server's) to ``$HPO_CA``."""
    return Client(url, token=token, ca=ca, timeout=timeout, retry_for=retry_for)


def tls_verification(ca: str | Path | None = None) -> ssl.SSLContext | bool:
    """What an https connection trusts: only the CA in file ``ca`` (default ``$HPO_CA``), or
    the public CAs httpx trusts (True). Raises ValueError if ``ca`` is not a PEM certificate."""
    ca = ca if ca is not None else os.environ.get("HPO_CA") or None
    if ca is None:
        return True
    path = Path(ca)
    if not path.is_file():
        raise ValueError(f"CA certificate {str(ca)!r}: no such file")
    try:
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise ValueError(
            f"CA certificate {str(ca)!r}: expected a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    except OSError as exc:  # there, but not readable (its permissions): the same one line
        raise ValueError(f"CA certificate {str(ca)!r}: {exc.strerror or exc}") from None


class Client:
    """Talks to one server; thread-safe (httpx's connection pool)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        ca: str | Path | None = None,
        timeout: float = 30.0,
        retry_for: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = token if token is not None else os.environ.get("HPO_TOKEN") or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.retry_for = retry_for
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=tls_verification(ca),
        )
        self._heartbeats = _Heartbeats()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- studies -----------------------------------------------------------------------------

    def study(self, name: str) -> Study:
        return Study(self, name)

    def create_study(
        self, name: str, space: str | Mapping[str, Any], *, managed: bool = False, **settings: Any
    ) -> Study:
        """Create ``name`` (or find it, with the same settings). ``space`` is YAML text of a
        search file or the hyperparameters as a mapping; ``settings`` as in a search file."""
        body = {"name": name, "space": space if isinstance(space, str) else dict(space),
                "settings": settings, "managed": managed}  # fmt: skip
        self.request("POST", "/api/studies", json=body, timeout=120.0)
        return Study(self, name)

    def studies(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/studies").json()

    def result(self, name: str) -> Result:
        """Study ``name`` as a :class:`hpo.result.Result` read over HTTP (its best trial,
        trials, curves and figure, as ``hpo.load`` gives for a local database)."""
        from hpo.result import ClientSource, Result

        return Result(ClientSource(self), name)

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/api/health").json()

    # -- the one way out to the server ----------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; retry while the server cannot be reached; raise on a refusal."""
        give_up = time.monotonic() + self.retry_for
        delay = 0.05
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                _refuse_tls_failure(self.url, exc)
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRIED_STATUS:
                    break
                problem = f"HTTP {response.status_code}"
            if time.monotonic() + delay > give_up:
                hint = ""
                if self.url.startswith("http:") and "RemoteProtocolError" in problem:
                    hint = "; if the server speaks TLS, use its https:// URL"
                raise ClientError(0, f"cannot reach {self.url} ({problem}){hint}")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text or response.reason_phrase
            kind = StudyOver if response.status_code == 410 else ClientError
            raise kind(response.status_code, message)
        return response


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


class Trial:
    """One assignment: what to train, and the calls that report it."""

    def __init__(self, study: Study, assignment: dict[str, Any]) -> None:
        self.study = study
        self.trial_id: int = assignment["trial_id"]
        self.config: dict[str, Any] = assignment["config"]
        self.seed: int = assignment["seed"]
        self.from_epoch: int = assignment["from_epoch"]
        self.until_epoch: int = assignment["until_epoch"]
        self.resume: bool = assignment["resume"]
        self.lease: str = assignment["lease"]
        self.lease_seconds: float = assignment["lease_seconds"]
        self.metric: str = assignment["metric"]
        self.max_epochs: int = assignment["max_epochs"]
        self.resource: str = assignment.get("resource", "epochs")
        self.action = "continue"
        self.checkpoint_wanted = False
        self.last_epoch = self.from_epoch
        self._checkpoints = CheckpointClock()
        self._pending: tuple[int, Any] | None = None  # a state taken before its report
        self._kept: tuple[int, bool] | None = None  # the last upload: its epoch, after_continue
        self._path = f"{study._path}/trials/{self.trial_id}"
        self._clock = self.contact = time.perf_counter()
        study.client._heartbeats.add(self)

    def __repr__(self) -> str:
        return (f"Trial({self.trial_id}, epochs {self.from_epoch + 1}..{self.until_epoch}, "
                f"config={self.config})")  # fmt: skip

    @property
    def id(self) -> int:
        return self.trial_id

    def epochs(self) -> Iterator[int]:
        """Epoch numbers to train: from ``from_epoch + 1`` until the trial is told anything
        but ``continue`` (the end moves when the scheduler keeps the trial going)."""
        self._checkpoints.loop_started()
        return self._epochs()

    def _epochs(self) -> Iterator[int]:
        epoch = self.last_epoch
        while self.action == "continue" and epoch < self.until_epoch:
            # Training samples: one refit on until_epoch of them, reported once.
            epoch = self.until_epoch if self.resource == "samples" else epoch + 1
            self._clock = time.perf_counter()
            self._checkpoints.epoch_started()
            yield epoch

    def report(
        self,
        epoch: int,
        metrics: Mapping[str, float],
        seconds: float | None = None,
        checkpoint: Any = NOTHING,
    ) -> str:
        """Report epoch ``epoch``; returns ``continue``, ``pause`` or ``stop``.

        ``checkpoint`` is the state after this epoch (as Ray Tune's
        ``report(metrics, checkpoint=...)``): uploaded if the server wants it (a pause).
        """
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
        self._checkpoints.reported(self.action)
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == epoch and self.checkpoint_wanted:
            self._kept = (epoch, False)
            self._upload(pending[1])  # taken before (or with) this report: the state after it
        elif self.action != "continue" and not self.checkpoint_wanted:
            self.close()
        return self.action

    def restore(self) -> Any:
        """The state saved by :meth:`checkpoint` (unpickled), or None for a fresh start."""
        blob = self.restore_bytes()
        return None if blob is None else pickle.loads(blob)

    def restore_bytes(self) -> bytes | None:
        if self.from_epoch == 0:
            return None
        response = self.study.client.request("GET", f"{self._path}/checkpoint")
        return response.content

    def checkpoint(self, state: Any) -> None:
        """Save the trial's state (pickled) after the epoch just trained, unless the trial
        was stopped: a paused trial resumes from it, here or on another client.

        Taken after ``report(N)`` it is uploaded as the state after N; taken while epoch N
        trains, before its report, it is held and uploaded after ``report(N)`` if the
        server wants it (see :class:`~hpo.function_trial.CheckpointClock`)."""
        if self.action == "stop":
            return
        epoch = self._checkpoints.taken(self.last_epoch)
        if epoch > self.last_epoch:
            self._pending = (epoch, state)
            return
        if self.last_epoch == 0:
            return
        self._kept = (epoch, self._checkpoints.after_continue)
        self._upload(state)

    def check_paused(self) -> None:
        """After ``train(config, trial)`` returned: raise ContractError if the trial paused
        at epoch N + 1 with only the state after N, checkpointed after ``report(N)`` said
        continue in a loop of its own (see :class:`~hpo.function_trial.CheckpointClock`)."""
        if self.action != "pause" or not self.checkpoint_wanted or self._kept is None:
            return
        epoch, after_continue = self._kept
        if after_continue and epoch == self.last_epoch - 1:
            raise ContractError(stale_checkpoint_refusal("train()", self.last_epoch, epoch))

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


#: OpenSSL's reasons for a server that does not speak TLS (http behind an https:// URL) or
#: no version both sides speak: retrying cannot heal them.
TLS_MISMATCH = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "UNSUPPORTED_PROTOCOL",
                          "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"})  # fmt: skip


def _refuse_tls_failure(url: str, exc: BaseException) -> None:
    """A certificate that cannot be verified, or a server that does not speak TLS, does not
    heal by retrying: raise it at once, in one line. Any other TLS error (an EOF or a
    closed connection while the server restarts) is a transport error, retried."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or cause.reason or "certificate verify failed"
        hint = ("the certificate does not name this host" if "mismatch" in reason.lower()
                else "a server with a private CA needs its CA certificate: --ca FILE or HPO_CA")  # fmt: skip
        raise ClientError(0, f"cannot verify the TLS certificate of {url} ({reason}); {hint}")
    if isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in TLS_MISMATCH:
        raise ClientError(0, f"no TLS connection to {url} ({cause.reason or cause}); "
                             "does the server speak https (hpo serve --tls-cert)?")  # fmt: skip


def _number(value: Any) -> float | None:
    value = float(value)
    return None if value != value or value in (float("inf"), float("-inf")) else value
