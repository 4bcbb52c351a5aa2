"""The service over HTTP: a real `hpo serve` (uvicorn on loopback, in a subprocess),
driven with raw HTTP, the Python client, `hpo worker`, `hpo submit` and the CLI."""

from __future__ import annotations

import os
import pickle
import random
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from hpo import client as hpo_client
from hpo.launch import run_study
from hpo.settings import SearchSettings
from hpo.store import StudyReader
from tests.conftest import ROOT, ServerProcess, hpo
from trainers.toy import ToyTrainer

SPACE_YAML = "space:\n  quality: {type: float, low: 0.1, high: 1.0}\n"
SPACE = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}


def local(db: Path, name: str, **extra) -> None:
    """The same search run in-process by the tuner, for comparison."""
    settings = {"space": SPACE, "max_epochs": 9, "trainer": "trainers.toy:ToyTrainer", "dataset": None,
                "executor": "serial", **extra}  # fmt: skip
    run_study(SearchSettings.from_dict(settings), db, name)


def recorded(db: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with StudyReader(db) as r:
        epochs = r.export_frame(name)[["trial_id", "epoch", "value"]]
        events = r.events(name)[["trial_id", "kind", "epoch", "reason"]]
    return epochs, events


def same_search(db: Path, a: str, b: str) -> None:
    for got, want in zip(recorded(db, a), recorded(db, b), strict=True):
        pd.testing.assert_frame_equal(got, want)


def toy_train(config: dict, trial: hpo_client.Trial) -> None:
    """A function-style trial: the toy curve, paused and resumed through checkpoints."""
    trainer = ToyTrainer()
    state = trial.restore()
    if state is None:
        trainer.setup(config, trial.seed)
    else:
        trainer.restore(state)
    for epoch in trial.epochs():
        if trial.report(epoch, trainer.step()) != "continue":
            break
    trial.checkpoint(trainer.save())


# -- the loop, three ways -------------------------------------------------------------------------


def test_the_whole_loop_over_raw_http(server, tmp_path) -> None:
    """What a client in any language does: JSON in, JSON out, bytes for checkpoints."""
    s = server()
    http = httpx.Client(base_url=s.url)
    body = {"name": "raw", "space": SPACE_YAML, "settings": {"max_epochs": 9}}
    created = http.post("/api/studies", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["plan"][0] == "plan: hyperband, 3 bracket(s), 17 trials"
    assert http.post("/api/studies", json=body).status_code == 200  # idempotent
    while True:
        r = http.post("/api/studies/raw/suggest", json={"client_id": "curl"})
        if r.status_code == 410:
            break
        assert r.status_code == 200, r.text
        a = r.json()
        trainer = ToyTrainer()
        if a["resume"]:
            blob = http.get(f"/api/studies/raw/trials/{a['trial_id']}/checkpoint")
            assert int(blob.headers["X-HPO-Epoch"]) == a["from_epoch"]
            trainer.restore(pickle.loads(blob.content))
        else:
            trainer.setup(a["config"], a["seed"])
        epoch, told = a["from_epoch"], {"action": "continue", "until_epoch": a["until_epoch"]}
        while told["action"] == "continue" and epoch < told["until_epoch"]:
            epoch += 1
            m = {"lease": a["lease"], "epoch": epoch, "metrics": trainer.step(), "seconds": 0.01}
            told = http.post(f"/api/studies/raw/trials/{a['trial_id']}/measurements", json=m).json()
        if told["checkpoint_wanted"]:
            put = http.put(f"/api/studies/raw/trials/{a['trial_id']}/checkpoint",
                           params={"lease": a["lease"], "epoch": epoch}, content=pickle.dumps(trainer.save()))  # fmt: skip
            assert put.status_code == 200, put.text
    info = http.get("/api/studies/raw").json()
    assert info["status"] == "finished" and info["epochs_spent"] == 69
    assert http.get("/api/studies/raw/best").json()["value"] == info["best"]["value"]
    csv = http.get("/api/studies/raw/export", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 70
    parquet = http.get("/api/studies/raw/export", params={"format": "parquet"})
    (tmp_path / "raw.parquet").write_bytes(parquet.content)
    assert len(pd.read_parquet(tmp_path / "raw.parquet")) == 69
    delta = http.get("/api/studies/raw/delta").json()
    assert len(delta["epochs"]["trial_id"]) == 69
    s.stop()
    local(s.db, "local")
    same_search(s.db, "raw", "local")


def test_the_python_client_runs_a_function_and_fails_what_raises(server) -> None:
    s = server()
    client = hpo_client.connect(s.url)
    study = client.create_study("fn", SPACE, scheduler="asha", max_epochs=9, n_configs=12)

    def train(config: dict, trial: hpo_client.Trial) -> None:
        if config["quality"] > 0.9:
            raise ValueError("refuses the best configurations")
        toy_train(config, trial)

    n = study.run(train)
    info = study.info()
    assert info["status"] == "finished" and n >= 12
    table = pd.DataFrame(study.trials_table())
    failed = table[table["status"] == "failed"]
    assert len(failed) == sum(c["quality"] > 0.9 for c in table["config"]) > 0
    assert failed["reason"].str.contains("ValueError: refuses the best configurations").all()


def test_workers_on_two_processes_share_a_study(server) -> None:
    s = server()
    client = hpo_client.connect(s.url)
    client.create_study("shared", SPACE, scheduler="hyperband", max_epochs=27)
    args = [sys.executable, "-m", "hpo", "worker", s.url, "--study", "shared",
            "--trainer", "tests.faulty:SlowToy", "--dataset", ""]  # fmt: skip
    workers = [subprocess.Popen([*args, "--client-id", f"w{i}"], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True) for i in range(2)]  # fmt: skip
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    assert all("the study is finished" in o for o in outputs)
    with StudyReader(s.db) as r:
        epochs = r.epochs("shared")
        info = r.study("shared")
    assert info["status"] == "finished"
    assert set(epochs["worker"]) == {"w0", "w1"}
    for _, curve in epochs.groupby("trial_id"):  # each epoch once, in order, none skipped
        assert list(curve["epoch"]) == list(range(1, len(curve) + 1))
    assert len(epochs) == info["epochs_spent"] == info["planned_budget"]


def test_cli_reads_a_study_through_the_server(server, tmp_path) -> None:
    s = server()
    study = hpo_client.connect(s.url).create_study("cli", SPACE, max_epochs=9)
    study.run(toy_train)
    status = hpo("status", "cli", "--server", s.url, "--limit", "2", check=True).stdout
    assert status.startswith("cli: finished, hyperband, 17 trials, 69 of 69 planned epochs")
    assert (
        hpo("best", "cli", "--server", s.url, "--json", check=True).stdout.count('"quality"') == 1
    )
    out = tmp_path / "cli.parquet"
    assert "wrote 69 epochs of 17 trials" in hpo("export", "cli", "--server", s.url, "-o", str(out),
                                                 check=True).stdout  # fmt: skip
    assert "cli" in hpo("list", "--server", s.url, check=True).stdout
    missing = hpo("status", "nope", "--server", s.url)
    assert missing.returncode == 2 and missing.stderr.startswith("hpo: no study named 'nope'")
    assert "Traceback" not in missing.stderr


# -- refusals: one sentence, a 4xx, never a stack trace ---------------------------------------------


def test_bad_requests_get_one_clear_sentence(server) -> None:
    s = server("--max-checkpoint-mb", "0.001")
    http = httpx.Client(base_url=s.url)
    http.post("/api/studies", json={"name": "ok", "space": SPACE, "settings": {"max_epochs": 9}})
    a = http.post("/api/studies/ok/suggest", json={"client_id": "c"}).json()
    trial = f"/api/studies/ok/trials/{a['trial_id']}"
    cases = [
        ("post", "/api/studies", {"json": {"name": "bad name!", "space": SPACE}}, 422, "name: String should match pattern"),
        ("post", "/api/studies", {"json": {"name": "x", "space": "space: [unclosed"}}, 422, "malformed YAML"),
        ("post", "/api/studies", {"json": {"name": "x", "space": SPACE, "settings": {"speed": 1}}}, 422, "unknown setting 'speed'"),
        ("post", "/api/studies", {"json": {"name": "x", "space": SPACE, "settings": {"max_epochs": 0}}}, 422, "max_epochs=0 is invalid"),
        ("post", "/api/studies", {"json": {"name": "x", "space": {"lr": {"type": "float", "low": 1, "high": 0}}}}, 422, "low"),
        ("post", "/api/studies", {"json": {"name": "ok", "space": SPACE, "settings": {"max_epochs": 27}}}, 409, "max_epochs differs"),
        ("post", "/api/studies", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "not valid JSON"),
        ("post", "/api/studies/nope/suggest", {"json": {"client_id": "c"}}, 404, "no study named 'nope'"),
        ("post", "/api/studies/ok/suggest", {"json": {}}, 422, "client_id is missing"),
        ("post", "/api/studies/ok/suggest", {"json": {"client_id": "c", "extra": 1}}, 422, "extra is not a field"),
        ("post", f"{trial}/measurements", {"json": {"lease": a["lease"], "epoch": 1, "metrics": {"val_accuracy": "high"}}}, 422, "metrics.val_accuracy: must be a number"),
        ("post", f"{trial}/measurements", {"json": {"lease": a["lease"], "epoch": 1, "metrics": {"val_accuracy": True}}}, 422, "must be a number"),
        ("post", f"{trial}/measurements", {"json": {"lease": a["lease"], "epoch": "1", "metrics": {}}}, 422, "epoch: Input should be a valid integer"),
        ("post", f"{trial}/measurements", {"json": {"lease": a["lease"], "epoch": 2, "metrics": {"val_accuracy": 0.5}}}, 409, "expects epoch 1"),
        ("post", f"{trial}/measurements", {"json": {"lease": "stolen", "epoch": 1, "metrics": {"val_accuracy": 0.5}}}, 409, "not assigned under lease"),
        ("post", f"{trial}/measurements", {"json": {"lease": a["lease"], "epoch": 1, "metrics": {"loss": 0.5}}}, 422, "lack 'val_accuracy'"),
        ("post", "/api/studies/ok/trials/999/measurements", {"json": {"lease": "x", "epoch": 1, "metrics": {}}}, 404, "has no trial 999"),
        ("put", f"{trial}/checkpoint", {"params": {"lease": a["lease"], "epoch": 1}, "content": b"x" * 2000}, 413, "larger than 1048 bytes"),
        ("put", f"{trial}/checkpoint", {"params": {"lease": a["lease"], "epoch": 1}, "content": b"x"}, 409, "report epoch 1 before saving"),
        ("post", "/api/studies", {"content": b"[" * (2 << 20), "headers": {"content-type": "application/json"}}, 413, "larger than 1048576 bytes"),
        ("get", "/api/studies/ok/export", {"params": {"format": "xlsx"}}, 422, "format: String should match pattern"),
        ("get", "/static/../../etc/passwd", {}, 404, "no route"),
        ("delete", "/api/studies/ok", {}, 405, "Method Not Allowed"),
    ]  # fmt: skip
    for method, path, kwargs, status, fragment in cases:
        r = http.request(method.upper(), path, **kwargs)
        assert r.status_code == status, (path, kwargs, r.status_code, r.text)
        message = r.json()["error"]
        assert fragment in message, (path, message)
        assert "\n" not in message and "Traceback" not in r.text
    assert "Traceback" not in s.stop()


def test_pages_of_other_sites_cannot_drive_a_server_without_a_token(server) -> None:
    """No token on loopback: a foreign Host (DNS rebinding), a form-encoded POST or a foreign
    Origin (what a web page elsewhere can send without asking) are refused."""
    s = server()
    http = httpx.Client(base_url=s.url)
    http.post("/api/studies", json={"name": "x", "space": SPACE, "settings": {"max_epochs": 3}})
    refused = [
        http.get("/api/studies", headers={"Host": "attacker.example"}),
        http.post("/api/studies/x/stop", content=b"", headers={"Content-Type": "text/plain"}),
        http.post("/api/studies/x/stop", json={}, headers={"Origin": "https://evil.example"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert http.get("/api/studies/x").json()["status"] == "running"
    assert http.post("/api/studies/x/stop", json={}, headers={"Origin": s.url}).status_code == 200
    assert http.get("/api/studies", headers={"Host": f"localhost:{s.port}"}).status_code == 200


def test_openapi_describes_the_api(server) -> None:
    s = server()
    spec = httpx.get(s.url + "/openapi.json").json()
    paths = set(spec["paths"])
    for path in ["/api/studies", "/api/studies/{name}/suggest", "/api/studies/{name}/trials/{trial_id}/measurements",
                 "/api/studies/{name}/trials/{trial_id}/checkpoint", "/api/studies/{name}/export"]:  # fmt: skip
        assert path in paths
    assert "swagger" in httpx.get(s.url + "/docs").text.lower()


# -- the token ---------------------------------------------------------------------------------------


def test_a_token_guards_every_route_and_is_kept_private(server, tmp_path) -> None:
    s = server("--auth")
    token_file = tmp_path / "s.db.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert any(token in line for line in s.banner)  # shown once, when made
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        r = httpx.get(s.url + "/api/studies", headers=headers)
        assert r.status_code == 401 and "bearer token is required" in r.json()["error"]
    assert httpx.get(s.url + "/api/health").status_code == 200
    good = {"Authorization": f"Bearer {token}"}
    assert httpx.get(s.url + "/api/studies", headers=good).status_code == 200
    # The dashboard in a browser: /login sets a cookie that opens pages (reads only).
    browser = httpx.Client(base_url=s.url)
    assert browser.get("/login", params={"token": "wrong"}).status_code == 401
    browser.get("/login", params={"token": token})
    assert browser.get("/").status_code == 200
    assert browser.post("/api/studies", json={"name": "x", "space": SPACE}).status_code == 401
    study = hpo_client.connect(s.url, token=token).create_study("t", SPACE, max_epochs=3)
    assert study.info()["status"] == "running"
    assert hpo("list", "--server", s.url, env={"HPO_TOKEN": token}).returncode == 0
    refused = hpo("list", "--server", s.url, env={"HPO_TOKEN": ""})
    assert refused.returncode == 2 and "bearer token is required" in refused.stderr
    s.stop()
    again = server("--auth")  # a restart keeps the token and does not show it again
    assert token_file.read_text().strip() == token and not any(
        token in line for line in again.banner
    )


def test_only_loopback_goes_without_a_token(tmp_path) -> None:
    from hpo.cli import _server_token

    assert _server_token("127.0.0.1", str(tmp_path / "s.db"), required=None) is None
    assert not (tmp_path / "s.db.token").exists()
    token = _server_token("0.0.0.0", str(tmp_path / "s.db"), required=None)
    assert token and (tmp_path / "s.db.token").read_text().strip() == token
    refused = hpo("serve", "--host", "0.0.0.0", "--no-auth", "--storage", str(tmp_path / "s.db"))
    assert refused.returncode == 2 and "needs the token" in refused.stderr


# -- TLS ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and a server certificate for loopback (tests/certs.py)."""
    from tests.certs import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"), ["127.0.0.1", "localhost"])


def test_serve_tls_speaks_https_to_clients_that_trust_its_ca(server, pki, tmp_path) -> None:
    s = server("--auth", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
    assert s.url.startswith("https://127.0.0.1:")
    token = (tmp_path / "s.db.token").read_text().strip()
    with hpo_client.connect(s.url, token=token, ca=pki.ca) as client:
        study = client.create_study("tls", SPACE, max_epochs=3)
        assert study.run(toy_train) > 0 and study.info()["status"] == "finished"
    listed = hpo("list", "--server", s.url, "--ca", str(pki.ca), env={"HPO_TOKEN": token})
    assert listed.returncode == 0 and "tls" in listed.stdout, listed.stderr
    best = hpo("best", "tls", "--server", s.url, env={"HPO_TOKEN": token, "HPO_CA": str(pki.ca)})
    assert best.returncode == 0 and "best" in best.stdout, best.stderr
    with pytest.raises(httpx.TransportError):  # no plain HTTP on the TLS port
        httpx.get(s.url.replace("https:", "http:") + "/api/health")


def test_clients_refuse_an_https_server_they_cannot_verify_in_one_line(
    server, pki, tmp_path
) -> None:
    from tests.certs import make_pki

    s = server("--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
    for untrusted in (
        hpo("list", "--server", s.url, env={"HPO_CA": ""}, timeout=60),
        hpo("worker", s.url, "--study", "x", "--dataset", "", env={"HPO_CA": ""}, timeout=60),
    ):  # refused at once: the worker, which retries for minutes what cannot connect, too
        assert untrusted.returncode == 1 and untrusted.stderr.count("\n") == 1, untrusted.stderr
        assert untrusted.stderr.startswith(f"hpo: cannot verify the TLS certificate of {s.url}")
        assert "--ca FILE or HPO_CA" in untrusted.stderr
    other = make_pki(tmp_path / "other", ["127.0.0.1"], name="another")
    with pytest.raises(hpo_client.ClientError, match="cannot verify the TLS certificate"):
        hpo_client.connect(s.url, ca=other.ca, retry_for=5).health()
    missing = hpo("list", "--server", s.url, "--ca", str(tmp_path / "nope.pem"))
    assert missing.returncode == 2 and "nope.pem': no such file" in missing.stderr
    not_pem = hpo("status", "x", "--server", s.url, "--ca", str(pki.key))
    assert not_pem.returncode == 2 and "expected a PEM certificate" in not_pem.stderr
    assert "Traceback" not in missing.stderr + not_pem.stderr


def test_clients_refuse_a_certificate_that_does_not_name_the_host(tmp_path) -> None:
    from hpo.service import TLSFiles, create_app, serving_in_thread
    from tests.certs import make_pki

    pki = make_pki(tmp_path / "pki", ["localhost"])  # not 127.0.0.1
    app = create_app(str(tmp_path / "s.db"))
    with serving_in_thread(app, tls=TLSFiles(pki.cert, pki.key)) as url:
        assert url.startswith("https://127.0.0.1:")
        with pytest.raises(hpo_client.ClientError, match="IP address mismatch") as refused:
            hpo_client.connect(url, ca=pki.ca, retry_for=5).health()
    assert refused.value.message.endswith("the certificate does not name this host")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("cert only", "--tls-cert needs --tls-key too"),
        ("key only", "--tls-key needs --tls-cert too"),
        ("missing cert", "nope.pem': no such file"),
        ("another key", "is not the private key of --tls-cert"),
        ("not a certificate", "expected a PEM certificate and its PEM private key"),
    ],
)
def test_serve_refuses_bad_tls_files_in_one_line(pki, tmp_path, case, expected) -> None:
    from tests.certs import make_pki

    cert, key = str(pki.cert), str(pki.key)
    args = {
        "cert only": ["--tls-cert", cert],
        "key only": ["--tls-key", key],
        "missing cert": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", key],
        "another key": ["--tls-cert", cert, "--tls-key", str(make_pki(tmp_path, ["::1"]).key)],
        "not a certificate": ["--tls-cert", key, "--tls-key", key],
    }[case]
    refused = hpo("serve", "--port", "0", "--storage", str(tmp_path / "s.db"), *args, timeout=60)
    assert refused.returncode == 2 and expected in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1 and "hpo service at" not in refused.stdout


def test_serve_warns_only_when_a_token_would_cross_the_network_in_clear(pki, capsys) -> None:
    from hpo.cli import _warn_clear_token
    from hpo.service import TLSFiles

    tls = TLSFiles(pki.cert, pki.key)
    for host, token, files in (
        ("10.1.2.3", "t", tls),
        ("127.0.0.1", "t", None),
        ("0.0.0.0", None, None),
    ):
        _warn_clear_token(host, token, files)
    assert capsys.readouterr().err == ""
    _warn_clear_token("0.0.0.0", "t", None)
    err = capsys.readouterr().err
    assert (
        err.startswith("warning: --host 0.0.0.0 without --tls-cert/--tls-key")
        and err.count("\n") == 1
    )


# -- faults: nothing lost, nothing twice ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_a_server_killed_while_a_client_reports_loses_nothing(server, seed) -> None:
    """kill -9 at seeded moments; the server restarts on the same port; the client retries.
    The finished study equals the same search run in-process: nothing lost, nothing twice."""
    s = server()
    client = hpo_client.connect(s.url, retry_for=60)
    study = client.create_study("k", SPACE, scheduler="hyperband", max_epochs=27, iterations=2)
    done = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            study.run(toy_train, client_id="serial")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=work)
    thread.start()
    rng = random.Random(seed)
    kills = 0
    while not done.is_set() and kills < 6:
        time.sleep(rng.uniform(0.05, 0.4))
        if done.is_set():
            break
        s.kill()
        kills += 1
        s.start()  # same database, same port
    thread.join(timeout=300)
    assert not errors, errors
    assert kills >= 3, "the search ended before the server was killed enough times"
    assert study.info()["status"] == "finished"
    s.stop()
    local(s.db, "local", max_epochs=27, iterations=2)
    same_search(s.db, "k", "local")


def test_a_server_killed_under_several_clients_records_each_epoch_once(server) -> None:
    """Three clients at once, the server killed four times: the study finishes, every
    trial's epochs are recorded once and in order, and no trial is promoted twice."""
    s = server()
    client = hpo_client.connect(s.url, retry_for=60)
    study = client.create_study("many", SPACE, scheduler="asha", max_epochs=27, n_configs=40)
    threads = [threading.Thread(target=study.run, args=(toy_train, f"c{i}")) for i in range(3)]
    for t in threads:
        t.start()
    rng = random.Random(7)
    for _ in range(4):
        time.sleep(rng.uniform(0.1, 0.5))
        s.kill()
        s.start()
    for t in threads:
        t.join(timeout=300)
    info = study.info()
    assert info["status"] == "finished"
    with StudyReader(s.db) as r:
        epochs, events = r.epochs("many"), r.events("many")
    for _, curve in epochs.groupby("trial_id"):
        assert list(curve["epoch"]) == list(range(1, len(curve) + 1))
    assert len(epochs) == info["epochs_spent"]
    promotions = events[events["kind"] == "promote"]
    assert len(promotions) > 0 and not promotions.duplicated(["trial_id", "epoch"]).any()


def test_a_killed_client_trial_goes_on_elsewhere(server) -> None:
    s = server()
    hpo_client.connect(s.url).create_study(
        "lease", SPACE, scheduler="random", n_configs=2, max_epochs=40, lease_seconds=1.5
    )
    args = [sys.executable, "-m", "hpo", "worker", s.url, "--study", "lease", "--trainer",
            "tests.faulty:SlowToy", "--dataset", ""]  # fmt: skip
    victim = subprocess.Popen([*args, "--client-id", "victim"], cwd=ROOT, stdout=subprocess.DEVNULL)
    with StudyReader(s.db) as r:
        for _ in range(400):
            if len(r.epochs("lease")) >= 5:
                break
            time.sleep(0.05)
    victim.kill()  # mid-trial, no goodbye
    victim.wait()
    survivor = hpo("worker", s.url, "--study", "lease", "--trainer", "tests.faulty:SlowToy",
                   "--dataset", "", "--client-id", "survivor", timeout=300)  # fmt: skip
    assert survivor.returncode == 0, survivor.stderr
    with StudyReader(s.db) as r:
        trials, epochs = r.trials("lease"), r.epochs("lease")
    assert list(trials["status"]) == ["completed", "completed"]
    for _, curve in epochs.groupby("trial_id"):
        assert list(curve["epoch"]) == list(range(1, 41))
    assert set(epochs["worker"]) == {"victim", "survivor"}


# -- managed searches ---------------------------------------------------------------------------------


def wait_until_finished(url: str, name: str, timeout: float = 240) -> dict:
    study = hpo_client.connect(url).study(name)
    end = time.time() + timeout
    while time.time() < end:
        info = study.info()
        if info["status"] in ("finished", "failed", "stopped"):
            return info
        time.sleep(0.2)
    raise AssertionError(f"{name} did not finish: {info}")


def test_submit_runs_a_search_on_the_server_that_outlives_a_restart(server, tmp_path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE_YAML + "max_epochs: 9\ndataset: null\n")
    s = server()
    out = hpo("submit", str(space), "--server", s.url, "--study", "managed", "--executor", "serial",
              "--trainer", "tests.faulty:SlowToy", check=True).stdout  # fmt: skip
    assert "submitted 'managed'" in out and "plan: hyperband, 3 bracket(s)" in out
    with StudyReader(s.db) as r:
        for _ in range(400):
            if len(r.epochs("managed")) >= 20:
                break
            time.sleep(0.05)
    s.kill()  # the terminal that submitted is long gone; now the server goes too
    s.start()
    info = wait_until_finished(s.url, "managed")
    assert info["status"] == "finished" and info["driver"] == "managed"
    assert info["epochs_spent"] == info["planned_budget"]
    with StudyReader(s.db) as r:
        epochs = r.epochs("managed")
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    refused = httpx.post(s.url + "/api/studies/managed/suggest", json={"client_id": "c"})
    assert refused.status_code == 409
    again = hpo("submit", str(space), "--server", s.url, "--study", "managed", "--executor", "serial",
                "--trainer", "tests.faulty:SlowToy")  # fmt: skip
    assert again.returncode == 0 and "finished" in again.stdout  # submitted again: the same study


def test_submit_refuses_what_cannot_run(server, tmp_path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE_YAML)
    s = server()
    bad = hpo("submit", str(space), "--server", s.url, "--trainer", "no.such:Trainer")
    assert bad.returncode == 2 and "no.such" in bad.stderr and "Traceback" not in bad.stderr
    nowhere = hpo("submit", str(space), "--server", "http://127.0.0.1:9")
    assert nowhere.returncode == 1 and "cannot reach" in nowhere.stderr


def test_submit_on_ray(server, tmp_path, ray_address) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        SPACE_YAML + "max_epochs: 9\ndataset: null\ntrainer: trainers.toy:ToyTrainer\n"
    )
    s = server(env={"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    hpo("submit", str(space), "--server", s.url, "--study", "on-ray", "--ray-address", ray_address,
        "--workers", "2", check=True)  # fmt: skip
    info = wait_until_finished(s.url, "on-ray")
    assert info["status"] == "finished", info
    with StudyReader(s.db) as r:
        workers = set(r.epochs("on-ray")["worker"])
    assert workers <= {"w0", "w1"} and workers


def test_server_process_helper_reads_its_port(tmp_path) -> None:
    s = ServerProcess(tmp_path / "s.db")
    try:
        assert httpx.get(s.url + "/api/health").json()["takes_work"] is True
    finally:
        s.stop()
    assert os.path.exists(tmp_path / "s.db")


def test_client_retries_a_tls_connection_closed_while_the_server_restarts() -> None:
    import ssl

    failures = [ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
                ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed")]  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        if failures:
            raise httpx.ConnectError("TLS handshake failed") from failures.pop(0)
        return httpx.Response(200, json={"ok": True})

    client = hpo_client.Client("https://hpo.test", transport=httpx.MockTransport(handler),
                               retry_for=30)  # fmt: skip
    assert client.health() == {"ok": True} and not failures

    def plain_http(request: httpx.Request) -> httpx.Response:
        mismatch = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        mismatch.reason = "WRONG_VERSION_NUMBER"  # as OpenSSL sets it
        raise httpx.ConnectError("bad") from mismatch

    refused = hpo_client.Client("https://hpo.test", transport=httpx.MockTransport(plain_http),
                                retry_for=30)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(hpo_client.ClientError, match="does the server speak https"):
        refused.health()
    assert time.monotonic() - started < 5  # at once, not retried


def test_client_refuses_an_unreadable_ca_file_in_one_line(tmp_path, monkeypatch) -> None:
    import ssl

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")

    def unreadable(*args, **kwargs):  # as chmod 000 is for anyone but root
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ssl, "create_default_context", unreadable)
    with pytest.raises(ValueError, match=r"^CA certificate '.*ca\.pem': Permission denied$"):
        hpo_client.tls_verification(ca)
