"""Every error the app answers, as ``{"error": "one sentence"}``: never a stack trace.

The typed refusals (:data:`~hpo.service._errors.REFUSED`: the service's own, the store's,
the settings') get the status and the public text :mod:`hpo.service._errors` gives them;
invalid requests get the first validation error as ``where: what``; what the router
refuses (no such route, a method the path does not take) says so in words; anything else
is a 500 that names only the exception's type (the rest is in the server's log).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from hpo.errors import HpoError
from hpo.service._errors import REFUSED, public_text, status_of

log = logging.getLogger("hpo.service")


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI, api_routes: Sequence[BaseRoute]) -> None:
    """Answer errors on ``app`` in one sentence; a 405's ``Allow`` lists the methods that
    ``api_routes`` take at that path.

    ``api_routes`` are the documentation's and the API's, not the dashboard's: a 405 on a
    path of the dashboard alone has an empty ``Allow``, as it had when the API's routes
    were the app's own and the dashboard's an included router.
    """

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HpoError)
        return error_response(status_of(exc), public_text(exc))

    for kind in REFUSED:
        app.add_exception_handler(kind, refused)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _one_sentence(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.scope.get("hpo.too_large"):  # a chunked body ran over while it was parsed
            return error_response(413, request.scope["hpo.too_large"])
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first route's methods; list them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(api_routes, request.scope))}
            message = f"Method Not Allowed: {request.method}; this path takes {headers['Allow']}"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            return error_response(422, "the body is not valid JSON (it is not UTF-8 text)")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path!r}; the API is described at /docs"
        return error_response(exc.status_code, message, headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server's log")


def _allowed(routes: Sequence[BaseRoute], scope: dict) -> list[str]:
    """The methods of every route at this path, in a fixed order."""
    methods: set[str] = set()
    for route in routes:
        if route.matches(scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _one_sentence(errors: Any) -> str:
    """The first validation error as ``where: what`` (``body.epoch: Input should be …``)."""
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return f"the body is not valid JSON ({first.get('ctx', {}).get('error', message)})"
    if first.get("type") == "missing":
        return f"{where} is missing"
    if first.get("type") == "extra_forbidden":
        return f"{where} is not a field of this request"
    return f"{where}: {message}"


__all__ = ["error_response", "install_error_handlers"]
