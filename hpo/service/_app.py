"""The service's HTTP surface: a FastAPI application over :class:`Service`.

Routes (JSON unless said; OpenAPI at ``/openapi.json`` and ``/docs``), each resource a
router of its own, matched in this order (a client's loop first):

* ``GET /api/health`` and ``/login`` (:mod:`hpo.service._routes_server`);
* ``POST /api/studies`` create (idempotent by name and settings), ``POST
  /api/studies/{name}/stop`` (:mod:`hpo.service._routes_studies`);
* ``POST /api/studies/{name}/suggest``, ``…/trials/{id}/measurements``, ``…/heartbeat``,
  ``…/fail``, ``PUT``/``GET …/checkpoint`` (:mod:`hpo.service._routes_trials`);
* ``GET /api/studies``, ``…/{name}``, ``…/{name}/trials``, ``…/{name}/best``
  (:mod:`hpo.service._routes_studies`), ``…/export?format=csv|parquet``
  (:mod:`hpo.service._routes_export`), and the dashboard's pages and data
  (:mod:`hpo.dashboard._routes`).

A server that takes no work (``readonly``: the dashboard alone) has only the routes that
read. Errors are ``{"error": "one sentence"}`` with a 4xx status, never a stack trace
(:mod:`hpo.service._handlers`). Bodies and checkpoints have size limits; with a token,
every route but ``/api/health`` and ``/login`` needs ``Authorization: Bearer <token>``
(the dashboard's pages also take the cookie that ``/login?token=…`` sets): the guard in
front of them all is :mod:`hpo.service._guard`.

Reads that may take long run in the thread pool with their own connections; the changes
are committed in groups (:mod:`hpo.service._commit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from hpo.dashboard import DashboardData
from hpo.dashboard._routes import dashboard_router
from hpo.service._commit import GroupCommit, Waiters, expire_forever
from hpo.service._guard import MAX_BODY_BYTES, MAX_CHECKPOINT_BYTES, OPEN_PATHS, Guard
from hpo.service._handlers import install_error_handlers
from hpo.service._routes_export import export_router
from hpo.service._routes_server import server_router, server_version
from hpo.service._routes_studies import study_reads, study_writes
from hpo.service._routes_trials import trials_router
from hpo.service._schemas import refusals
from hpo.service._service import Service


def create_app(
    storage: str,
    *,
    token: str | None = None,
    readonly: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_checkpoint_bytes: int = MAX_CHECKPOINT_BYTES,
    clock: Callable[[], float] = time.time,
    expire_every: float = 0.5,
) -> FastAPI:
    """The service (or, ``readonly``, the dashboard alone) over the database ``storage``."""
    service = None if readonly else Service(storage, clock=clock, autocommit=False)
    committed = GroupCommit(service) if service is not None else None
    waiters = Waiters()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if service is not None and committed is not None:
            service.open()
            task = asyncio.create_task(expire_forever(service, waiters, committed, expire_every))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                await run_in_threadpool(service.stop_managed)
                service.close()

    app = FastAPI(
        title="hpo",
        summary="Hyperparameter search as a service: successive halving, HyperBand, ASHA.",
        version=server_version(),
        lifespan=lifespan,
    )
    app.state.service = service
    api: list[APIRouter] = [server_router(service, token)]
    if service is not None and committed is not None:  # a server that takes work
        api += [study_writes(service, committed, waiters, storage),
                trials_router(service, committed, waiters)]  # fmt: skip
    api += [study_reads(service, storage), export_router(storage)]
    # A 405's Allow names the methods of the documentation's and the API's routes at its path.
    install_error_handlers(app, [*app.router.routes, *(r for router in api for r in router.routes)])
    _document(app, guarded=token is not None)
    app.add_middleware(Guard, token=token, max_body=max_body_bytes,
                       max_checkpoint=max_checkpoint_bytes, routes=app.router.routes)  # fmt: skip
    for router in api:
        app.include_router(router)
    app.include_router(dashboard_router(DashboardData(storage)), responses=refusals(404))
    return app


def _document(app: FastAPI, *, guarded: bool) -> None:
    """The OpenAPI document of this server as configured: with a token, every route but
    the open ones declares the bearer scheme (and its 401); without, none does."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = plain()
        if guarded:
            document.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "the server's token (studies.db.token beside the database)"}
            }  # fmt: skip
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                if guarded and path not in OPEN_PATHS:
                    operation["security"] = [{"bearer": []}]
                else:
                    operation.get("responses", {}).pop("401", None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app"]
