"""The routes of studies: create and stop (:func:`study_writes`, on a server that takes
work), list, describe, and read their trials and best trial (:func:`study_reads`).

A study served to clients is described from its scheduler in memory
(:func:`served_summary`); any other (managed, or of ``hpo run``) from the store
(:func:`~hpo.service._service.study_info`): the same fields either way.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from hpo.service._commit import GroupCommit, Waiters
from hpo.service._errors import ServiceError
from hpo.service._leases import TRAINING
from hpo.service._schemas import AnyStudyName, StopIn, StudyIn, refusals
from hpo.service._service import Service, study_info
from hpo.service._study import ServedStudy
from hpo.settings import SearchSettings, SettingsError
from hpo.space import parse_yaml
from hpo.store import StudyReader


def study_writes(
    service: Service, committed: GroupCommit, waiters: Waiters, storage: str
) -> APIRouter:
    """``POST /api/studies`` and ``POST /api/studies/{name}/stop``."""
    router = APIRouter()

    @router.post("/api/studies", tags=["studies"], status_code=201,
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
        return await describe(service, storage, body.name)

    @router.post("/api/studies/{name}/stop", tags=["studies"], responses=refusals(404, 409, 503))
    async def stop(name: AnyStudyName, body: StopIn | None = None) -> dict[str, Any]:
        """Stop a study: no more work is handed out; what is recorded stays."""
        service.stop(name)
        if name in service.studies:
            await committed(service.studies[name])
        waiters.notify(name)
        return await describe(service, storage, name)

    return router


def study_reads(service: Service | None, storage: str) -> APIRouter:
    """``GET /api/studies``, ``…/{name}``, ``…/{name}/trials``, ``…/{name}/best``."""
    router = APIRouter()

    @router.get("/api/studies", tags=["studies"], responses=refusals())
    def list_studies() -> list[dict[str, Any]]:
        """Every study of the database, newest last."""
        with StudyReader(storage) as reader:
            frame = reader.studies()
        return _records(frame)

    @router.get("/api/studies/{name}", tags=["studies"], responses=refusals(404))
    async def get_study(name: AnyStudyName) -> dict[str, Any]:
        """Status counts, the plan, and the best trial so far."""
        return await describe(service, storage, name)

    @router.get("/api/studies/{name}/trials", tags=["studies"], responses=refusals(404))
    def trials(name: AnyStudyName) -> list[dict[str, Any]]:
        """One row per trial: status, bracket, rung, epochs, values, configuration."""
        with StudyReader(storage) as reader:
            return _records(reader.trials(name))

    @router.get("/api/studies/{name}/best", tags=["studies"], responses=refusals(404))
    def best(name: AnyStudyName) -> dict[str, Any]:
        """The best trial: its value, epochs and configuration."""
        with StudyReader(storage) as reader:
            return reader.best(name)

    return router


async def describe(service: Service | None, storage: str, name: str) -> dict[str, Any]:
    """What ``GET /api/studies/{name}`` answers (the store is read off the event loop)."""
    if service is not None and name in service.studies:
        return served_summary(service.studies[name])
    run = service.managed.get(name) if service is not None else None
    return await run_in_threadpool(study_info, storage, name, run)


def served_summary(study: ServedStudy) -> dict[str, Any]:
    """A study served to clients, from its scheduler and leases in memory."""
    counts: dict[str, int] = {}
    for t in study.scheduler.trials.values():
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    s = study.scheduler
    best = None
    if s.best_trial is not None:
        t = s.trials[s.best_trial]
        best = {"trial_id": t.trial_id, "value": s.best_value, "epochs": t.epochs,
                "config": dict(t.config)}  # fmt: skip
    return {
        "name": study.name,
        "status": study.status,
        "driver": "clients",
        "scheduler": study.settings.scheduler,
        "pauses_trials": s.pauses_trials,
        "resource": study.settings.resource,
        "metric": study.settings.metric,
        "mode": study.settings.mode,
        "trials": counts,
        "n_trials": len(s.trials),
        "leases": sum(lease.state == TRAINING for lease in study.leases.values()),
        "epochs_spent": s.epochs_spent,
        "planned_budget": s.planned_budget(),
        "plan": study.plan.lines(),
        "best": best,
    }


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
    return json.loads(frame.to_json(orient="records"))


__all__ = ["describe", "served_summary", "study_reads", "study_writes"]
