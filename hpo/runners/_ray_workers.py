"""The Ray runner's workers: starting or joining Ray, the worker actor, and the pool of them.

:func:`start_ray` starts local Ray (loopback, no dashboard) or joins a cluster;
:class:`_Worker` is the actor that builds trainers and trains assignments, one at a time;
:class:`_WorkerPool` keeps the runner's actors as the cluster allows: how many more fit
(free CPUs, and GPUs if asked), asking for them, their hello, nodes where the trainer does
not import, and workers that die while starting. What the workers train is the runner's
(:class:`~hpo.runners._ray.RayRunner`, a pool).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpo.runners._base import Checkpoint, TrialResult, WarmTrainers, run_assignment
from hpo.trainer_spec import SettingsError
from hpo.types import Suggestion

#: Seconds a new worker may take to start before its request is withdrawn (the free CPU it
#: was asked for went away, say with its node); it is asked for again where capacity exists.
START_TIMEOUT = 60.0
#: Workers in a row that die while starting before it is said (or, before the search, raised).
START_FAILURES = 3


class _Worker:
    """A Ray actor: builds trainers from a spec and trains assignments."""

    def __init__(self, spec: Any, dataset: Any, name: str) -> None:
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            pass
        import ray

        self.name = name
        self.node: str = ray.util.get_node_ip_address()
        self.resource = getattr(spec, "resource", "epochs")
        self.warm = WarmTrainers(lambda: spec.build(dataset), capacity=1)
        self.broken: str | None = None
        try:
            spec.load_class()  # import the trainer's module now, not during the first trial
        except Exception as exc:  # reported by hello(), as one line naming this node
            self.broken = " ".join(str(exc).split()) or type(exc).__name__

    def hello(self) -> tuple[int, str, str | None]:
        """(pid, node, why the trainer does not import here or None): the worker is up."""
        return os.getpid(), self.node, self.broken

    def run(
        self, s: Suggestion, checkpoint: Checkpoint | None, timeout: float | None
    ) -> TrialResult:
        deadline = time.time() + timeout if timeout else None  # from when this worker starts
        result = run_assignment(self.warm, s, checkpoint, self.name, deadline=deadline,
                                resource=self.resource)  # fmt: skip
        result.node = self.node
        return result

    def pid(self) -> int:
        return os.getpid()


def start_ray(
    n_workers: int, address: str | None = None, runtime_env: dict[str, Any] | None = None
) -> bool:
    """Start local Ray (loopback only, no dashboard) or join ``address`` with ``runtime_env``
    (the user's code for the other nodes); True if started here."""
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
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR,
                 runtime_env=runtime_env or None)  # fmt: skip
    else:
        # "local": a Ray of its own, even while a `ray start` cluster runs on this machine
        # (without it, ray.init finds that cluster and refuses num_cpus).
        ray.init(
            address="local",
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _WorkerPool:
    """Up to ``n_workers`` worker actors, as many as the cluster holds (see the module's
    docstring); the runner calls :meth:`_grow` and :meth:`_poll`, and drops dead ones."""

    def __init__(
        self,
        ray: Any,
        spec: Any,
        dataset: Any,
        n_workers: int,
        gpus_per_trial: float,
        say: Callable[[str], None],
    ) -> None:
        self._ray = ray
        self.n_workers = n_workers
        self.gpus_per_trial = gpus_per_trial
        self.say = say
        self._spec = spec
        self._dataset = ray.put(dataset) if dataset is not None else None
        # A worker holds its share of a GPU for its whole life (PyTorch trainers use it).
        self._actor_cls = ray.remote(num_cpus=1, num_gpus=gpus_per_trial, max_restarts=0)(_Worker)
        self.workers: dict[int, Any] = {}  # index -> a live actor (said hello)
        self.nodes: dict[int, str] = {}  # index -> the node it runs on
        self._names: dict[int, str] = {}
        self._used: set[int] = set()  # indices that had a worker (their next one is w1.2, …)
        self._generation = 0
        self._starting: dict[Any, tuple[int, Any, float]] = {}  # hello ref -> index, actor, since
        self._free: list[int] = []
        self._told_waiting = False
        self._searching = False  # set once the first workers are up: then nothing raises
        self._bad_nodes: set[str] = set()  # nodes where the trainer does not import
        self._start_failures = 0  # workers in a row that died while starting

    def _capacity(self) -> int:
        """How many more workers the cluster could place now (free CPUs, and GPUs if asked)."""
        free = dict(self._ray.available_resources())
        if self._bad_nodes:  # their CPUs (taken or not) are no place for a worker
            for node in self._ray.nodes():
                if node.get("Alive") and node.get("NodeManagerAddress") in self._bad_nodes:
                    for key in ("CPU", "GPU"):
                        free[key] = free.get(key, 0.0) - node.get("Resources", {}).get(key, 0.0)
        n = max(0, int(free.get("CPU", 0.0) + 1e-9))
        if self.gpus_per_trial:
            n = min(n, max(0, int(free.get("GPU", 0.0) / self.gpus_per_trial + 1e-9)))
        return n

    def _grow(self) -> None:
        """Ask for workers up to ``n_workers`` where capacity exists (none while some start:
        their CPUs may not show as taken yet)."""
        if self._starting:
            return
        missing = self.n_workers - len(self.workers)
        if missing <= 0:
            return
        for _ in range(min(missing, self._capacity())):
            index = min(set(range(self.n_workers)) - set(self.workers) - self._starting_indices())
            self._generation += 1
            name = f"w{index}" if index not in self._used else f"w{index}.{self._generation}"
            self._used.add(index)
            self._names[index] = name
            actor = self._actor_cls.remote(self._spec, self._dataset, name)
            self._starting[actor.hello.remote()] = (index, actor, time.monotonic())

    def _starting_indices(self) -> set[int]:
        return {index for index, _, _ in self._starting.values()}

    def _poll(self, timeout: float) -> list[int]:
        """Workers that said hello within ``timeout`` s become free; returns their indices.
        Requests that never started are withdrawn; new ones are made where CPUs are free."""
        ray, up = self._ray, []
        if self._starting:
            ready, _ = ray.wait(list(self._starting), num_returns=len(self._starting),
                                timeout=timeout)  # fmt: skip
        else:
            ready = []
            time.sleep(timeout)
        for ref in ready:
            index, actor, _ = self._starting.pop(ref)
            try:
                _, node, broken = ray.get(ref)
            except ray.exceptions.RayError as exc:  # died while starting: ask again
                with contextlib.suppress(Exception):
                    ray.kill(actor, no_restart=True)
                self._start_failed(_first_line(exc))
                continue
            if broken is not None:
                with contextlib.suppress(Exception):  # it holds a CPU and would train nothing
                    ray.kill(actor, no_restart=True)
                self._bad_node(node, broken)
                continue
            self._start_failures = 0
            self.workers[index], self.nodes[index] = actor, node
            self._free.append(index)
            up.append(index)
        now = time.monotonic()
        for ref, (_, actor, since) in list(self._starting.items()):
            if now - since > START_TIMEOUT:
                del self._starting[ref]
                ray.kill(actor, no_restart=True)
        self._grow()
        if up and self._told_waiting:
            self.say(f"{_plural(len(self.workers), 'worker')} live; going on")
            self._told_waiting = False
        return up

    def _start_failed(self, cause: str) -> None:
        """A worker died while starting (its runtime_env, say): after
        :data:`START_FAILURES` in a row, fail before the search, or say so once during it."""
        self._start_failures += 1
        if self._start_failures != START_FAILURES:
            return
        line = f"{_plural(START_FAILURES, 'worker')} in a row died while starting: {cause}"
        if not self._searching:
            raise SettingsError(line)
        self.say(f"{line}; asking again")

    def _bad_node(self, node: str, broken: str) -> None:
        """The trainer does not import on ``node``: fail before the search; during it,
        say so once and ask no more for that node's CPUs."""
        if not self._searching:
            raise SettingsError(f"the trainer does not import on node {node}: {broken}")
        if node not in self._bad_nodes:
            self._bad_nodes.add(node)
            self.say(f"node {node} cannot import the trainer: {broken}; not using it")

    def _node_alive(self, node: str | None) -> bool:
        """Whether Ray still has a live node at ``node``'s address (True if unknown)."""
        if node is None:
            return True
        try:
            nodes = self._ray.nodes()
        except Exception:  # the head itself unreachable: nothing to say about one node
            return True
        return any(n.get("Alive") and n.get("NodeManagerAddress") == node for n in nodes)

    @property
    def live_workers(self) -> int:
        """Workers up and able to train (for the progress bar)."""
        return len(self.workers)
