"""The connection to one server: its TLS trust, its token, and the one way out, with retries.

:meth:`Client.request` retries with backoff while the server cannot be reached (a restart,
a dropped connection) for up to ``retry_for`` seconds, and raises a refusal as a
:class:`~hpo.client.ClientError` (a finished study as :class:`~hpo.client.StudyOver`).
"""

from __future__ import annotations

import os
import random
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from hpo.client._errors import ClientError, StudyOver, _refuse_tls_failure
from hpo.client._study import Study
from hpo.client._trial import _Heartbeats

if TYPE_CHECKING:
    from hpo.result import Result

RETRIED_STATUS = frozenset({502, 503, 504})


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
