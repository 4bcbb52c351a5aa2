"""The search as a service: one server for many studies and clients.

``hpo serve`` runs :func:`create_app` under uvicorn. The server owns the study store and
holds the scheduler of every open study; clients on any machine, in any language, ask it
for work and report learning-curve points (:mod:`hpo.client` in Python, or plain HTTP);
managed searches run on its own Ray workers; the dashboard is served beside the API.
"""

from hpo.service._app import create_app
from hpo.service._errors import Conflict, Gone, Invalid, NotFound, ServiceError
from hpo.service._leases import Assignment, Told
from hpo.service._server import (
    TLSFiles,
    is_loopback,
    load_or_create_token,
    serving_in_thread,
    token_path,
)
from hpo.service._service import Service
from hpo.service._study import ServedStudy

__all__ = [
    "Assignment",
    "Conflict",
    "Gone",
    "Invalid",
    "NotFound",
    "ServedStudy",
    "Service",
    "ServiceError",
    "TLSFiles",
    "Told",
    "create_app",
    "is_loopback",
    "load_or_create_token",
    "serving_in_thread",
    "token_path",
]
