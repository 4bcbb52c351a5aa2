"""The guard in front of every route: the token, cross-site requests, the size of bodies.

:class:`Guard` is pure ASGI middleware, so that it answers before FastAPI reads a byte of
the body: a request it refuses gets ``{"error": "one sentence"}`` with 401 (no token, or
a wrong one: constant-time comparison), 403 (what a page of another site could have sent)
or 413 (a body over the limit, counted as it comes when it is chunked). Every answer,
refused or not, carries ``Server-Timing`` (the time spent in this server).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.routing import Match

MAX_BODY_BYTES = 1 << 20
MAX_CHECKPOINT_BYTES = 64 << 20
# What anyone may ask for, with or without the token.
OPEN_PATHS = frozenset({"/api/health", "/login", "/favicon.ico"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class _TooLarge(Exception):
    pass


class Guard:
    """Pure ASGI middleware: bearer-token check (constant time), body size limits, and a
    ``Server-Timing`` header on every answer (the time spent in this server)."""

    def __init__(
        self, app: Any, *, token: str | None, max_body: int, max_checkpoint: int, routes: list
    ) -> None:
        self.app = app
        self.routes = routes  # the application's, also those added after the guard
        self.token = token.encode() if token else None
        self.max_body, self.max_checkpoint = max_body, max_checkpoint

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        raw_send = send

        async def send(message: dict) -> None:  # every answer says how long it took here
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - start) * 1000:.3f}".encode()
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"server-timing", took)],
                }
            await raw_send(message)

        path: str = scope["path"]
        refusal = self._cross_site(scope)
        if refusal is not None:
            await _send_error(send, 403, refusal)
            return
        if self.token is not None and path not in OPEN_PATHS and not self._authorised(scope):
            await _send_error(send, 401, "a bearer token is required (Authorization: Bearer TOKEN; "
                              "the dashboard: open /login?token=TOKEN once)",
                              [(b"www-authenticate", b"Bearer")])  # fmt: skip
            return
        limit = self.max_checkpoint if path.endswith("/checkpoint") else self.max_body
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit():
                if int(value) > limit:
                    await _send_error(send, 413, f"the body is larger than {limit} bytes")
                    return
                # The server reads exactly that many bytes: nothing more to count.
                await self.app(scope, receive, send)
                return
        received, started = 0, False  # a chunked body: count it as it comes

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    scope["hpo.too_large"] = f"the body is larger than {limit} bytes"
                    raise _TooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, f"the body is larger than {limit} bytes")

    def _cross_site(self, scope: dict) -> str | None:
        """Why a request that a web page elsewhere could have sent is refused, or None.

        Without a token (loopback), the Host must be this machine (against DNS
        rebinding). A POST must carry a JSON or binary body type, which a page of another
        site cannot send without the browser asking first; no write may carry a foreign Origin.
        """
        headers = dict(scope["headers"])
        host = _hostname(headers.get(b"host", b""))
        if self.token is None and host and host not in LOOPBACK_NAMES:
            return f"host {host!r} is not this machine; a server without a token answers loopback names only"
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None
        if not any(route.matches(scope)[0] is Match.FULL for route in self.routes):
            return None  # no handler runs: the router answers 404 or 405 (with Allow)
        origin = headers.get(b"origin")
        if origin is not None and _hostname(origin.split(b"//", 1)[-1]) not in (
            host,
            *LOOPBACK_NAMES,
        ):
            return "a write from a page of another site is refused"
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # PUT and DELETE are never "simple": a browser asks first, and nothing here says yes.
        if scope["method"] == "POST" and kind not in (
            b"application/json",
            b"application/octet-stream",
        ):
            return "a write needs Content-Type: application/json (application/octet-stream for a checkpoint)"
        return None

    def _authorised(self, scope: dict) -> bool:
        assert self.token is not None
        for key, value in scope["headers"]:
            if key == b"authorization" and value[:7].lower() == b"bearer ":
                return hmac.compare_digest(value[7:].strip(), self.token)
            # Cookies only for reading (a page cannot be tricked into a write by another site).
            if key == b"cookie" and scope["method"] in ("GET", "HEAD"):
                for part in value.split(b";"):
                    name, _, given = part.strip().partition(b"=")
                    if name == b"hpo_token":
                        return hmac.compare_digest(given, self.token)
        return False


async def _send_error(
    send: Callable, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {"type": "http.response.start", "status": status,
         "headers": [(b"content-type", b"application/json"),
                     (b"content-length", str(len(body)).encode()), *(headers or [])]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _hostname(value: bytes) -> str:
    """``host:port`` or ``[v6]:port`` → the host."""
    text = value.decode("latin-1").strip()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


__all__ = ["LOOPBACK_NAMES", "MAX_BODY_BYTES", "MAX_CHECKPOINT_BYTES", "OPEN_PATHS", "Guard"]
