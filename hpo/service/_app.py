"""The service's HTTP surface: a FastAPI application over :class:`Service`.

Routes (JSON unless said; OpenAPI at ``/openapi.json`` and ``/docs``):

* ``POST /api/studies`` create (idempotent by name and settings), ``GET /api/studies``,
  ``GET /api/studies/{name}``, ``POST /api/studies/{name}/stop``;
* ``POST /api/studies/{name}/suggest`` ask for work: 200 an assignment, 204 nothing now
  (``Retry-After``), 410 the study is over;
* ``POST /api/studies/{name}/trials/{id}/measurements`` report an epoch: ``continue``,
  ``pause`` or ``stop``; ``…/heartbeat``, ``…/fail``; ``PUT``/``GET …/checkpoint`` an
  opaque blob;
* ``GET /api/studies/{name}/trials``, ``…/best``, ``…/export?format=csv|parquet``, and
  the dashboard's pages and data (:mod:`hpo.dashboard._routes`).

Errors are ``{"error": "one sentence"}`` with a 4xx status, never a stack trace. Bodies
and checkpoints have size limits; with a token, every route but ``/api/health`` and
``/login`` needs ``Authorization: Bearer <token>`` (the dashboard's pages also take the
cookie that ``/login?token=…`` sets).

The handlers that change a study are ``async`` and never await while they do so: they
run one at a time on the event loop, which is what keeps a study's scheduler consistent
without locks. Reads that may take long run in the thread pool with their own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hpo.dashboard import DashboardData
from hpo.dashboard._routes import dashboard_router
from hpo.service._schemas import (
    MAX_EPOCH,
    NAME_PATTERN,
    SQL_INT_MAX,
    AssignmentOut,
    FailIn,
    LeaseIn,
    MeasurementIn,
    StopIn,
    StudyIn,
    SuggestIn,
    ToldOut,
    refusals,
)
from hpo.service._service import Service, study_info
from hpo.service._study import ServiceError
from hpo.settings import SearchSettings, SettingsError
from hpo.space import SpaceError, parse_yaml
from hpo.store import StoreError, StudyNotFound, StudyReader

log = logging.getLogger("hpo.service")

MAX_BODY_BYTES = 1 << 20
MAX_CHECKPOINT_BYTES = 64 << 20
OPEN_PATHS = frozenset({"/api/health", "/login", "/favicon.ico"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

StudyName = Annotated[str, Path(pattern=NAME_PATTERN, description="letters, digits, . _ -")]
AnyStudyName = Annotated[str, Path(description="a study's name")]
BINARY = {"schema": {"type": "string", "format": "binary"}}
CHECKPOINT_BODY = {"required": True, "description": "the trial's state: opaque bytes, not empty",
                   "content": {"application/octet-stream":
                               {"schema": {"type": "string", "format": "binary", "minLength": 1}}}}  # fmt: skip
TrialId = Annotated[int, Path(ge=0, le=SQL_INT_MAX, description="a trial's number")]


# -- the application -------------------------------------------------------------------------------


class _GroupCommit:
    """Commits the changes of every request handled in one turn of the event loop in one
    transaction per study, before any of those requests is answered.

    A handler changes its study in memory, then awaits this; the commit runs once the
    loop has run every handler that was ready. Under load that is many requests per
    commit; alone, a request waits for nothing but its own commit.
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self._dirty: set[Any] = set()
        self._done: asyncio.Future | None = None

    async def call(self, study: Any, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)`` of ``study``, answered once what it changed is committed (also
        when it refuses: a refusal may follow a change, such as a study found finished)."""
        try:
            return method(*args)
        finally:
            await self(study)

    async def __call__(self, study: Any) -> None:
        self._dirty.add(study)
        if self._done is None:
            loop = asyncio.get_running_loop()
            self._done = loop.create_future()
            loop.call_soon(self._commit)
        await asyncio.shield(self._done)

    def _commit(self) -> None:
        done, self._done = self._done, None
        dirty, self._dirty = self._dirty, set()
        assert done is not None
        try:
            self.service.commit(dirty)
        except Exception as exc:  # every waiter gets an answer, whatever failed
            log.error("commit failed: %s", exc)
            done.set_exception(ServiceUnavailable(f"the study database cannot be written: {exc}"))
            done.exception()  # retrieved: waiters re-raise it; nobody else needs to
        else:
            done.set_result(None)


class ServiceUnavailable(ServiceError):
    status = 503


class _Waiters:
    """Suggest requests that wait for work, woken when their study changes."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    def notify(self, name: str) -> None:
        event = self._events.pop(name, None)
        if event is not None:
            event.set()


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
    committed = _GroupCommit(service) if service is not None else None
    data = DashboardData(storage)
    waiters = _Waiters()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if service is not None:
            service.open()
            task = asyncio.create_task(_expire_forever(service, waiters, committed, expire_every))
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
        version=_version(),
        lifespan=lifespan,
    )
    app.state.service = service
    _errors(app)
    _document(app, guarded=token is not None)
    app.add_middleware(_Guard, token=token, max_body=max_body_bytes,
                       max_checkpoint=max_checkpoint_bytes, routes=app.router.routes)  # fmt: skip

    @app.get("/api/health", tags=["service"], responses=refusals())
    async def health() -> dict[str, Any]:
        """Liveness, and whether this server takes work (False: dashboard only)."""
        return {"ok": True, "version": _version(), "takes_work": service is not None}

    @app.get("/login", include_in_schema=False)
    async def login(token_: Annotated[str, Query(alias="token")] = "") -> Response:
        if token is None:
            return RedirectResponse("/")
        if not hmac.compare_digest(token_.encode(), token.encode()):
            return _error(401, "the token is wrong")
        response = RedirectResponse("/")
        response.set_cookie("hpo_token", token, httponly=True, samesite="strict")
        return response

    # The routes a client calls in its loop come first: routes are matched in order.
    if service is not None:
        # -- creating and stopping -----------------------------------------------------------------------

        @app.post("/api/studies", tags=["studies"], status_code=201,
                  responses={200: {"description": "the study exists with equal settings"},
                             **refusals(400, 409, 413, 503)})  # fmt: skip
        async def create_study(body: StudyIn, response: Response) -> dict[str, Any]:
            """Create a study; the same name with equal settings returns it (200), with other
            settings is a conflict (409). ``managed`` runs it on the server's own workers."""
            settings = _settings(body)
            if body.managed and body.name not in service.managed:
                from hpo.launch import check_trainer

                if service.stored(body.name) is None:
                    await run_in_threadpool(check_trainer, settings)  # imports, data: off the loop
            created = service.create(body.name, settings, managed=body.managed)
            if not created:
                response.status_code = 200
            run = service.managed.get(body.name) if body.managed else None
            if run is not None:
                await run_in_threadpool(run.started.wait, 60)
                if run.error:
                    raise ServiceError(f"study {body.name!r} could not start: {run.error}")
            return await get_study(body.name)

        @app.post("/api/studies/{name}/stop", tags=["studies"], responses=refusals(404, 409, 503))
        async def stop(name: AnyStudyName, body: StopIn | None = None) -> dict[str, Any]:
            """Stop a study: no more work is handed out; what is recorded stays."""
            service.stop(name)
            if name in service.studies:
                await committed(service.studies[name])
            waiters.notify(name)
            return await get_study(name)

        # -- the ask/tell loop ----------------------------------------------------------------------------

        @app.post(
            "/api/studies/{name}/suggest",
            tags=["trials"],
            response_model=AssignmentOut,
            responses={204: {"description": "nothing to run now; ask again after Retry-After",
                             "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                       **refusals(404, 409, 410, 413, 503)},
        )  # fmt: skip
        async def suggest(name: StudyName, body: SuggestIn) -> Any:
            """Ask for work: a trial, its configuration and seed, the epochs to train, a lease."""
            deadline = time.monotonic() + body.wait
            while True:
                study = service.served(name)
                assignment = await committed.call(study, study.suggest, body.client_id)
                if assignment is not None:
                    waiters.notify(name)  # the tape moved: others may now find work too
                    return JSONResponse(assignment.to_dict())
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Response(status_code=204, headers={"Retry-After": "1"})
                event = waiters.event(name)
                with contextlib.suppress(asyncio.TimeoutError):  # TimeoutError only from 3.11
                    await asyncio.wait_for(event.wait(), remaining)

        @app.post("/api/studies/{name}/trials/{trial_id}/measurements", tags=["trials"],
                  response_model=ToldOut, responses=refusals(404, 409, 410, 413, 503))  # fmt: skip
        async def measure(name: StudyName, trial_id: TrialId, body: MeasurementIn) -> Any:
            """Report one epoch's metrics; the answer says whether to continue, pause or stop.
            A retried report (same lease and epoch) records once and gets the same answer."""
            metrics = {k: math.nan if v is None else float(v) for k, v in body.metrics.items()}
            study = service.served(name)
            told = await committed.call(study, study.measure, trial_id, body.lease, body.epoch,
                                        metrics, float(body.seconds))  # fmt: skip
            waiters.notify(name)  # a milestone may have freed work (promotions, a filled rung)
            return JSONResponse(
                {"action": told.action, "until_epoch": told.until_epoch,
                 "checkpoint_wanted": told.checkpoint_wanted}
            )  # fmt: skip

        @app.post("/api/studies/{name}/trials/{trial_id}/heartbeat", tags=["trials"],
                  response_model=ToldOut, responses=refusals(404, 409, 410, 413, 503))  # fmt: skip
        async def heartbeat(name: StudyName, trial_id: TrialId, body: LeaseIn) -> Any:
            """Renew a lease during a long epoch."""
            study = service.served(name)
            told = await committed.call(study, study.heartbeat, trial_id, body.lease)
            return {
                "action": told.action,
                "until_epoch": told.until_epoch,
                "checkpoint_wanted": False,
            }

        @app.post("/api/studies/{name}/trials/{trial_id}/fail", tags=["trials"],
                  responses=refusals(404, 409, 410, 413, 503))  # fmt: skip
        async def fail(name: StudyName, trial_id: TrialId, body: FailIn) -> dict[str, Any]:
            """The trial cannot be trained (an exception, a bad state): it fails with the reason."""
            study = service.served(name)
            await committed.call(study, study.fail, trial_id, body.lease, body.reason)
            waiters.notify(name)
            return {"trial_id": trial_id, "status": "failed"}

        @app.put("/api/studies/{name}/trials/{trial_id}/checkpoint", tags=["trials"],
                 responses=refusals(400, 404, 409, 410, 413, 503),
                 openapi_extra={"requestBody": CHECKPOINT_BODY})  # fmt: skip
        async def put_checkpoint(
            name: StudyName,
            trial_id: TrialId,
            lease: Annotated[str, Query(max_length=64)],
            epoch: Annotated[int, Query(ge=1, le=MAX_EPOCH)],
            request: Request,
        ) -> dict[str, Any]:
            """Keep the trial's state after ``epoch`` epochs (an opaque body): a paused trial
            resumes from it on any client."""
            study = service.served(name)
            blob = await request.body()
            if not blob:
                raise ServiceError("the checkpoint is empty; send the trial's state as the body")
            study = service.served(name)  # again: it may have been rebuilt while the body came
            await committed.call(study, study.put_checkpoint, trial_id, lease, epoch, blob)
            waiters.notify(name)
            return {"trial_id": trial_id, "epoch": epoch, "bytes": len(blob)}

        @app.get("/api/studies/{name}/trials/{trial_id}/checkpoint", tags=["trials"],
                 response_class=Response,
                 responses={200: {"description": "the state, as it was uploaded",
                                  "content": {"application/octet-stream": BINARY},
                                  "headers": {"X-HPO-Epoch": {"schema": {"type": "integer"}}}},
                            **refusals(404, 409, 410)})  # fmt: skip
        async def get_checkpoint(name: StudyName, trial_id: TrialId) -> Response:
            """The trial's latest state; header ``X-HPO-Epoch`` says after which epoch."""
            epoch, blob = service.served(name).checkpoint(trial_id)
            return Response(blob, media_type="application/octet-stream",
                            headers={"X-HPO-Epoch": str(epoch)})  # fmt: skip

    # -- reading ------------------------------------------------------------------------------------

    @app.get("/api/studies", tags=["studies"], responses=refusals())
    def list_studies() -> list[dict[str, Any]]:
        """Every study of the database, newest last."""
        with StudyReader(storage) as reader:
            frame = reader.studies()
        return _records(frame)

    @app.get("/api/studies/{name}", tags=["studies"], responses=refusals(404))
    async def get_study(name: AnyStudyName) -> dict[str, Any]:
        """Status counts, the plan, and the best trial so far."""
        if service is not None and name in service.studies:
            return service.studies[name].summary()
        run = service.managed.get(name) if service is not None else None
        return await run_in_threadpool(study_info, storage, name, run)

    @app.get("/api/studies/{name}/trials", tags=["studies"], responses=refusals(404))
    def trials(name: AnyStudyName) -> list[dict[str, Any]]:
        """One row per trial: status, bracket, rung, epochs, values, configuration."""
        with StudyReader(storage) as reader:
            return _records(reader.trials(name))

    @app.get("/api/studies/{name}/best", tags=["studies"], responses=refusals(404))
    def best(name: AnyStudyName) -> dict[str, Any]:
        """The best trial: its value, epochs and configuration."""
        with StudyReader(storage) as reader:
            return reader.best(name)

    @app.get("/api/studies/{name}/export", tags=["studies"], response_class=Response,
             responses={200: {"description": "every epoch, one row each",
                              "content": {"text/csv": {"schema": {"type": "string"}},
                                          "application/vnd.apache.parquet": BINARY}},
                        **refusals(404)})  # fmt: skip
    def export(
        name: AnyStudyName, format: Annotated[str, Query(pattern="^(csv|parquet)$")] = "csv"
    ) -> Response:
        """Every epoch with its trial's configuration, as CSV or Parquet."""
        with StudyReader(storage) as reader:
            frame = reader.export_frame(name)
        buffer = io.BytesIO()
        if format == "csv":
            frame.to_csv(buffer, index=False)
            kind = "text/csv"
        else:
            frame.to_parquet(buffer, index=False)
            kind = "application/vnd.apache.parquet"
        disposition = f'attachment; filename="export.{format}"'
        return Response(buffer.getvalue(), media_type=kind,
                        headers={"Content-Disposition": disposition})  # fmt: skip

    app.include_router(dashboard_router(data), responses=refusals(404))
    return app


async def _expire_forever(
    service: Service, waiters: _Waiters, committed: _GroupCommit, every: float
) -> None:
    """Leases run out even when nobody asks: check them a few times a second, and commit
    what that changed with the requests of the same turn."""
    while True:
        await asyncio.sleep(every)
        try:
            for name in service.expire():
                await committed(service.studies[name])
                waiters.notify(name)
        except Exception:  # keep the loop alive; the failure is in the server's log
            log.exception("expiring leases failed")


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


def _settings(body: StudyIn) -> SearchSettings:
    if isinstance(body.space, str):
        doc = parse_yaml(body.space, "space")
        if isinstance(doc, dict) and "space" not in doc:
            doc = {"space": doc}
    else:
        doc = {"space": body.space}
    if not isinstance(doc, dict):
        raise SettingsError("space: expected a mapping of hyperparameters")
    doc = {**doc, **body.settings, "name": body.name}
    return SearchSettings.from_document(doc, source="study")


def _records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN becomes null)."""
    import json

    return json.loads(frame.to_json(orient="records"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hpo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


# -- errors: one JSON sentence, never a stack trace ---------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(StudyNotFound)
    async def not_found(request: Request, exc: StudyNotFound) -> JSONResponse:
        # The store's message names the database file and the other studies: not for clients.
        return _error(404, str(exc).split(" in /")[0].split("; studies here")[0])

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(SettingsError)
    @app.exception_handler(SpaceError)
    async def bad_settings(request: Request, exc: ValueError) -> JSONResponse:
        return _error(422, " ".join(str(exc).split()))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _one_sentence(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.scope.get("hpo.too_large"):  # a chunked body ran over while it was parsed
            return _error(413, request.scope["hpo.too_large"])
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first route's methods; list them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(app, request.scope))}
            message = f"Method Not Allowed: {request.method}; this path takes {headers['Allow']}"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            return _error(422, "the body is not valid JSON (it is not UTF-8 text)")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path!r}; the API is described at /docs"
        return _error(exc.status_code, message, headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")


def _allowed(app: FastAPI, scope: dict) -> list[str]:
    """The methods of every route at this path, in a fixed order."""
    methods: set[str] = set()
    for route in app.router.routes:
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


# -- a guard in front of everything: the token and the size of bodies ------------------------------


class _TooLarge(Exception):
    pass


class _Guard:
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
    import json

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
