"""What the service refuses, typed, and the HTTP status and text each refusal is answered with.

Every error the service answers with a 4xx or 5xx of its own is an
:class:`~hpo.errors.HpoError`, and the client reads its ``public`` text (the message
itself unless the raiser said otherwise: never the server's paths). The errors of the
service (:class:`ServiceError` and its subclasses, raised by
:class:`~hpo.service.ServedStudy`, :class:`~hpo.service.Service` and the routes) carry
their status; the store's and the settings' get theirs here, by type (:func:`status_of`).

No HTTP framework here: the app's handlers (:mod:`hpo.service._handlers`) send what
:func:`status_of` and :func:`public_text` say.
"""

from __future__ import annotations

from hpo.errors import HpoError
from hpo.settings import SettingsError
from hpo.space import SpaceError
from hpo.store import StoreError, StudyNotFound


class ServiceError(HpoError):
    """A request the service refuses; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Gone(ServiceError):
    status = 410


class Invalid(ServiceError):
    status = 422


class ServiceUnavailable(ServiceError):
    """The study database cannot be written (a full disk, a lock held too long)."""

    status = 503


# The status of the other families, found along the error's class hierarchy (a
# StudyNotFound is a StoreError: the nearer class wins).
STATUSES: dict[type[HpoError], int] = {
    StudyNotFound: 404,  # no such study, trial or comparison
    StoreError: 409,  # the study exists, or another search writes it
    SettingsError: 422,  # settings that cannot run; the message names the setting
    SpaceError: 422,  # a malformed search space
}
# Every family answered with its own status (any other error is a 500: a bug).
REFUSED: tuple[type[HpoError], ...] = (ServiceError, *STATUSES)


def status_of(exc: HpoError) -> int:
    """The HTTP status of a refusal of one of the ``REFUSED`` families."""
    if isinstance(exc, ServiceError):
        return exc.status
    for kind in type(exc).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    raise LookupError(f"{type(exc).__name__} is not a refusal the service answers")


def public_text(exc: HpoError) -> str:
    """What the client is told: the error's ``public`` text, on one line."""
    text = exc.public
    if isinstance(exc, (SettingsError, SpaceError)):
        text = " ".join(text.split())  # a YAML error's message may span lines
    return text


__all__ = [
    "REFUSED",
    "STATUSES",
    "Conflict",
    "Gone",
    "Invalid",
    "NotFound",
    "ServiceError",
    "ServiceUnavailable",
    "public_text",
    "status_of",
]
