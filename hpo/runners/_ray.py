"""The Ray runner: long-lived worker actors that train many trials each.

* Local Ray is started in this process by default, with one worker per CPU and no Ray
  dashboard, bound to 127.0.0.1; ``address`` joins an existing cluster instead
  (``ray start --head`` on one machine, ``ray start --address …`` on the others).
* The dataset travels once per worker through Ray's object store; every worker uses one
  BLAS thread.
* A worker keeps its last trial warm, so a trial that continues at once (or a promotion
  that lands on the same worker) skips save/restore; any other worker resumes a trial
  from the state saved after its last assignment.
* A worker that dies or hangs past ``trial_timeout`` is replaced; the tuner retries its
  assignment from the trial's last saved state.

Ray is imported only here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hpo.runners._base import Checkpoint, TrialResult, WarmTrainers, run_assignment
from hpo.types import Suggestion

#: Extra seconds a hung assignment gets (beyond twice its timeout) before its worker is killed.
KILL_GRACE = 5.0


class _Worker:
    """A Ray actor: builds trainers from a spec and trains assignments."""

    def __init__(self, spec: Any, dataset: Any, name: str) -> None:
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            pass
        self.name = name
        self.resource = getattr(spec, "resource", "epochs")
        self.warm = WarmTrainers(lambda: spec.build(dataset), capacity=1)
        spec.load_class()  # import the trainer's module now, not during the first trial

    def run(
        self, s: Suggestion, checkpoint: Checkpoint | None, timeout: float | None
    ) -> TrialResult:
        deadline = time.time() + timeout if timeout else None  # from when this worker starts
        return run_assignment(self.warm, s, checkpoint, self.name, deadline=deadline,
                              resource=self.resource)  # fmt: skip

    def pid(self) -> int:
        return os.getpid()


def start_ray(n_workers: int, address: str | None = None) -> bool:
    """Start local Ray (loopback only, no dashboard) or join ``address``; True if started here."""
    import logging

    # Ray reads these when it is imported and initialised, so they are set first.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        # A cluster from `ray start --head` uses token authentication (Ray >= 2.5x), with
        # the token in ~/.ray/auth_token. address="auto" turns token mode on by itself; an
        # explicit "127.0.0.1:6379" does not, and the head then refuses the connection.
        if (Path.home() / ".ray" / "auth_token").exists():
            os.environ.setdefault("RAY_AUTH_MODE", "token")
        if _is_loopback(address):  # a head on 127.0.0.1: this driver must use loopback too
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    else:
        # Without this, Ray binds the machine's interface address; with it, 127.0.0.1.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    else:
        ray.init(
            num_cpus=n_workers,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    return True


def _is_loopback(address: str) -> bool:
    """Whether ``address`` (or, for "auto", the latest local cluster) is on 127.0.0.1."""
    if address == "auto":
        current = Path("/tmp/ray/ray_current_cluster")  # where `ray start` notes its address
        address = current.read_text().strip() if current.exists() else ""
    host = address.removeprefix("ray://").rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost")


class RayRunner:
    """Runs assignments on ``n_workers`` Ray actors.

    Args:
        spec: a :class:`~hpo.settings.TrainerSpec` (import path and options).
        n_workers: actors to start (one CPU each).
        dataset: the loaded dataset, put once in the object store for every worker.
        address: a Ray cluster to join (None: local Ray in this process).
        trial_timeout: seconds an assignment may take before its worker is replaced.
        gpus_per_trial: GPUs (or a fraction) each worker actor reserves; 0 trains on CPUs.
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
    ) -> None:
        self.started_ray = start_ray(n_workers, address)  # first: it sets what Ray reads on import
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

        self._ray = ray
        self.n_workers = n_workers
        self.trial_timeout = trial_timeout
        self._spec = spec
        self._dataset = ray.put(dataset) if dataset is not None else None
        # A worker holds its share of a GPU for its whole life (PyTorch trainers use it).
        self._actor_cls = ray.remote(num_cpus=1, num_gpus=gpus_per_trial, max_restarts=0)(_Worker)
        self._generation = 0
        self.workers = [self._new_worker(i) for i in range(n_workers)]
        self._free = list(range(n_workers))
        self._running: dict[Any, tuple[int, Suggestion, float | None]] = {}
        self._warm: dict[int, tuple[int, int]] = {}  # worker -> (trial, epochs)
        ray.get([w.pid.remote() for w in self.workers])  # fail here, not mid-search

    def _new_worker(self, index: int) -> Any:
        self._generation += 1
        name = f"w{index}" if self._generation <= self.n_workers else f"w{index}.{self._generation}"
        return self._actor_cls.remote(self._spec, self._dataset, name)

    @property
    def n_busy(self) -> int:
        return len(self._running)

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
        # is killed from here once well past its time (a new actor may first need to start).
        kill_at = time.time() + 2 * self.trial_timeout + KILL_GRACE if self.trial_timeout else None
        ref = self.workers[index].run.remote(suggestion, checkpoint, self.trial_timeout)
        self._running[ref] = (index, suggestion, kill_at)

    def wait(self) -> list[TrialResult]:
        ray = self._ray
        timeout = 1.0 if self.trial_timeout else None
        while True:
            ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
            if ready:
                break
            hung = self._hung()
            if hung:
                return hung
        results = []
        for ref in ready:
            index, s, _ = self._running.pop(ref)
            try:
                result = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
                self._replace(index)
                cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                result = TrialResult(
                    s.trial_id, worker=f"w{index}", error=f"worker died: {cause}", lost_worker=True
                )
            else:
                if result.error is None and result.epochs:
                    self._warm[index] = (s.trial_id, result.epochs[-1].epoch)
                else:
                    self._warm.pop(index, None)
            self._free.append(index)
            results.append(result)
        return results

    def _hung(self) -> list[TrialResult]:
        """Replace workers whose assignment is far past its deadline; report the trials."""
        now, results = time.time(), []
        for ref, (index, s, kill_at) in list(self._running.items()):
            if kill_at is not None and now > kill_at:
                self._running.pop(ref)
                self._ray.kill(self.workers[index], no_restart=True)
                self._replace(index)
                self._free.append(index)
                results.append(
                    TrialResult(
                        s.trial_id,
                        worker=f"w{index}",
                        error="TimeoutError: trial_timeout exceeded, worker killed",
                    )
                )
        return results

    def _replace(self, index: int) -> None:
        self._warm.pop(index, None)
        self.workers[index] = self._new_worker(index)

    def pause(self, trial_id: int) -> None:
        """The paused trial's state is in the study store; its worker may keep it warm."""

    def discard(self, trial_id: int) -> None:
        for index, (t, _) in list(self._warm.items()):
            if t == trial_id:
                del self._warm[index]

    def worker_pids(self) -> list[int]:
        return self._ray.get([w.pid.remote() for w in self.workers])

    def close(self) -> None:
        for w in self.workers:
            self._ray.kill(w, no_restart=True)
        self.workers = []
        if self.started_ray:
            self._ray.shutdown()
