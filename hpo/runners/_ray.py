"""The Ray runner: long-lived worker actors that train many trials each.

* Local Ray is started in this process by default, with one worker per CPU and no Ray
  dashboard, bound to 127.0.0.1; ``address`` joins an existing cluster instead
  (``ray start --head`` on one machine, ``ray start --address …`` on the others).
* The dataset travels once per worker through Ray's object store; every worker uses one
  BLAS thread.
* A worker keeps its last trial warm, so a trial that continues at once (or a promotion
  that lands on the same worker) skips save/restore; any other worker resumes a trial
  from the state saved after its last assignment.
* Elastic: the runner works with the workers the cluster can hold. It starts as many as
  there are free CPUs (saying so when that is fewer than asked, or waiting up to
  ``wait_for_workers`` seconds, visibly), asks for more only where a CPU is free (a node
  that joins or comes back), and a worker that dies or hangs past ``trial_timeout`` is
  dropped; the tuner retries its assignment at once on a live worker, from the trial's
  last saved state.
* On a cluster the user's code travels through Ray's ``runtime_env``: the current folder
  (``working_dir``, within :data:`WORKING_DIR_LIMIT`, without :data:`EXCLUDES`) when the
  trainer's module lives there, else the module's package (``py_modules``); a trainer that
  does not import on a node is one :class:`~hpo.trainer_spec.SettingsError` naming it.
* Each result says which node (its IP) trained it.

The runner (:class:`RayRunner`: assignments, warm workers, lost and hung ones) and what
travels to a cluster (:func:`code_env`) are here; the actor, starting Ray and the pool of
workers in :mod:`hpo.runners._ray_workers`. Ray is imported only in these two modules.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpo.runners._base import Checkpoint, TrialResult
from hpo.runners._ray_workers import _first_line, _plural, _WorkerPool, start_ray
from hpo.trainer_spec import SettingsError
from hpo.types import Suggestion

#: Extra seconds a hung assignment gets (beyond twice its timeout) before its worker is killed.
KILL_GRACE = 5.0
#: Seconds between looks at the cluster's free CPUs while trials train.
POLL = 1.0
#: The most the current folder may weigh to travel as the workers' ``working_dir``.
WORKING_DIR_LIMIT = 100 * 2**20
#: What never travels with the current folder (Ray's gitignore-style patterns).
EXCLUDES = [".venv", "venv", ".git", "results", "__pycache__", "*.pyc", ".pytest_cache",
            ".ruff_cache", ".mypy_cache", "node_modules", "*.db", "*.db-wal", "*.db-shm"]  # fmt: skip


def code_env(trainer: str, working_dir: str | None = None) -> dict[str, Any]:
    """The ``runtime_env`` that carries the trainer's code to every node of a cluster.

    ``working_dir`` when given; else the current folder when the trainer's module lives
    in it; else the module's top-level package when it is neither installed nor in the
    standard library (``py_modules``); else nothing (every node has it installed).
    """
    if working_dir is not None:
        folder = Path(working_dir).resolve()
        if not folder.is_dir():
            raise SettingsError(f"--working-dir {working_dir!r} is not a folder")
        return {"working_dir": str(_checked_size(folder)), "excludes": EXCLUDES}
    top = trainer.partition(":")[0].split(".")[0]
    cwd = Path.cwd().resolve()
    if "" not in sys.path and str(cwd) not in sys.path:
        sys.path.insert(0, str(cwd))  # as import_object does: a module in the current folder
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        found = None
    if found is None or found.origin in (None, "built-in", "frozen"):
        return {}
    origin = Path(found.origin).resolve()
    where = origin.parent if found.submodule_search_locations else origin
    # Installed first: a virtualenv inside the current folder must not make it travel.
    installed = ("site-packages", "dist-packages")
    stdlib = Path(sys.base_prefix).resolve()
    if any(part in installed for part in origin.parts) or origin.is_relative_to(stdlib):
        return {}
    if origin.is_relative_to(cwd):
        return {"working_dir": str(_checked_size(cwd)), "excludes": EXCLUDES}
    return {"py_modules": [str(where)], "excludes": EXCLUDES}


def _checked_size(folder: Path) -> Path:
    """``folder``, if what of it travels (without :data:`EXCLUDES`) fits the limit."""
    import fnmatch

    total = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not any(fnmatch.fnmatch(d, p) for p in EXCLUDES)]
        for f in files:
            if not any(fnmatch.fnmatch(f, p) for p in EXCLUDES):
                try:  # follows a symlink: what it points to is what travels
                    info = os.stat(os.path.join(root, f))
                except OSError:  # a dangling symlink, a file gone or unreadable: skipped
                    continue
                if stat.S_ISREG(info.st_mode):  # not a socket, a FIFO, a device
                    total += info.st_size
        if total > WORKING_DIR_LIMIT:
            raise SettingsError(
                f"{folder} holds over {WORKING_DIR_LIMIT // 2**20} MB besides "
                f"{', '.join(EXCLUDES[:4])}…, too much to ship to every node; give "
                "--working-dir a folder with only the trainer's code"
            )
    return folder


def _lost_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """Ray's errors that mean the worker (or its node) is gone, not that the trial failed."""
    names = ("RayActorError", "WorkerCrashedError", "NodeDiedError", "OutOfMemoryError",
             "ObjectLostError")  # fmt: skip
    return tuple(c for c in (getattr(ray.exceptions, n, None) for n in names) if c is not None)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class RayRunner(_WorkerPool):
    """Runs assignments on up to ``n_workers`` Ray actors, as many as the cluster holds.

    Args:
        spec: a :class:`~hpo.settings.TrainerSpec` (import path and options).
        n_workers: actors wanted (one CPU each); fewer start when fewer CPUs are free, and
            more are asked for as CPUs free up (nodes that join, workers replaced).
        dataset: the loaded dataset, put once in the object store for every worker (so a
            dataset file named by path needs to exist only where the search starts).
        address: a Ray cluster to join (None: local Ray in this process).
        trial_timeout: seconds an assignment may take before its worker is replaced.
        gpus_per_trial: GPUs (or a fraction) each worker actor reserves; 0 trains on CPUs.
        working_dir: the folder to ship to the cluster's nodes (default: see :func:`code_env`).
        wait_for_workers: seconds to wait for ``n_workers`` free CPUs before starting with
            fewer (0: start at once with what is free).
        say: where one-line notices go (fewer workers than asked, waiting, a lost node).
    """

    def __init__(
        self,
        spec: Any,
        n_workers: int,
        *,
        dataset: Any = None,
        address: str | None = None,
        trial_timeout: float | None = None,
        gpus_per_trial: float = 0.0,
        working_dir: str | None = None,
        wait_for_workers: float = 0.0,
        say: Callable[[str], None] = _stderr,
    ) -> None:
        env = code_env(spec.path, working_dir) if address else {}
        self.started_ray = start_ray(n_workers, address, env)  # first: it sets what Ray reads
        import ray

        if gpus_per_trial:
            have = ray.cluster_resources().get("GPU", 0.0)
            if have < gpus_per_trial:
                if self.started_ray:
                    ray.shutdown()
                raise ValueError(
                    f"gpus_per_trial={gpus_per_trial:g} but the Ray cluster has {have:g} GPU(s); "
                    "leave it at 0 to train on CPUs"
                )

        super().__init__(ray, spec, dataset, n_workers, gpus_per_trial, say)
        self.trial_timeout = trial_timeout
        self._running: dict[Any, tuple[int, Suggestion, float | None]] = {}
        self._warm: dict[int, tuple[int, int]] = {}  # worker -> (trial, epochs)
        try:
            self._start(wait_for_workers)
        except BaseException:
            self.close()
            raise

    def _start(self, wait_for_workers: float) -> None:
        """Start what the cluster holds, or wait (visibly) up to ``wait_for_workers`` s."""
        deadline = time.monotonic() + wait_for_workers
        free = self._capacity()
        if free < self.n_workers and wait_for_workers > 0:
            self.say(
                f"cluster has {_plural(free, 'free CPU')} of the {self.n_workers} workers asked; "
                f"waiting up to {wait_for_workers:g} s (--wait-for-workers) for more"
            )
            while free < self.n_workers and time.monotonic() < deadline:
                time.sleep(POLL)
                free = self._capacity()
        if free == 0 and wait_for_workers > 0:
            raise SettingsError(
                f"the Ray cluster has no free CPU after {wait_for_workers:g} s; "
                "start a node (ray start --address …) or stop what holds its CPUs"
            )
        if 0 < free < self.n_workers:
            self.say(
                f"cluster has {_plural(free, 'free CPU')} of the {self.n_workers} workers asked; "
                f"starting with {free}, more as nodes join"
            )
        elif free == 0:
            self.say(
                f"cluster has no free CPU for the {self.n_workers} workers asked; waiting for "
                "a node to join (Ctrl-C stops; --wait-for-workers SECONDS gives up)"
            )
            self._told_waiting = True
        self._grow()
        # Every first worker up (or withdrawn), so that a trainer that does not import on a
        # node fails here, not mid-search.
        while self._starting or not self.workers:
            self._poll(POLL)
        self._searching = True

    # -- the runner protocol ------------------------------------------------------------------------

    @property
    def n_busy(self) -> int:
        # Workers still starting count as busy, as does waiting for the first one to come
        # back: the tuner then waits in :meth:`wait` instead of calling the search stuck.
        return len(self._running) + len(self._starting) + (0 if self.workers else 1)

    def free_workers(self) -> int:
        return len(self._free)

    def is_warm(self, trial_id: int, epochs: int) -> bool:
        return any(w == (trial_id, epochs) for i, w in self._warm.items() if i in self._free)

    def submit(self, suggestion: Suggestion, checkpoint: Checkpoint | None = None) -> None:
        # Prefer the worker that holds this trial warm, then one holding nothing useful.
        warm = [i for i in self._free if self._warm.get(i, (None,))[0] == suggestion.trial_id]
        idle = [i for i in self._free if i not in self._warm]
        index = (warm or idle or self._free)[0]
        self._free.remove(index)
        # The worker stops a slow trial itself between epochs; one stuck inside an epoch
        # is killed from here once well past its time.
        kill_at = time.time() + 2 * self.trial_timeout + KILL_GRACE if self.trial_timeout else None
        ref = self.workers[index].run.remote(suggestion, checkpoint, self.trial_timeout)
        self._running[ref] = (index, suggestion, kill_at)

    def wait(self) -> list[TrialResult]:
        """Results of finished assignments; or nothing, when a new worker came up (the tuner
        then gives it work). Looks at the cluster's capacity every :data:`POLL` s."""
        ray = self._ray
        while True:
            if self._running:
                ready, _ = ray.wait(list(self._running), num_returns=1, timeout=POLL)
            else:
                if not self.workers and not self._told_waiting:
                    self.say("no live worker: waiting for a node with a free CPU (Ctrl-C stops)")
                    self._told_waiting = True
                ready = []
            if ready:
                break
            if self._poll(0.0 if self._running else POLL):
                return []
            hung = self._hung()
            if hung:
                return hung
        results = []
        for ref in ready:
            index, s, _ = self._running.pop(ref)
            try:
                result = ray.get(ref)
            except _lost_errors(ray) as exc:  # the worker, or its node, is gone
                result = TrialResult(s.trial_id, worker=self._names[index],
                                     error=f"worker died: {_first_line(exc)}", lost_worker=True,
                                     node=self.nodes.get(index))  # fmt: skip
                self._lost(index, s.trial_id, exc)
            except ray.exceptions.RayError as exc:  # escaped run() (say, unpicklable): the
                # worker is fine, the trial failed
                self._warm.pop(index, None)
                self._free.append(index)
                result = TrialResult(s.trial_id, worker=self._names[index],
                                     error=_first_line(exc), node=self.nodes.get(index))  # fmt: skip
            else:
                if result.error is None and result.epochs:
                    self._warm[index] = (s.trial_id, result.epochs[-1].epoch)
                else:
                    self._warm.pop(index, None)
                self._free.append(index)
            results.append(result)
        return results

    def _lost(self, index: int, trial_id: int, exc: BaseException) -> None:
        """Drop a dead worker, and with it every worker of its node when the node is gone
        (else the retry would go to one of them and fail again)."""
        node = self.nodes.get(index)
        gone = [index]
        died = getattr(self._ray.exceptions, "NodeDiedError", ())
        if node is not None and (isinstance(exc, died) or not self._node_alive(node)):
            gone += [i for i in self.workers if i != index and self.nodes.get(i) == node]
        for i in gone:
            self._drop(i)
        names = ", ".join(self._names[i] for i in gone)
        what = f"worker {names} on {node or '?'} is gone"
        if len(gone) > 1:
            what = f"node {node} is gone with workers {names}"
        self.say(
            f"{what}; trial {trial_id} goes on from its last saved state, "
            f"{_plural(len(self.workers), 'worker')} live"
        )
        self._poll(0.0)

    def _hung(self) -> list[TrialResult]:
        """Drop workers whose assignment is far past its deadline; report the trials."""
        now, results = time.time(), []
        for ref, (index, s, kill_at) in list(self._running.items()):
            if kill_at is not None and now > kill_at:
                self._running.pop(ref)
                self._ray.kill(self.workers[index], no_restart=True)
                self._drop(index)
                self._poll(0.0)  # its CPU is free again: a replacement is asked for
                results.append(
                    TrialResult(
                        s.trial_id,
                        worker=self._names[index],
                        error="TimeoutError: trial_timeout exceeded, worker killed",
                        node=self.nodes.get(index),
                    )
                )
        return results

    def _drop(self, index: int) -> None:
        """Forget a dead worker; a replacement is asked for where capacity exists."""
        self._warm.pop(index, None)
        actor = self.workers.pop(index, None)
        if index in self._free:
            self._free.remove(index)
        if actor is not None:
            with contextlib.suppress(Exception):  # already gone with its node
                self._ray.kill(actor, no_restart=True)

    def pause(self, trial_id: int) -> None:
        """The paused trial's state is in the study store; its worker may keep it warm."""

    def discard(self, trial_id: int) -> None:
        for index, (t, _) in list(self._warm.items()):
            if t == trial_id:
                del self._warm[index]

    def worker_pids(self) -> list[int]:
        return self._ray.get([w.pid.remote() for w in self.workers.values()])

    def close(self) -> None:
        for actor in [*self.workers.values(), *(a for _, a, _ in self._starting.values())]:
            with contextlib.suppress(Exception):  # its node is gone
                self._ray.kill(actor, no_restart=True)
        self.workers, self._starting = {}, {}
        if self.started_ray:
            self._ray.shutdown()
