"""Shared helpers: a fake objective and a driver that runs a scheduler like the tuner does."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable

import numpy as np
import pytest

from hpo.schedulers import Scheduler
from hpo.space import SearchSpace
from hpo.types import Decision, Report, Suggestion

Objective = Callable[[dict, int], float]


def curve(config: dict, epoch: int) -> float:
    """A learning curve that rises towards ``x`` (the configuration's quality)."""
    return config["x"] * (1.0 - 1.0 / (epoch + 1))


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


def drive(
    scheduler: Scheduler,
    objective: Objective = curve,
    workers: int = 4,
    pickle_every: int = 0,
    max_steps: int = 1_000_000,
) -> tuple[Scheduler, list[Suggestion], list[tuple[int, int, Decision]]]:
    """Run ``scheduler`` to the end with ``workers`` concurrent trials.

    Results come back in a fixed round-robin order; with ``pickle_every`` the scheduler
    is pickled and unpickled every so many assignments (it must carry on unchanged).
    Checks on the way that no trial is ever retrained and that decisions are valid.
    """
    running: list[Suggestion] = []
    suggestions: list[Suggestion] = []
    decisions: list[tuple[int, int, Decision]] = []
    epochs_done: dict[int, int] = {}
    steps = 0
    while not scheduler.is_finished():
        while len(running) < workers:
            s = scheduler.suggest()
            if s is None:
                break
            assert s.from_epoch == epochs_done.get(s.trial_id, 0), "a trial must never be retrained"
            assert s.resume == (s.trial_id in epochs_done)
            assert s.until_epoch > s.from_epoch
            running.append(s)
            suggestions.append(s)
        assert running, "scheduler stalled"
        s = running.pop(0)
        for epoch in range(s.from_epoch + 1, s.until_epoch + 1):
            decision = scheduler.on_report(
                Report(s.trial_id, epoch, objective(dict(s.config), epoch))
            )
            epochs_done[s.trial_id] = epoch
            decisions.append((s.trial_id, epoch, decision))
            if epoch < s.until_epoch:
                if decision is not Decision.CONTINUE:
                    break
            else:
                assert isinstance(decision, Decision)
        steps += 1
        if pickle_every and steps % pickle_every == 0:
            scheduler = pickle.loads(pickle.dumps(scheduler))
        assert steps < max_steps
    scheduler.finish()
    return scheduler, suggestions, decisions


def finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


__all__ = ["curve", "drive", "finite", "np"]


# -- Ray: one head node per test session, on loopback, joined by every Ray test ---------------

import contextlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_bin() -> str:
    return (
        str(Path(sys.executable).with_name("ray"))
        if Path(sys.executable).with_name("ray").exists()
        else shutil.which("ray")
    )


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory):
    """Start `ray start --head --block` on 127.0.0.1 once; yield its address; stop only it.

    `ray stop` would stop every Ray on the machine (another test session's, a user's), so
    the head runs in its own process group and is ended by a signal to that group.
    """
    port = _free_port()
    env = {**os.environ, **RAY_ENV}
    log = tmp_path_factory.mktemp("ray-head") / "head.log"
    with log.open("w") as out:
        head = subprocess.Popen(
            [_ray_bin(), "start", "--head", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", "--block"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    os.environ.update(RAY_ENV)
    address = f"127.0.0.1:{port}"
    try:
        _wait_for_head(head, log)
        yield address
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _stop_process_group(head)


def _wait_for_head(head: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    """Until `ray start --block` says it blocks (the head is up), or fail with its log."""
    import time

    deadline = time.monotonic() + timeout
    while "will now block" not in log.read_text():
        if head.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ray start --head failed:\n{log.read_text()}")
        time.sleep(0.2)


def _stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the group (Ray shuts its node down), SIGKILL whatever is left after 30 s."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="session")
def ray_driver(ray_address):
    """This test process joined to the session's head node."""
    from hpo.runners._ray import start_ray

    start_ray(2, ray_address)
    return ray_address


def hpo(
    *args: str, check: bool = False, env: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "hpo", *args], capture_output=True, text=True, cwd=ROOT, check=check,
        env={**os.environ, **(env or {})}, **kwargs,
    )  # fmt: skip


# -- the service: a real `hpo serve` on loopback, in a subprocess ---------------------------------


class ServerProcess:
    """``hpo serve`` in a subprocess on 127.0.0.1; ``url`` once it listens."""

    def __init__(self, db: Path, *args: str, port: int = 0, env: dict | None = None) -> None:
        self.db, self.args, self.env = db, args, env
        self.port = port
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hpo", "serve", "--port", str(self.port), "--storage", str(self.db),
             *self.args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(self.env or {})},
        )  # fmt: skip
        self.banner = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"hpo serve did not start: {self.proc.stderr.read()}")
            self.banner.append(line)
            if line.startswith("hpo service at "):
                break
        self.url = line.split()[3]
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> str:
        """SIGTERM, as an operator would; returns what the server wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read()


@pytest.fixture
def server(tmp_path):
    """A fresh `hpo serve` over tmp_path/s.db; stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(*args: str, db: Path | None = None, **kwargs) -> ServerProcess:
        s = ServerProcess(db or tmp_path / "s.db", *args, **kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
