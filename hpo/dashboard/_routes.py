"""The dashboard's routes on the service's ASGI application: pages, scripts, and the data
the pages poll. All read-only; each request opens its own read connection."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpo.dashboard import (
    DashboardData,
    Importance,
    page_js,
    plotly_js,
    render_index,
    render_page,
    study_url,
    to_json,
)
from hpo.store import StudyNotFound

# Cursors and ids are SQLite INTEGERs: a larger number is refused (422), not an OverflowError.
SQL_INT_MAX = 2**63 - 1

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:",
}


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def _json(payload: object) -> Response:
    return Response(
        to_json(payload), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


def dashboard_router(data: DashboardData) -> APIRouter:
    """Pages under ``/`` and ``/studies/{name}``, their data under ``/api/studies/{name}``."""
    router = APIRouter()
    importance = Importance(data)

    @router.get("/", include_in_schema=False)
    def index(study: str | None = None) -> Response:
        if study:  # the address older versions printed
            return RedirectResponse(study_url(study))
        return _html(render_index(data.studies()))

    @router.get("/studies/{name}", include_in_schema=False)
    def study_page(name: str) -> Response:
        data.study(name)  # 404 for an unknown study
        return _html(render_page(name))

    @router.get("/studies/{name}/trials/{trial_id}", include_in_schema=False)
    def trial_page(name: str, trial_id: int) -> Response:
        data.study(name)
        return _html(render_page(name, trial=str(trial_id)))

    @router.get("/compare/{name}", include_in_schema=False)
    def compare_page(name: str) -> Response:
        if data.comparison(name) is None:
            raise StudyNotFound(f"no comparison named {name!r}")
        return _html(render_page(compare=name))

    @router.get("/static/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return Response(
            plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400", **SECURITY_HEADERS},
        )

    @router.get("/static/page.js", include_in_schema=False)
    def page() -> Response:
        return Response(
            page_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "no-store", **SECURITY_HEADERS},
        )

    @router.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @router.get("/api/studies/{name}/delta", tags=["dashboard"])
    def delta(
        name: str,
        epochs: int = Query(0, ge=0, le=SQL_INT_MAX),
        events: int = Query(0, ge=0, le=SQL_INT_MAX),
        trials: float = Query(0.0, ge=0, allow_inf_nan=False),
    ) -> Response:
        """What is new since three cursors: epochs and events by row, trials by time."""
        return _json(data.delta(name, epochs, events, trials))

    @router.get("/api/studies/{name}/trials/{trial_id}", tags=["dashboard"])
    def trial(name: str, trial_id: int = Path(ge=0, le=SQL_INT_MAX)) -> Response:
        """One trial in full: every metric of every epoch, its events, its configuration."""
        return _json(data.trial(name, trial_id))

    @router.get("/api/studies/{name}/importance", tags=["dashboard"])
    def importance_of(name: str) -> Response:
        """Hyperparameter importance (PED-ANOVA) over the trials' best values."""
        return _json(importance(name))

    @router.get("/api/studies/{name}/report", tags=["dashboard"])
    def report(name: str) -> Response:
        """The best-model report saved by ``hpo report``, or null."""
        data.study(name)
        return _json(data.report(name))

    @router.get("/api/comparisons/{name}", tags=["dashboard"])
    def comparison(name: str) -> Response:
        """A comparison saved by ``hpo compare``."""
        found = data.comparison(name)
        if found is None:
            raise StudyNotFound(f"no comparison named {name!r}")
        return _json(found)

    return router
