"""Service load: many clients and studies reporting to one server, against Optuna's gRPC
storage proxy in the same run.

Both sides: one server process on loopback over SQLite; ``--clients`` workers (threads in
``--client-procs`` processes) spread over ``--studies`` studies, each training a trivial
model (an epoch costs nothing) in a closed loop for ``--seconds``:

* ours (``hpo serve``): ask for work (``suggest``), report each epoch (``measurements``,
  timed: the answer says continue/pause/stop), upload a small checkpoint when paused;
  ASHA with promotions, decided on the server.
* Optuna (``run_grpc_proxy_server`` over RDB SQLite): ``study.ask()``, then per epoch
  ``trial.report`` + ``trial.should_prune()`` (timed together: the same question), and
  ``study.tell``; HyperbandPruner, decided in each client from the storage.

Figures: ``measurements_per_s`` (all clients), ``p50_ms`` and ``p99_ms`` of one timed
measurement, and our throughput as a multiple of Optuna's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import GRPC, require, write_report

ROOT = Path(__file__).resolve().parents[1]
R = 81  # max_epochs of every study
# The server on one core, the clients on the others (as if they ran on other machines);
# on a one-core machine everything shares it.
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS, CLIENT_CPUS = {CPUS[0]}, set(CPUS[1:]) or {CPUS[0]}


def pin(cpus: set[int]):
    return lambda: os.sched_setaffinity(0, cpus)


SPACE = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}


def value(quality: float, epoch: int) -> float:
    return quality * (1.0 - 1.0 / (epoch + 1))


# -- the client side (runs in --client-procs subprocesses) ------------------------------------------


def ours_client(url: str, studies: list[str], threads: int, seconds: float, seed: int,
                epoch_s: float) -> dict:  # fmt: skip
    from hpo import client as hpo_client

    latencies: list[list[float]] = [[] for _ in range(threads)]
    server_ms: list[float] = []
    stop_at = time.perf_counter() + seconds
    client = hpo_client.connect(url, retry_for=30)

    def timing(response) -> None:  # the server's own time, from its Server-Timing header
        if response.request.url.path.endswith("/measurements"):
            server_ms.append(float(response.headers["server-timing"].rpartition("=")[2]))

    client._http.event_hooks["response"] = [timing]

    def work(i: int) -> None:
        study = client.study(studies[(seed + i) % len(studies)])
        mine = latencies[i]
        for trial in study.trials(client_id=f"c{seed}-{i}", wait=1.0):
            quality = trial.config["quality"]
            for epoch in trial.epochs():
                if epoch_s:
                    time.sleep(epoch_s)
                t0 = time.perf_counter()
                action = trial.report(epoch, {"val_accuracy": value(quality, epoch)}, seconds=0.0)
                mine.append(time.perf_counter() - t0)
                if action != "continue":
                    break
            trial.checkpoint({"quality": quality, "epoch": trial.last_epoch})
            if time.perf_counter() > stop_at:
                trial.close()
                return

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"latencies": [x for xs in latencies for x in xs], "server_ms": server_ms}


def optuna_client(port: int, studies: list[str], threads: int, seconds: float, seed: int,
                  epoch_s: float) -> dict:  # fmt: skip
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.perf_counter() + seconds

    def work(i: int) -> None:
        study = optuna.load_study(
            study_name=studies[(seed + i) % len(studies)],
            storage=storage,
            pruner=optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=R, reduction_factor=3
            ),
        )
        mine = latencies[i]
        while time.perf_counter() < stop_at:
            trial = study.ask()
            quality = trial.suggest_float("quality", 0.1, 1.0)
            state, last = optuna.trial.TrialState.COMPLETE, 0.0
            for epoch in range(1, R + 1):
                if epoch_s:
                    time.sleep(epoch_s)
                last = value(quality, epoch)
                t0 = time.perf_counter()
                trial.report(last, epoch)
                pruned = trial.should_prune()
                mine.append(time.perf_counter() - t0)
                if pruned:
                    state = optuna.trial.TrialState.PRUNED
                    break
                if time.perf_counter() > stop_at:
                    break
            study.tell(
                trial, last if state is optuna.trial.TrialState.COMPLETE else None, state=state
            )

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"latencies": [x for xs in latencies for x in xs]}


# -- the servers ----------------------------------------------------------------------------------


def start_ours(db: Path, studies: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "hpo", "serve", "--port", "0", "--storage", str(db)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            preexec_fn=pin(SERVER_CPUS))  # fmt: skip
    url = proc.stdout.readline().split()[3]
    from hpo import client as hpo_client

    client = hpo_client.connect(url)
    for name in studies:  # ASHA with promotions; more trials than any run reaches
        client.create_study(name, SPACE, scheduler="asha", max_epochs=R, n_configs=10**7,
                            lease_seconds=600)  # fmt: skip
    return proc, url


def start_optuna(db: Path, studies: list[str]) -> tuple[subprocess.Popen, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = (
        "import optuna, sys\n"
        "optuna.logging.set_verbosity(optuna.logging.ERROR)\n"
        f"storage = optuna.storages.RDBStorage('sqlite:///{db}')\n"
        f"for name in {studies!r}:\n"
        "    optuna.create_study(study_name=name, storage=storage, direction='maximize')\n"
        "print('ready', flush=True)\n"
        f"optuna.storages.run_grpc_proxy_server(storage, host='127.0.0.1', port={port})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            preexec_fn=pin(SERVER_CPUS))  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # the gRPC server binds after the line
    return proc, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(side: str, target: str, studies: list[str], clients: int, procs: int, seconds: float,
          epoch_ms: float, server_pid: int) -> dict:  # fmt: skip
    """Run the clients; returns throughput and latency figures."""
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    started, cpu0 = time.perf_counter(), cpu_seconds(server_pid)
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                side,
                "--target",
                target,
                "--names",
                ",".join(studies),
                "--threads",
                str(n),
                "--seconds",
                str(seconds),
                "--seed",
                str(i * 1000),
                "--epoch-ms",
                str(epoch_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT / "bench",
            preexec_fn=pin(CLIENT_CPUS),
        )
        for i, n in enumerate(per)
    ]
    latencies: list[float] = []
    server_ms: list[float] = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:  # its traceback is on stderr, above
            raise SystemExit(
                f"service_load: a {side} client failed with exit status {child.returncode}"
            )
        latencies += json.loads(out)["latencies"]
        server_ms += json.loads(out).get("server_ms", [])
    wall = time.perf_counter() - started
    server_cpu = (cpu_seconds(server_pid) - cpu0) / wall
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    inside = {}
    if server_ms:  # how much of a measurement's latency is the server's own time
        server_ms.sort()
        inside = {"server_p50_ms": round(statistics.median(server_ms), 2),
                  "server_p99_ms": round(server_ms[int(0.99 * (len(server_ms) - 1))], 2)}  # fmt: skip
    return {
        **inside,
        "measurements": len(ms),
        "wall_s": round(wall, 2),
        "measurements_per_s": round(len(ms) / seconds, 1),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "server_cpu_cores": round(server_cpu, 2),
    }


def run_case(side: str, args: argparse.Namespace, clients: int, n_studies: int, seconds: float,
             epoch_ms: float, tag: str) -> dict:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        names = [f"{side}-{tag}-{i}" for i in range(n_studies)]
        if side == "ours":
            proc, target = start_ours(Path(tmp) / "s.db", names)
        else:
            proc, port = start_optuna(Path(tmp) / "s.db", names)
            target = str(port)
        try:
            return drive(
                side, target, names, clients, args.client_procs, seconds, epoch_ms, proc.pid
            )
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 clients, 4 studies, 4 s")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--studies", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--sides", default="ours,optuna")
    parser.add_argument("--paced-ms", type=float, default=100.0,
                        help="the epoch time of the paced case (0: only the closed loop)")  # fmt: skip
    # the client role (internal)
    parser.add_argument("--role", choices=["ours", "optuna"])
    parser.add_argument("--target")
    parser.add_argument("--names")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch-ms", type=float, default=0.0)
    args = parser.parse_args()
    if args.role:
        fn = ours_client if args.role == "ours" else optuna_client
        target = args.target if args.role == "ours" else int(args.target)
        print(json.dumps(fn(target, args.names.split(","), args.threads, args.seconds, args.seed,
                            args.epoch_ms / 1000)))  # fmt: skip
        return
    clients = args.clients or (16 if args.quick else 64)
    n_studies = args.studies or (4 if args.quick else 8)
    seconds = args.seconds or (4.0 if args.quick else 20.0)
    repeats = args.repeats or (1 if args.quick else 3)
    sides = args.sides.split(",")
    if "optuna" in sides:
        require(GRPC)
    loads = {"closed-loop": 0.0}
    if args.paced_ms and not args.quick:
        loads[f"paced-{args.paced_ms:g}ms-epochs"] = args.paced_ms
    cases: dict[str, dict] = {}
    for load, epoch_ms in loads.items():
        runs: dict[str, list[dict]] = {side: [] for side in sides}
        for repeat in range(repeats):
            for side in random.Random(repeat).sample(sides, len(sides)):  # alternate who goes first
                figures = run_case(
                    side, args, clients, n_studies, seconds, epoch_ms, f"{load}-{repeat}"
                )
                runs[side].append(figures)
                print(load, side, repeat, figures, file=sys.stderr, flush=True)
        med = {
            side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            for side, rs in runs.items()
        }
        case: dict = {side: {**med[side], "runs": runs[side]} for side in sides}
        if "ours" in med and "optuna" in med and not epoch_ms:  # paced: ours serves what is offered
            case["throughput_vs_optuna"] = round(
                med["ours"]["measurements_per_s"] / med["optuna"]["measurements_per_s"], 1
            )
        if "ours" in med:
            case["meets_goal_p99_20ms"] = med["ours"]["p99_ms"] <= 20
        cases[f"{load}-{clients}-clients-{n_studies}-studies"] = case
    closed = cases[f"closed-loop-{clients}-clients-{n_studies}-studies"]
    if "throughput_vs_optuna" in closed:
        closed["meets_goal_10x_throughput"] = closed["throughput_vs_optuna"] >= 10
    report = {
        "benchmark": "service_load",
        "mode": "quick" if args.quick else "full",
        "setup": {
            "clients": clients,
            "studies": n_studies,
            "seconds": seconds,
            "client_processes": args.client_procs,
            "repeats": repeats,
            "max_epochs": R,
            "cpus": os.cpu_count(),
            "server_cpus": sorted(SERVER_CPUS),
            "client_cpus": sorted(CLIENT_CPUS),
            "ours": "hpo serve (uvicorn) + hpo.client (httpx), ASHA",
            "optuna": "run_grpc_proxy_server over RDB SQLite + GrpcStorageProxy, HyperbandPruner",
        },
        "note": "closed loop: a trivial trainer, no think time, so every client always waits on the "
        "server; paced: each epoch takes the given time before its report. The server is pinned "
        "to one core, the clients to the other. p50_ms/p99_ms: a measurement as the client sees "
        "it; server_*_ms: the server's own time (its Server-Timing header). Medians of repeats.",
        "cases": cases,
    }
    write_report("service_load", report, args.quick)


if __name__ == "__main__":
    main()
