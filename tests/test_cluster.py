"""A Ray cluster of several hosts (network namespaces on this machine), as a user has one.

A head node on the first host, worker nodes on the others, the user's folder (their
trainer module and their dataset file) on the first host only. Skipped, with the reason,
where namespaces cannot be made (not root, no iproute2).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, _ray_bin
from tests.netns import Host, hosts, netns_available

REASON = netns_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no test hosts: {REASON}")

#: A trainer that lives only in the user's folder: the MLP, slowed so that a node can be
#: lost (and another join) while the search runs.
TRAINER = """
import time

from trainers.mlp import MLPTrainer


class SlowMLP(MLPTrainer):
    def step(self):
        time.sleep(0.4)
        return super().step()
"""
SPACE = """\
space:
  hidden_layer_sizes: {values: [[8], [16]]}
  learning_rate_init: {type: float, low: 1.0e-3, high: 0.1, log: true}
  activation: [relu, tanh]
trainer: mytrain:SlowMLP
max_epochs: 9
"""
#: Ray notices a lost node in a few seconds instead of half a minute.
FAST_HEALTH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
               "RAY_health_check_failure_threshold": "3", "RAY_health_check_initial_delay_ms": "500"}  # fmt: skip


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    # hpo and trainers are installed on every host (here: this checkout); the user's
    # module is not. HOME is the cluster's own: a Ray token another Ray on this machine
    # left in ~/.ray/auth_token would turn token mode on for some of its processes only.
    return {**env, **FAST_HEALTH, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
            "HOME": str(home)}  # fmt: skip


class Cluster:
    """The hosts, the head's address, and nodes started and lost at will."""

    def __init__(self, group: list[Host], user: Path) -> None:
        self.hosts, self.user = group, user
        self.head = group[0]
        self.address = f"{self.head.ip}:6379"
        self.nodes: dict[str, subprocess.Popen] = {}
        self.home = self.head.home.parent / "home"  # removed with the hosts' folders
        self.home.mkdir(exist_ok=True)

    def start_node(self, host: Host) -> None:
        """`ray start` on ``host`` (the head on the first), until it blocks (it is up)."""
        role = (["--head", "--port=6379", "--include-dashboard=false"] if host is self.head
                else [f"--address={self.address}"])  # fmt: skip
        log = host.home / "ray.log"
        with log.open("w") as out:
            proc = host.popen(
                [_ray_bin(), "start", *role, f"--node-ip-address={host.ip}", "--num-cpus=1",
                 "--object-store-memory=80000000", "--disable-usage-stats", "--block"],
                env=_env(self.home), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while "will now block" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start on {host.name} failed:\n{log.read_text()}")
            time.sleep(0.2)
        self.nodes[host.name] = proc

    def lose(self, host: Host) -> None:
        """Every process of ``host`` SIGKILLed at once: raylet, workers (a lost machine)."""
        host.kill_all()
        self.nodes.pop(host.name, None)

    def hpo(self, *args: str) -> subprocess.Popen:
        """``hpo ARGS`` on the head host, in the user's folder."""
        return self.head.popen([sys.executable, "-m", "hpo", *args], cwd=self.user, env=_env(self.home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    user = tmp_path_factory.mktemp("user")
    (user / "mytrain.py").write_text(TRAINER)
    (user / "space.yaml").write_text(SPACE)
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.to_csv(user / "flowers.csv", index=False)
    with hosts(3, hide=[user]) as group:
        c = Cluster(group, user)
        c.start_node(c.head)
        yield c


def _epochs(db: Path, study: str) -> list[tuple[int, int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT trial_id, epoch, worker, node FROM epochs JOIN studies USING (study_id) "
            "WHERE name = ? ORDER BY trial_id, epoch",
            (study,),
        ).fetchall()


def _wait_until(condition: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    """Poll ``condition`` while ``proc`` runs (a generous limit; nothing is timed)."""
    deadline = time.monotonic() + 240
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"hpo ended before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after 240 s: {proc.communicate()[1]}")
        time.sleep(0.3)


def _spent(db: Path, study: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT epochs_spent FROM studies WHERE name = ?", (study,)).fetchone()[
            0
        ]


def _check_no_epoch_lost_or_twice(db: Path, study: str) -> list[tuple[int, int, str, str]]:
    rows = _epochs(db, study)
    by_trial: dict[int, list[int]] = {}
    for t, e, _, _ in rows:
        by_trial.setdefault(t, []).append(e)
    assert all(es == list(range(1, len(es) + 1)) for es in by_trial.values()), by_trial
    assert len(rows) == _spent(db, study)
    return rows


def test_cluster_search_trains_on_every_node_survives_a_lost_node_and_uses_one_that_joins(
    cluster: Cluster, tmp_path
) -> None:
    h0, h1, h2 = cluster.hosts
    cluster.start_node(h1)
    db = tmp_path / "s.db"
    run = cluster.hpo("run", "space.yaml", "--dataset", "flowers.csv", "--target", "target",
                      "--ray-address", cluster.address, "--workers", "2", "--study", "c",
                      "--storage", str(db))  # fmt: skip
    try:
        _wait_until(lambda: db.exists() and any(n == h1.ip for *_, n in _epochs(db, "c")), run,
                    "epoch from the second host")  # fmt: skip
        cluster.lose(h1)
        cluster.start_node(h2)
        _out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    print(err)  # shown with pytest -rP: what the user sees
    assert run.returncode == 0, err
    assert "Traceback" not in err
    rows = _check_no_epoch_lost_or_twice(db, "c")
    # The trainer (and the dataset file) existed on the first host only, yet every node
    # trained: the one lost, the head, and the one that joined later.
    assert {n for *_, n in rows} == {h0.ip, h1.ip, h2.ip}
    # The assignments cut short on the lost node went on elsewhere from their saved states
    # (or from the start, for one lost before its first epoch): contiguous epochs, above.
    lost = [line for line in err.splitlines() if f"on {h1.ip} is gone; trial" in line]
    assert lost, err
    for line in lost:
        trial = int(line.split("; trial ")[1].split()[0])
        assert [n for t, _, _, n in rows if t == trial][-1] != h1.ip
    status = subprocess.run([sys.executable, "-m", "hpo", "status", "c", "--storage", str(db)],
                            capture_output=True, text=True, cwd=ROOT, env=_env(cluster.home))  # fmt: skip
    print(status.stdout)
    assert status.returncode == 0, status.stderr
    by_node = next(line for line in status.stdout.splitlines() if "by node:" in line)
    assert all(ip in by_node for ip in (h0.ip, h1.ip, h2.ip)), status.stdout


def test_cluster_resume_on_a_smaller_cluster_starts_with_what_it_has_and_finishes(
    cluster: Cluster, tmp_path
) -> None:
    h2 = cluster.hosts[2]
    if h2.name not in cluster.nodes:
        cluster.start_node(h2)
    db = tmp_path / "s.db"
    run = cluster.hpo("run", "space.yaml", "--dataset", "iris", "--ray-address", cluster.address,
                      "--workers", "2", "--study", "r", "--storage", str(db))  # fmt: skip
    try:
        _wait_until(lambda: db.exists() and len(_epochs(db, "r")) >= 6, run, "six epochs")
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130
    cluster.lose(h2)  # one CPU left, for a study that asked for two workers
    resume = cluster.hpo("resume", "r", "--storage", str(db))
    try:
        _out, err = resume.communicate(timeout=300)
    finally:
        if resume.poll() is None:
            resume.kill()
    assert resume.returncode == 0, err
    assert "cluster has 1 free CPU of the 2 workers asked; starting with 1" in err
    _check_no_epoch_lost_or_twice(db, "r")
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("SELECT status FROM studies WHERE name = 'r'").fetchone()[0] == "finished"
        )


def test_cluster_trainer_missing_on_a_node_is_one_line_naming_it(
    cluster: Cluster, tmp_path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = cluster.hpo("run", "space.yaml", "--dataset", "iris", "--ray-address", cluster.address,
                      "--workers", "1", "--working-dir", str(empty), "--storage", str(tmp_path / "s.db"))  # fmt: skip
    try:
        _out, err = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, err
    assert "Traceback" not in err
    assert err.startswith(f"hpo: the trainer does not import on node {cluster.head.ip}: "), err
    assert err.count("\n") == 1 and "No module named 'mytrain'" in err
