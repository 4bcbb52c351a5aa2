"""The routes a client calls in its loop: ask for work, report epochs, keep its lease, fail,
and keep or fetch a trial's checkpoint.

* ``POST /api/studies/{name}/suggest``: 200 an assignment (a trial and its lease), 204
  nothing now (``Retry-After``; with ``wait``, after waiting for the study to change),
  410 the study is over;
* ``POST …/trials/{id}/measurements``: ``continue``, ``pause`` or ``stop``;
  ``…/heartbeat``, ``…/fail``; ``PUT``/``GET …/checkpoint``: an opaque blob.

These handlers change their study in memory without awaiting, then await the group
commit (:class:`~hpo.service._commit.GroupCommit`): they run one at a time on the event
loop, which keeps a study's scheduler consistent without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from hpo.service._commit import GroupCommit, Waiters
from hpo.service._errors import ServiceError
from hpo.service._schemas import (
    BINARY,
    CHECKPOINT_BODY,
    MAX_EPOCH,
    AssignmentOut,
    FailIn,
    LeaseIn,
    MeasurementIn,
    StudyName,
    SuggestIn,
    ToldOut,
    TrialId,
    refusals,
)
from hpo.service._service import Service

WRITE_REFUSALS = (404, 409, 410, 413, 503)


def trials_router(service: Service, committed: GroupCommit, waiters: Waiters) -> APIRouter:
    """The ask/tell loop of clients over the studies ``service`` serves."""
    router = APIRouter()

    @router.post(
        "/api/studies/{name}/suggest",
        tags=["trials"],
        response_model=AssignmentOut,
        responses={204: {"description": "nothing to run now; ask again after Retry-After",
                         "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                   **refusals(*WRITE_REFUSALS)},
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

    @router.post("/api/studies/{name}/trials/{trial_id}/measurements", tags=["trials"],
                 response_model=ToldOut, responses=refusals(*WRITE_REFUSALS))  # fmt: skip
    async def measure(name: StudyName, trial_id: TrialId, body: MeasurementIn) -> Any:
        """Report one epoch's metrics; the answer says whether to continue, pause or stop.
        A retried report (same lease and epoch) records once and gets the same answer."""
        metrics = {k: math.nan if v is None else float(v) for k, v in body.metrics.items()}
        study = service.served(name)
        told = await committed.call(study, study.measure, trial_id, body.lease, body.epoch,
                                    metrics, float(body.seconds))  # fmt: skip
        waiters.notify(name)  # a milestone may have freed work (promotions, a filled rung)
        return JSONResponse(told.to_dict())

    @router.post("/api/studies/{name}/trials/{trial_id}/heartbeat", tags=["trials"],
                 response_model=ToldOut, responses=refusals(*WRITE_REFUSALS))  # fmt: skip
    async def heartbeat(name: StudyName, trial_id: TrialId, body: LeaseIn) -> Any:
        """Renew a lease during a long epoch."""
        study = service.served(name)
        told = await committed.call(study, study.heartbeat, trial_id, body.lease)
        return told.to_dict()

    @router.post("/api/studies/{name}/trials/{trial_id}/fail", tags=["trials"],
                 responses=refusals(*WRITE_REFUSALS))  # fmt: skip
    async def fail(name: StudyName, trial_id: TrialId, body: FailIn) -> dict[str, Any]:
        """The trial cannot be trained (an exception, a bad state): it fails with the reason."""
        study = service.served(name)
        await committed.call(study, study.fail, trial_id, body.lease, body.reason)
        waiters.notify(name)
        return {"trial_id": trial_id, "status": "failed"}

    @router.put("/api/studies/{name}/trials/{trial_id}/checkpoint", tags=["trials"],
                responses=refusals(400, *WRITE_REFUSALS),
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

    @router.get("/api/studies/{name}/trials/{trial_id}/checkpoint", tags=["trials"],
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

    return router


__all__ = ["trials_router"]
