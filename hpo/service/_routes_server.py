"""The routes of the server itself: ``GET /api/health`` and the dashboard's ``/login``.

Both are open (:data:`~hpo.service._guard.OPEN_PATHS`): health says whether the server
is alive and takes work; ``/login?token=…`` checks the token once and sets the cookie
with which the dashboard's pages are read.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from hpo.service._handlers import error_response
from hpo.service._schemas import refusals
from hpo.service._service import Service


def server_router(service: Service | None, token: str | None) -> APIRouter:
    """Health (``service`` None: a dashboard that takes no work) and the login page."""
    router = APIRouter()

    @router.get("/api/health", tags=["service"], responses=refusals())
    async def health() -> dict[str, Any]:
        """Liveness, and whether this server takes work (False: dashboard only)."""
        return {"ok": True, "version": server_version(), "takes_work": service is not None}

    @router.get("/login", include_in_schema=False)
    async def login(token_: Annotated[str, Query(alias="token")] = "") -> Response:
        if token is None:
            return RedirectResponse("/")
        if not hmac.compare_digest(token_.encode(), token.encode()):
            return error_response(401, "the token is wrong")
        response = RedirectResponse("/")
        response.set_cookie("hpo_token", token, httponly=True, samesite="strict")
        return response

    return router


def server_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hpo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


__all__ = ["server_router", "server_version"]
