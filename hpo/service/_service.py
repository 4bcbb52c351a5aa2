"""The service: every open study of one database, served to clients or run on Ray.

* Studies driven by *clients* (``driver = clients``) live here as
  :class:`~hpo.service._study.ServedStudy` objects: their schedulers in memory, their
  record in the store (each writes its own, through its tuner's
  :class:`~hpo.store.StudyWriter`, with the leases beside the tape).
* *Managed* searches (``hpo submit``) run the ordinary tuner with the Ray (or serial)
  runner in a thread of the server, so they outlive the terminal that submitted them;
  the tuner writes their record, as in ``hpo run``.
* Studies of ``hpo run`` are read, never written.

On start, the service reopens what was running: client-driven studies replay their tape
and take back their leases; managed searches resume like ``hpo resume``.

The methods that change a served study are called from one thread (the server's event
loop), so they need no locks; managed searches write through their own connections.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo.service._study import Conflict, Gone, NotFound, ServedStudy
from hpo.settings import SearchSettings, SettingsError
from hpo.store import StoreError, StudyReader, StudyWriter, as_stored, create_database
from hpo.tuner import Tuner

log = logging.getLogger("hpo.service")

CLIENTS, MANAGED, CLI = "clients", "managed", "cli"


@dataclass
class ManagedRun:
    """A search the server runs itself, in a thread."""

    name: str
    settings: SearchSettings
    thread: threading.Thread | None = None
    tuner: Tuner | None = None
    error: str | None = None
    started: threading.Event = field(default_factory=threading.Event)

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def comparable(settings: dict[str, Any]) -> Any:
    """Settings as they read back from the store (JSON: tuples become lists)."""
    return as_stored(settings)


class Service:
    """Many studies of one database, for many clients.

    Args:
        storage: the study database (created if missing).
        clock: seconds since the epoch (injected for tests).
    """

    def __init__(
        self,
        storage: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        autocommit: bool = True,
    ) -> None:
        self.storage = create_database(storage)  # the database and its schema, now
        self.clock = clock
        self.autocommit = autocommit  # False: the caller commits (see ServedStudy)
        self.studies: dict[str, ServedStudy] = {}
        self.managed: dict[str, ManagedRun] = {}

    # -- start and stop ---------------------------------------------------------------------------

    def open(self) -> None:
        """Take back what was running when the server last stopped."""
        with StudyReader(self.storage) as reader:
            rows = reader.unfinished((CLIENTS, MANAGED))
        for row in rows:
            try:
                settings = SearchSettings.from_dict(row["settings"])
                if row["driver"] == CLIENTS:
                    self.studies[row["name"]] = self._reopen(row["name"], settings)
                else:
                    self._start_managed(row["name"], settings, resume=True)
            except (SettingsError, StoreError, ValueError, RuntimeError, sqlite3.Error) as exc:
                # One study that cannot be rebuilt (its log does not replay, say) must not
                # keep the others from being served.
                log.error("cannot reopen study %r: %s", row["name"], exc)

    def _reopen(self, name: str, settings: SearchSettings) -> ServedStudy:
        writer = StudyWriter(self.storage, name)
        try:
            writer.open_existing()
            return ServedStudy.reopen(
                settings, writer, clock=self.clock, autocommit=self.autocommit
            )
        except BaseException:
            writer.close()
            raise

    def stop_managed(self) -> None:
        """Stop managed searches once their trials in flight report (marked interrupted:
        they resume on the next start). Blocks; call it off the event loop."""
        for run in self.managed.values():
            if run.tuner is not None and run.alive:
                run.tuner.stop("interrupted")
        for run in self.managed.values():
            if run.thread is not None:
                run.thread.join(timeout=60)

    def close(self) -> None:
        """Close every served study's writer (from the thread that opened them)."""
        for study in self.studies.values():
            study.close()
        self.studies.clear()

    # -- studies -------------------------------------------------------------------------------------

    def create(self, name: str, settings: SearchSettings, *, managed: bool = False) -> bool:
        """Create study ``name``; True if new, False if it exists with equal settings.

        Raises :class:`Conflict` when a study of that name exists with other settings.
        A managed study's trainer must already have been checked (``check_trainer``).
        """
        driver = MANAGED if managed else CLIENTS
        wanted = comparable(settings.to_dict())
        existing = self.stored(name)
        if existing is not None or name in self.managed:
            have_settings, have_driver = (
                existing
                if existing is not None
                else (comparable(self.managed[name].settings.to_dict()), MANAGED)
            )
            if have_settings != wanted or have_driver != driver:
                differ = (
                    _first_difference(have_settings, wanted) if have_driver == driver else "driver"
                )
                raise Conflict(
                    f"study {name!r} exists with other settings ({differ} differs); "
                    "choose another name or send the same settings"
                )
            return False
        if managed:
            self._start_managed(name, settings, resume=False)
            return True
        writer = StudyWriter(self.storage, name)
        try:
            writer.create(settings.to_dict(), metric=settings.metric, mode=settings.mode,
                          scheduler=settings.scheduler, driver=CLIENTS)  # fmt: skip
            study = ServedStudy(settings, writer, clock=self.clock, autocommit=self.autocommit)
            study.tuner.flush()  # the new study is on disk before anyone is told it exists
        except BaseException:
            writer.close()
            raise
        self.studies[name] = study
        return True

    def served(self, name: str) -> ServedStudy:
        """The client-driven study ``name`` (NotFound, or Conflict if others run it)."""
        study = self.studies.get(name)
        if study is not None:
            return study
        stored = self.stored(name)
        if stored is None and name not in self.managed:
            raise NotFound(f"no study named {name!r}")
        driver = MANAGED if name in self.managed else stored[1] if stored else CLI
        if driver == MANAGED:
            raise Conflict(
                f"study {name!r} is run by the server's own workers (hpo submit); clients cannot train it"
            )
        if driver == CLIENTS:
            raise Gone(f"study {name!r} is over; it takes no more work")
        raise Conflict(f"study {name!r} is run by `hpo run`; only its records can be read here")

    def stop(self, name: str) -> None:
        if name in self.studies:
            self.studies[name].stop()
            return
        run = self.managed.get(name)
        if run is not None:
            if run.tuner is not None and run.alive:
                run.tuner.stop("stopped")
            return
        if self.stored(name) is None:
            raise NotFound(f"no study named {name!r}")
        raise Conflict(f"study {name!r} is not run by this server; stop its `hpo run` with Ctrl-C")

    def commit(self, studies: Iterable[ServedStudy] | None = None) -> None:
        """Write what the studies buffered (all of them by default), one transaction each.

        If a write fails (a full disk, say), the study is rebuilt from what is on disk,
        so that its scheduler never runs ahead of its record; the error goes on up.
        """
        failed: Exception | None = None
        for study in list(self.studies.values()) if studies is None else list(studies):
            if self.studies.get(study.name) is not study:  # rebuilt since it changed
                failed = StoreError(f"study {study.name!r} was rebuilt from its record")
                continue
            try:
                study.writer.commit()
            except Exception as exc:
                failed = exc
                self.reload(study.name)
        if failed is not None:
            raise failed

    def reload(self, name: str) -> None:
        """Forget a served study's memory and rebuild it from the store (its tape); if even
        that fails, the study is no longer served (until the server restarts)."""
        study = self.studies.pop(name)
        try:
            study.writer.close()
        except Exception:  # its connection may be what failed
            log.exception("closing study %r failed", name)
        try:
            self.studies[name] = self._reopen(name, study.settings)
        except Exception:
            log.exception("cannot rebuild study %r from its record", name)

    def expire(self) -> list[str]:
        """Expire due leases in every served study; the names of studies that changed."""
        return [name for name, study in list(self.studies.items()) if study.expire()]

    # -- managed searches ---------------------------------------------------------------------------

    def _start_managed(self, name: str, settings: SearchSettings, *, resume: bool) -> ManagedRun:
        from hpo.launch import run_study

        run = ManagedRun(name, settings)

        def keep(tuner: Tuner) -> None:
            run.tuner = tuner
            run.started.set()

        def target() -> None:
            try:
                run_study(
                    settings, self.storage, name, resume=resume, on_tuner=keep, driver=MANAGED
                )
            except Exception as exc:  # recorded for `hpo status`; the server goes on
                run.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.exception("managed study %r failed", name)
            finally:
                run.started.set()

        run.thread = threading.Thread(target=target, name=f"hpo-managed-{name}", daemon=True)
        self.managed[name] = run
        run.thread.start()
        return run

    # -- helpers -----------------------------------------------------------------------------------

    def stored(self, name: str) -> tuple[Any, str] | None:
        """(settings, driver) of a study in the database, or None."""
        with StudyReader(self.storage) as reader:
            found = reader.find(name)
        if found is None:
            return None
        return found["settings"], found.get("driver") or CLI


