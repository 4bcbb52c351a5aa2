"""Group commit, and the requests that wait for a study to change.

The handlers that change a study do so in memory, on the event loop, one at a time; then
they await :class:`GroupCommit`, which writes the changes of every request of that turn
of the loop in one transaction per study (:meth:`Service.commit
<hpo.service.Service.commit>`) before any of them is answered. A suggest request that
finds no work waits on :class:`Waiters` until its study changes. :func:`expire_forever`,
the app's background task, expires the leases nobody asks about and commits likewise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hpo.service._errors import ServiceUnavailable
from hpo.service._service import Service

log = logging.getLogger("hpo.service")


class GroupCommit:
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


class Waiters:
    """Suggest requests that wait for work, woken when their study changes."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    def notify(self, name: str) -> None:
        event = self._events.pop(name, None)
        if event is not None:
            event.set()


async def expire_forever(
    service: Service, waiters: Waiters, committed: GroupCommit, every: float
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


__all__ = ["GroupCommit", "Waiters", "expire_forever"]
