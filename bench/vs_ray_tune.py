"""The same ASHA schedule run by this project's Ray runner and by Ray Tune's ASHAScheduler.

81 trials, at most 27 epochs, η = 3, grace period 1; the same 81 configurations in the
same order on both sides, two workers (Ray started once for everything, its start-up
counted apart). Ray Tune's ASHA only stops trials, so the comparable schedule here is
our ASHA in its stop-only form; our promotion form (paused trials resume) is measured
too. Ray Tune runs in its fastest setting (a class Trainable with ``reuse_actors=True``)
and its default one (``reuse_actors=False``).

Two trainers: a trivial one (microseconds per epoch: pure framework overhead) and the
numpy MLP on digits. Figures: wall seconds of each run (median of repeats), the ratio
``ours / tune_fastest``, and the best validation accuracy each found.

    python bench/vs_ray_tune.py            # 3 repeats
    python bench/vs_ray_tune.py --quick    # 1 repeat, under a minute (or close)

Writes ``results/benchmarks/vs_ray_tune.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import RAY_TUNE, require, write_report

N_TRIALS, MAX_EPOCHS, ETA, WORKERS = 81, 27, 3, 2

MLP_SPACE = {
    "hidden_layer_sizes": {"values": [[32], [64], [128], [64, 64]]},
    "activation": ["relu", "tanh", "elu", "logistic"],
    "learning_rate_init": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "alpha": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
}


def configs(kind: str) -> list[dict]:
    from hpo.space import SearchSpace

    if kind == "trivial":
        rng = np.random.default_rng(0)
        return [{"quality": float(q)} for q in rng.uniform(size=N_TRIALS)]
    space = SearchSpace.from_dict(MLP_SPACE)
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(N_TRIALS)]


class ListSampler:
    """The same fixed list of configurations, in order (both sides see the same trials)."""

    def __init__(self, items: list[dict]) -> None:
        self.items, self.i = items, 0

    def sample(self) -> dict | None:
        if self.i >= len(self.items):
            return None
        self.i += 1
        return dict(self.items[self.i - 1])

    def observe(self, config: dict, epochs: int, score: float) -> None:
        pass


def run_ours(kind: str, items: list[dict], stop_only: bool) -> tuple[float, float]:
    from hpo.runners._ray import RayRunner
    from hpo.schedulers import ASHA
    from hpo.settings import TrainerSpec
    from hpo.store import StudyWriter
    from hpo.tuner import Tuner

    if kind == "trivial":
        spec, dataset = TrainerSpec("trainers.toy:ToyTrainer", None), None
    else:
        spec = TrainerSpec("trainers.mlp:MLPTrainer", "digits")
        dataset = spec.load_dataset()
    start = time.perf_counter()
    runner = RayRunner(spec, WORKERS, dataset=dataset)
    scheduler = ASHA(
        ListSampler(items), MAX_EPOCHS, eta=ETA, n_configs=N_TRIALS, stop_only=stop_only
    )
    with tempfile.TemporaryDirectory() as tmp:
        writer = StudyWriter(Path(tmp) / "s.db", "bench")
        writer.create({"space": kind}, metric="val_accuracy", mode="max", scheduler="asha")
        Tuner(scheduler, runner, writer).run()
        writer.close("finished")
    runner.close()
    return time.perf_counter() - start, scheduler.best_value


def run_tune(kind: str, items: list[dict], reuse_actors: bool) -> tuple[float, float]:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from trainers.data import load_dataset

    dataset = load_dataset("digits") if kind == "mlp" else None

    class Trainable(tune.Trainable):
        def setup(self, config: dict, data: Any = None) -> None:
            from trainers.mlp import MLPTrainer
            from trainers.toy import ToyTrainer

            params = items[config["index"]]
            self.inner = ToyTrainer() if kind == "trivial" else MLPTrainer(data)
            self.inner.setup(params, config["index"])

        def step(self) -> dict:
            return self.inner.step()

        def save_checkpoint(self, checkpoint_dir: str) -> None:
            with open(os.path.join(checkpoint_dir, "state.pkl"), "wb") as f:
                pickle.dump(self.inner.save(), f)

        def load_checkpoint(self, checkpoint_dir: str) -> None:
            with open(os.path.join(checkpoint_dir, "state.pkl"), "rb") as f:
                self.inner.restore(pickle.load(f))

        def reset_config(self, new_config: dict) -> bool:
            self.inner.setup(items[new_config["index"]], new_config["index"])
            return True

    trainable = tune.with_parameters(Trainable, data=dataset)
    scheduler = ASHAScheduler(max_t=MAX_EPOCHS, grace_period=1, reduction_factor=ETA)
    with tempfile.TemporaryDirectory() as tmp:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"index": tune.grid_search(list(range(N_TRIALS)))},
            tune_config=tune.TuneConfig(
                metric="val_accuracy", mode="max", scheduler=scheduler,
                max_concurrent_trials=WORKERS, reuse_actors=reuse_actors,
            ),
            run_config=tune.RunConfig(storage_path=tmp, verbose=0, stop={"training_iteration": MAX_EPOCHS}),
        )  # fmt: skip
        start = time.perf_counter()
        results = tuner.fit()
        seconds = time.perf_counter() - start
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"Ray Tune trials failed: {errors[0]}")
    frame = results.get_dataframe(filter_metric="val_accuracy", filter_mode="max")
    return seconds, float(frame["val_accuracy"].max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    require(RAY_TUNE)
    repeats = args.repeats or (1 if args.quick else 3)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    logging.getLogger("ray").setLevel(logging.ERROR)

    from hpo.runners._ray import start_ray

    t0 = time.perf_counter()
    start_ray(WORKERS)
    ray_start = time.perf_counter() - t0
    variants = {
        "ours_stop_only": lambda kind, items: run_ours(kind, items, stop_only=True),
        "ours_promotion": lambda kind, items: run_ours(kind, items, stop_only=False),
        "tune_reuse_actors": lambda kind, items: run_tune(kind, items, reuse_actors=True),
        "tune_default": lambda kind, items: run_tune(kind, items, reuse_actors=False),
    }
    # Warm-up, not measured: Ray prestarts a pool of worker processes that only the first
    # actors to be created can take; after this, every variant starts its own processes.
    run_ours("trivial", configs("trivial"), stop_only=True)
    run_tune("trivial", configs("trivial"), reuse_actors=True)
    results: dict[str, dict] = {}
    for kind in ("trivial", "mlp"):
        items = configs(kind)
        walls: dict[str, list[float]] = {v: [] for v in variants}
        bests: dict[str, float] = {}
        for _ in range(repeats):
            for name, run in variants.items():  # interleaved: drift hits every variant
                seconds, best = run(kind, items)
                walls[name].append(seconds)
                bests[name] = best
                print(kind, name, round(seconds, 2), round(best, 4), flush=True)
        case = {name: {"wall_s": round(statistics.median(w), 3), "best_val_accuracy": round(bests[name], 4)}
                for name, w in walls.items()}  # fmt: skip
        fastest = case["tune_reuse_actors"]["wall_s"]
        for name in ("ours_stop_only", "ours_promotion"):
            case[name]["wall_ratio_vs_tune_fastest"] = round(case[name]["wall_s"] / fastest, 3)
        goal = 0.2 if kind == "trivial" else 0.5
        case["goal_ratio"] = goal
        case["meets_goal"] = case["ours_stop_only"]["wall_ratio_vs_tune_fastest"] <= goal
        results[f"asha-{kind}"] = case
    report = {
        "benchmark": "vs_ray_tune",
        "mode": "quick" if args.quick else "full",
        "schedule": {"trials": N_TRIALS, "max_epochs": MAX_EPOCHS, "eta": ETA, "grace_period": 1},
        "workers": WORKERS,
        "repeats": repeats,
        "ray_start_s": round(ray_start, 2),
        "note": "wall_s excludes Ray's start-up; includes each side's own worker start and result storage",
        "cases": results,
    }
    write_report("vs_ray_tune", report, args.quick)


if __name__ == "__main__":
    main()
