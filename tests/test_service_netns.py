"""The service across test hosts (network namespaces, :mod:`tests.netns`): `hpo serve` on
one host with a token and TLS, `hpo worker` on others; a worker host that dies mid-trial
loses its lease and the trial finishes on another host."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpo.store import StudyReader
from tests.conftest import ROOT
from tests.netns import Host, hosts, netns_available

CREATE = """
import sys, hpo.client
space = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}
hpo.client.connect(sys.argv[1], retry_for=10).create_study(
    "lease", space, scheduler="random", n_configs=2, max_epochs=40, lease_seconds=1.5)
"""


@pytest.fixture
def netns() -> None:
    reason = netns_available()
    if reason is not None:
        pytest.skip(f"needs network namespaces: {reason}")


def env(**extra: str) -> dict[str, str]:
    """This checkout's code on every host, with no token or CA from the caller's shell."""
    base = {k: v for k, v in os.environ.items() if k not in ("HPO_TOKEN", "HPO_CA")}
    return {**base, "PYTHONPATH": str(ROOT), **extra}


def start_server(host: Host, db: Path, *args: str | Path) -> tuple[subprocess.Popen, str]:
    """`hpo serve` on ``host``'s address; returns the process and the URL of its banner."""
    proc = host.popen(
        [sys.executable, "-m", "hpo", "serve", "--host", host.ip, "--port", "8443",
         "--storage", db, *args],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"hpo serve did not start: {proc.stderr.read()}")
        if line.startswith("hpo service at "):
            return proc, line.split()[3]


def stop_server(proc: subprocess.Popen) -> str:
    """SIGTERM; what the server wrote on stderr."""
    proc.terminate()
    try:
        return proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


def worker_args(url: str, client_id: str) -> list[str]:
    return [sys.executable, "-m", "hpo", "worker", url, "--study", "lease", "--trainer",
            "tests.faulty:SlowToy", "--dataset", "", "--client-id", client_id]  # fmt: skip


def test_netns_hosts_reach_each_other_and_not_hidden_folders(netns, tmp_path) -> None:
    hidden = tmp_path / "users-folder"
    hidden.mkdir()
    (hidden / "mytrain.py").write_text("")
    with hosts(2, hide=[hidden]) as (a, b):
        assert a.ip.rsplit(".", 1)[0] == b.ip.rsplit(".", 1)[0] and a.ip != b.ip
        assert b.run(["ls", "-A", hidden]).stdout == ""
        listener = a.popen(
            [sys.executable, "-c", "import socket, sys; s = socket.create_server((sys.argv[1], 9000)); "
             "print('up', flush=True); s.accept()[0].sendall(b'hello')", a.ip],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert listener.stdout.readline() == "up\n"
        got = b.run([sys.executable, "-c", "import socket, sys; "
                     "print(socket.create_connection((sys.argv[1], 9000), timeout=10).recv(5))", a.ip])  # fmt: skip
        assert got.stdout == "b'hello'\n", got.stderr
        a.kill_all()
        assert a.pids() == [] and listener.poll() is not None
    assert (hidden / "mytrain.py").exists()  # hidden from the hosts only
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert a.name not in names and b.name not in names


def test_service_over_tls_across_hosts_finishes_the_trial_of_a_lost_worker_host(
    netns, tmp_path
) -> None:
    """The server on host 1 (token, TLS with a test CA); `hpo worker` on host 2 is killed
    with its host mid-trial; host 3's worker finishes that trial once its lease expires."""
    from tests.certs import make_pki

    with hosts(3) as (server_host, doomed, spare):
        pki = make_pki(tmp_path / "pki", [server_host.ip])
        db = tmp_path / "s.db"
        server, url = start_server(server_host, db, "--tls-cert", pki.cert, "--tls-key", pki.key)
        assert url == f"https://{server_host.ip}:8443"
        token = (tmp_path / "s.db.token").read_text().strip()
        trusted = env(HPO_TOKEN=token, HPO_CA=str(pki.ca))

        made = spare.run([sys.executable, "-c", CREATE, url], cwd=ROOT, env=trusted, timeout=60)
        assert made.returncode == 0, made.stderr
        untrusted = spare.run(worker_args(url, "no-ca"), cwd=ROOT, env=env(HPO_TOKEN=token),
                              timeout=60)  # fmt: skip
        assert untrusted.returncode == 1 and "Traceback" not in untrusted.stderr
        assert untrusted.stderr.startswith("hpo: cannot verify the TLS certificate of https://")
        assert "--ca FILE or HPO_CA" in untrusted.stderr and untrusted.stderr.count("\n") == 1

        log = tmp_path / "victim.log"
        with log.open("w") as out:
            # It holds in its sixth epoch: killed mid-trial, however loaded the machine is.
            victim = doomed.popen(worker_args(url, "victim"), cwd=ROOT, stdout=out,
                                  env={**trusted, "HPO_TEST_HOLD_AT": "6"},
                                  stderr=subprocess.STDOUT)  # fmt: skip
        with StudyReader(db) as r:
            deadline = time.monotonic() + 90
            while len(r.epochs("lease")) < 5:
                assert victim.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"the victim trained nothing: {log.read_text()}"
                time.sleep(0.05)
        doomed.kill_all()  # the whole host, mid-trial, no goodbye
        assert victim.poll() is not None and doomed.pids() == []

        survivor = spare.run(worker_args(url, "survivor"), cwd=ROOT, env=trusted, timeout=120)
        assert survivor.returncode == 0, survivor.stderr
        assert "the study is finished" in survivor.stdout
        errors = stop_server(server)

    assert "Traceback" not in errors and "in clear" not in errors, errors
    with StudyReader(db) as r:
        trials, epochs = r.trials("lease"), r.epochs("lease")
    assert list(trials["status"]) == ["completed", "completed"]
    for _, curve in epochs.groupby("trial_id"):  # every epoch once, none lost
        assert list(curve["epoch"]) == list(range(1, 41))
    lost = set(epochs.loc[epochs["worker"] == "victim", "trial_id"])
    assert len(lost) == 1  # the trial the dead host was training…
    finished = epochs[epochs["trial_id"].isin(lost)]
    assert set(finished["worker"]) == {"victim", "survivor"}  # …went on elsewhere
    assert finished["worker"].iloc[-1] == "survivor"


def test_serve_off_loopback_without_tls_warns_that_the_token_crosses_in_clear(
    netns, tmp_path
) -> None:
    with hosts(1) as (host,):
        server, url = start_server(host, tmp_path / "s.db")
        errors = stop_server(server)
    assert url == f"http://{host.ip}:8443"
    warnings = [line for line in errors.splitlines() if "in clear" in line]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"warning: --host {host.ip} without --tls-cert"
    )
