"""Wall time of ``hpo.search`` against ``hpo run``: the same 100-trial serial search.

The goal: a 100-trial serial ``hpo.search`` of a trivial function costs no more wall time
than ``hpo run`` of the same search (``search_over_run`` <= 1.0). Both sides search the
function :func:`train` below (``--trainer bench.api_overhead:train``), over the same space
with the same seed, ``executor="serial"``, no progress bar, into a fresh SQLite file in a
temporary folder each time. Each case is measured two ways:

- ``in_process``: ``hpo.search(train, space, ...)`` called from this process, against
  ``hpo run`` through click (``CliRunner().invoke(cli, ["run", ...])``). Imports are paid
  once by an untimed warm-up round; the figure is the search alone.
- ``subprocess``: ``python -c "import hpo; hpo.search(...)"`` against ``python -m hpo run
  ...``, as a user starts them: interpreter start and imports included.

The sides alternate (search, run, search, run, ...) and each figure is the median over the
repetitions (5, or 3 with ``--quick``): per way, ``search_wall_s`` and ``run_wall_s``,
their ratio ``search_over_run`` (the goal's figure), and the same for CPU time
(``search_over_run_cpu``: this process's and its subprocesses', steadier than wall time
on a busy machine). Every run's study is read back with
:class:`hpo.store.StudyReader`: ``same_study`` is true when all of them recorded the same
trials (configuration, seed, status, epochs) and the same epochs (trial, epoch, value), so
the two sides measure the same work (and the same settings, but the name).

    python bench/api_overhead.py            # 5 repetitions
    python bench/api_overhead.py --quick    # 3 repetitions, under a minute

Writes ``results/benchmarks/api_overhead.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This module is also the trainer both sides import (``bench.api_overhead:train``), in this
# process and in the measured subprocesses: it imports only the standard library at the top,
# so that importing it costs both sides the same little, and hpo is imported where it is used.

ROOT = Path(__file__).resolve().parents[1]
STUDY = "overhead"
SEED = 0
GOAL_RATIO = 1.0
SPACE_YAML = "space:\n  quality: {type: float, low: 0.1, high: 1.0}\n"

#: Each case's settings (the names of ``hpo.search``'s keywords; ``hpo run``'s options are
#: the same with dashes). Both start 100 trials.
CASES: dict[str, dict[str, Any]] = {
    "random": {"scheduler": "random", "n_configs": 100, "max_epochs": 3},
    "asha": {"scheduler": "asha", "n_configs": 100, "max_epochs": 9, "eta": 3},
}

#: What each measured side runs, for the JSON.
SIDES = {
    "in_process": {
        "search": "hpo.search(train, space, ...) called in the benchmark's process",
        "run": "hpo run through click in the benchmark's process (CliRunner().invoke(cli, ...))",
    },
    "subprocess": {
        "search": 'python -c "import hpo; hpo.search(train, space, ...)" (interpreter start '
        "and imports included)",
        "run": "python -m hpo run SPACE.yaml --trainer bench.api_overhead:train ... "
        "(interpreter start and imports included)",
    },
}

SEARCH_SCRIPT = """\
import sys
import hpo
from bench.api_overhead import python_space, train
hpo.search(train, python_space(), study=sys.argv[1], storage=sys.argv[2], progress=False,
           **{settings!r})
"""


def train(config: dict[str, Any], trial: Any) -> None:
    """A trivial function: the toy trainer's curve, ``quality · (1 − 1/(t+1))``, with the
    state a paused trial continues from."""
    state = trial.restore() or {"epoch": 0}
    for epoch in trial.epochs():
        state = {"epoch": epoch}
        value = config["quality"] * (1.0 - 1.0 / (epoch + 1))
        if trial.report(epoch, {"val_accuracy": value}, checkpoint=state) != "continue":
            break


def python_space() -> dict[str, Any]:
    """``SPACE_YAML`` as Python objects, as a script hands it to ``hpo.search``."""
    import hpo

    return {"quality": hpo.uniform(0.1, 1.0)}


def settings_of(case: str) -> dict[str, Any]:
    return {**CASES[case], "seed": SEED, "executor": "serial"}


def run_args(case: str, folder: Path) -> list[str]:
    """``hpo run``'s arguments for ``case``, with the space file in ``folder``."""
    options = [f"--{k.replace('_', '-')}={v}" for k, v in settings_of(case).items()]
    return ["run", str(folder / "space.yaml"), "--trainer", "bench.api_overhead:train", "--study", STUDY,
            "--storage", str(folder / "study.db"), *options]  # fmt: skip


def search_in_process(case: str, folder: Path) -> None:
    import hpo
    from bench.api_overhead import train  # not __main__'s: the one hpo run imports

    hpo.search(train, python_space(), study=STUDY, storage=folder / "study.db", progress=False,
               **settings_of(case))  # fmt: skip


def run_in_process(case: str, folder: Path) -> None:
    from click.testing import CliRunner

    from hpo.cli import cli

    done = CliRunner().invoke(cli, run_args(case, folder))
    if done.exit_code != 0:
        raise RuntimeError(f"hpo run failed ({done.exit_code}): {done.output}")