def _first_difference(have: dict[str, Any], want: dict[str, Any]) -> str:
    for key in sorted(set(have) | set(want)):
        if have.get(key) != want.get(key):
            return key
    return "nothing"


def study_info(storage: str | Path, name: str, run: ManagedRun | None = None) -> dict[str, Any]:
    """What ``GET /api/studies/{name}`` says of a study read from the store."""
    with StudyReader(storage) as reader:
        study = reader.study(name)
        trials = reader.trials(name)
        best = reader.best(name) if study["best_trial"] is not None else None
    plan: list[str] = []
    pauses = True
    try:
        from hpo.launch import make_plan

        built = SearchSettings.from_dict(study["settings"])
        scheduler = built.build_scheduler()
        plan, pauses = make_plan(built, scheduler).lines(), scheduler.pauses_trials
    except (SettingsError, ValueError, TypeError):
        pass
    status = "failed" if run is not None and run.error else study["status"]
    return {
        "name": name,
        "status": status,
        "driver": study.get("driver") or CLI,
        "scheduler": study["scheduler"],
        "pauses_trials": pauses,
        "resource": study["settings"].get("resource", "epochs"),
        "metric": study["metric"],
        "mode": study["mode"],
        "trials": {k: int(v) for k, v in trials["status"].value_counts().items()},
        "n_trials": len(trials),
        "leases": 0,
        "epochs_spent": study["epochs_spent"],
        "planned_budget": study["planned_budget"],
        "plan": plan,
        "best": best,
        "error": run.error if run is not None else None,
    }
