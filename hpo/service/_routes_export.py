"""``GET /api/studies/{name}/export``: every epoch of a study with its trial's configuration,
as CSV or Parquet (the rows of ``hpo export``), read from the store."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from hpo.service._schemas import BINARY, AnyStudyName, refusals
from hpo.store import StudyReader


def export_router(storage: str) -> APIRouter:
    router = APIRouter()

    @router.get("/api/studies/{name}/export", tags=["studies"], response_class=Response,
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

    return router


__all__ = ["export_router"]