def _environment() -> dict[str, str]:
    """This checkout first on the path: the subprocesses import the hpo measured here."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _subprocess(command: list[str], folder: Path) -> None:
    done = subprocess.run(command, cwd=folder, env=_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr}")


def search_subprocess(case: str, folder: Path) -> None:
    script = SEARCH_SCRIPT.format(settings=settings_of(case))
    _subprocess([sys.executable, "-c", script, STUDY, str(folder / "study.db")], folder)


def run_subprocess(case: str, folder: Path) -> None:
    _subprocess([sys.executable, "-m", "hpo", *run_args(case, folder)], folder)


#: (way, side) -> what runs it, in the order the sides alternate.
MEASURED: dict[tuple[str, str], Callable[[str, Path], None]] = {
    ("in_process", "search"): search_in_process,
    ("in_process", "run"): run_in_process,
    ("subprocess", "search"): search_subprocess,
    ("subprocess", "run"): run_subprocess,
}


def recorded(storage: Path) -> tuple[str, tuple, tuple]:
    """What a study recorded: its settings (but the name, from the space file's or
    ``search``), its trials and its epochs, as comparable values."""
    from hpo.store import StudyReader

    with StudyReader(storage) as r:
        settings = {k: v for k, v in r.study(STUDY)["settings"].items() if k != "name"}
        trials = r.trials(STUDY)
        epochs = r.epochs(STUDY)
    trial_rows = tuple(
        (int(t.trial_id), repr(sorted(t.config.items())), int(t.seed), t.status, int(t.epochs))
        for t in trials.itertuples()
    )
    epoch_rows = tuple((int(e.trial_id), int(e.epoch), float(e.value)) for e in epochs.itertuples())
    return repr(sorted(settings.items())), trial_rows, epoch_rows


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished subprocesses, so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(run: Callable[[str, Path], None], case: str) -> tuple[float, float, tuple]:
    """Wall and CPU seconds of one run into a fresh folder, and what it recorded."""
    with tempfile.TemporaryDirectory(prefix="api-overhead-") as tmp:
        folder = Path(tmp)
        (folder / "space.yaml").write_text(SPACE_YAML)  # hpo run's, there before it starts
        wall, cpu = time.perf_counter(), _cpu_s()
        run(case, folder)
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
        return wall, cpu, recorded(folder / "study.db")


def _figures(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> dict[str, Any]:
    """Medians per side and their ratios, with the samples they come from."""
    med = {f"{side}_{unit}": statistics.median(samples[side])
           for unit, samples in (("wall_s", wall), ("cpu_s", cpu)) for side in ("search", "run")}  # fmt: skip
    ratio = med["search_wall_s"] / med["run_wall_s"]
    return {
        **{key: round(value, 4) for key, value in med.items()},
        "search_over_run": round(ratio, 3),
        "search_over_run_cpu": round(med["search_cpu_s"] / med["run_cpu_s"], 3),
        "meets_goal": ratio <= GOAL_RATIO,
        **{f"{side}_wall_s_samples": [round(x, 4) for x in wall[side]] for side in wall},
    }


def measure(case: str, repeats: int) -> dict[str, Any]:
    """Every side ``repeats`` times, alternating."""
    wall: dict[tuple[str, str], list[float]] = {key: [] for key in MEASURED}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in MEASURED}
    studies = set()  # what each run recorded: one element if all recorded the same
    for _ in range(repeats):
        for key, run in MEASURED.items():
            seconds, cpu_seconds, study = timed(run, case)
            wall[key].append(seconds)
            cpu[key].append(cpu_seconds)
            studies.add(study)
    _, trials, epochs = next(iter(studies))
    result: dict[str, Any] = {
        "settings": settings_of(case),
        "trials": len(trials),
        "epochs": len(epochs),
        "same_study": len(studies) == 1,
    }
    for way in SIDES:
        result[way] = _figures(
            {side: wall[way, side] for side in ("search", "run")},
            {side: cpu[way, side] for side in ("search", "run")},
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions, under a minute")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    args = parser.parse_args()
    # Run as a script, this folder is on the path, not the checkout: the trainer is imported
    # as bench.api_overhead, and hpo from this checkout (as the subprocesses import them).
    sys.path.insert(0, str(ROOT))
    from _common import write_report

    repeats = args.repeats or (3 if args.quick else 5)
    load_before = os.getloadavg()[0]
    for run in MEASURED.values():  # one untimed round: imports and caches, before any clock
        timed(run, next(iter(CASES)))
    results = {}
    for case in CASES:
        results[case] = measure(case, repeats)
        print(case, {way: results[case][way]["search_over_run"] for way in SIDES}, flush=True)
    report = {
        "benchmark": "api_overhead",
        "mode": "quick" if args.quick else "full",
        "repeats": repeats,
        "goal_search_over_run": GOAL_RATIO,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        # Other work on the machine shows in wall time first (the medians of alternated
        # runs absorb some of it; CPU time is less affected).
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "sides": SIDES,
        "note": "Both sides run hpo.launch.run_study; they differ only in what is around it "
        "(settings from Python objects or YAML and click; the result read back or the summary "
        "printed). An in-process search takes a few tenths of a second, most of it waiting on "
        "the function's thread hand-offs, so on a busy machine one run's wall time can vary "
        "several times over and a median of few repetitions can flip: search_over_run_cpu is "
        "the steadier figure, --repeats N a steadier median.",
        "cases": results,
    }
    write_report("api_overhead", report, args.quick, args.out)


if __name__ == "__main__":
    main()
