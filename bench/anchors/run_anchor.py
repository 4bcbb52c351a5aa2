"""The benchmark's anchors — Syne Tune, DEHB, SMAC — replaying a recorded table under the
same rules as our methods, in their own virtual environment (``make bench-anchors``:
``.venv-bench``; they pin numpy < 2, so they cannot share the project's).

    .venv-bench/bin/python bench/anchors/run_anchor.py --table T.parquet --metric val_accuracy \\
        --mode max --max-epochs 100 --eta 3 --budget 9515 --methods syne-asha,dehb \\
        --seeds 0,1,2 --workers 1,16 --out traces.jsonl

The table is the project's documented format (``config.<name>`` columns, ``config_id``,
``epoch``, the metric, ``seconds``). Each run writes one JSON line: every paid epoch's
simulated end time and value (NaN for an epoch trained but not reported), as the
project's ``hpo.quality.Trace`` reads them.

The rules, and where an anchor differs:

* **budget**: epochs paid, the same number for every method; the simulated clock is the
  table's per-epoch seconds; W workers;
* **configurations**: a proposal runs on a recorded row by the rule of the project's
  table sampler (``Table.row``, the distance of ``Curves.nearest``: numbers scaled to
  [0, 1] over the table's range, log-scaled when positive and spanning more than 20x,
  0/1 for categories): exact on a full grid; otherwise the nearest row not used yet in the
  run (a used row again only once all have been used); the same configuration asked again
  (a promotion, a higher fidelity) stays on its row;
* **Syne Tune 0.13.0** (``syne-*``): its own simulator (``UserBlackboxBackend`` with
  ``support_checkpointing``: a promoted trial resumes, as ours). 0.13.0 is the last
  release with MOBSTER, Hyper-Tune and promotion-type ASHA/HyperBand (0.16 dropped
  them). The table is a ``Blackbox`` whose objective looks the row up by that rule;
* **DEHB 0.1.2** and **SMAC 2.x** (Hyperband intensifier) retrain a configuration from
  scratch at every fidelity, by design: ``dehb`` and ``smac`` pay every epoch again;
  ``dehb-resume`` and ``smac-resume`` count only the epochs a configuration adds to what
  it trained before (as if it resumed), the other way to measure them.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import math
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd

SYNE = ("syne-random", "syne-asha", "syne-asha-stop", "syne-hyperband", "syne-bohb", "syne-mobster",
        "syne-hypertune", "syne-bo")  # fmt: skip
ASK_TELL = ("dehb", "dehb-resume", "smac", "smac-resume", "smac-bo")  # smac-bo: full budget only
METHODS = SYNE + ASK_TELL


class Table:
    """The recorded table as arrays, and the nearest-row lookup every anchor uses."""

    def __init__(
        self,
        path: str,
        metric: str,
        mode: str,
        max_epochs: int,
        numeric: tuple[str, ...] = (),
        log: tuple[str, ...] | None = None,
    ) -> None:
        frame = pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
        self.params = [c[len("config.") :] for c in frame.columns if c.startswith("config.")]
        ids = np.sort(frame["config_id"].unique())
        index = {c: i for i, c in enumerate(ids)}
        self.n = len(ids)
        self.R = max_epochs
        rows, cols = (
            frame["config_id"].map(index).to_numpy(),
            frame["epoch"].to_numpy().astype(int) - 1,
        )
        keep = cols < max_epochs
        self.values = np.full((self.n, max_epochs), np.nan)
        self.values[rows[keep], cols[keep]] = frame[metric].to_numpy(float)[keep]
        self.seconds = np.full((self.n, max_epochs), 1.0)
        if "seconds" in frame:
            self.seconds[rows[keep], cols[keep]] = frame["seconds"].to_numpy(float)[keep]
        firsts = frame.drop_duplicates("config_id").set_index("config_id").loc[ids]
        self.configs = firsts[[f"config.{p}" for p in self.params]].rename(columns=lambda c: c[7:])
        self.mode = mode
        self.numeric = {p: pd.api.types.is_numeric_dtype(self.configs[p]) and not pd.api.types.is_bool_dtype(self.configs[p])
                        and (self.configs[p].nunique() >= 8 or p in numeric) for p in self.params}  # fmt: skip
        self.choices = {
            p: sorted(self.configs[p].unique(), key=str) for p in self.params if not self.numeric[p]
        }
        self.is_grid = math.prod(len(v) for v in self.choices.values()) == self.n and not any(
            self.numeric.values()
        )
        # The distance of the project's ``Curves.nearest``: numbers scaled to [0, 1] over
        # the table's range (log when positive and spanning more than 20x), 0/1 otherwise.
        self._scaled: dict[str, np.ndarray] = {}
        self._scale: dict[str, tuple[float, float, bool]] = {}
        self.log: dict[str, bool] = {}
        for p in self.params:
            column = self.configs[p]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                v = column.to_numpy(float)
                self.log[p] = bool(v.min() > 0 and v.max() / v.min() > 20)
                x = np.log(v) if self.log[p] else v
                span = float(x.max() - x.min()) or 1.0
                self._scaled[p] = (x - x.min()) / span
                self._scale[p] = (float(v.min()), span, self.log[p])
        self._codes = {p: self.configs[p].astype(str).to_numpy() for p in self.params}
        self._lookup = {self._key(dict(zip(self.params, row, strict=True))): i
                        for i, row in enumerate(self.configs.itertuples(index=False))}  # fmt: skip
        # The search space's scales: ours (the space file's, ``--log``) when given.
        self.space_log = {p: (p in log if log is not None else self.log.get(p, False))
                          for p in self.params}  # fmt: skip
        self.reset()

    def reset(self) -> None:
        """A new run: no row used yet."""
        self._assigned: dict[tuple[str, ...], int] = {}
        self._used: set[int] = set()

    def _key(self, config: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(_plain(config[p])) for p in self.params)

    def nearest(
        self, config: dict[str, Any], exclude: set[int] | frozenset[int] = frozenset()
    ) -> int:
        index = self._lookup.get(self._key(config))
        if index is not None and index not in exclude:
            return index
        d = np.zeros(self.n)
        for p in self.params:
            value = config[p]
            if (
                p in self._scale
                and isinstance(value, (int, float, np.number))
                and not isinstance(value, (bool, np.bool_))
            ):
                low, span, log = self._scale[p]
                x = math.log(max(float(value), low)) - math.log(low) if log else float(value) - low
                d += np.abs(self._scaled[p] - x / span)
            else:
                d += self._codes[p] != str(_plain(value))
        if exclude:
            d[list(exclude)] = np.inf
        return int(np.argmin(d))

    def peek(self, config: dict[str, Any]) -> int:
        """The row ``row`` would give, without using it."""
        key = self._key(config)
        if key in self._assigned:
            return self._assigned[key]
        return self.nearest(config, self._used if len(self._used) < self.n else frozenset())

    def row(self, config: dict[str, Any]) -> int:
        """The row a configuration runs on, as the project's table sampler picks it: the
        same configuration always the same row; a new one the nearest row not used yet in
        this run (a used row again only once all have been used)."""
        key = self._key(config)
        if key not in self._assigned:
            exclude = self._used if len(self._used) < self.n else frozenset()
            self._assigned[key] = row = self.nearest(config, exclude)
            self._used.add(row)
        return self._assigned[key]

    def worst(self) -> float:
        finite = self.values[np.isfinite(self.values)]
        return float(finite.min() if self.mode == "max" else finite.max())


# -- Syne Tune: its own simulator ---------------------------------------------------------------------


def run_syne(
    method: str, table: Table, seed: int, workers: int, budget: int, eta: int
) -> dict[str, Any]:
    os.environ.setdefault("SYNETUNE_FOLDER", tempfile.mkdtemp(prefix="syne_"))
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.blackbox_repository.blackbox import Blackbox
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.config_space import choice, loguniform, randint, uniform
    from syne_tune.optimizer.baselines import (
        ASHA,
        BOHB,
        MOBSTER,
        BayesianOptimization,
        HyperTune,
        RandomSearch,
    )

    metric = "objective"
    values = np.where(
        np.isfinite(table.values), table.values, table.worst()
    )  # Syne Tune needs numbers
    # Time since the trial started, scaled so that Syne Tune's floor of 0.01 s per report and
    # 1 ms per stop are negligible; the times are scaled back below.
    elapsed = np.cumsum(table.seconds, axis=1) * _SCALE
    space: dict[str, Any] = {
        p: choice([_plain(v) for v in table.choices[p]]) for p in table.choices
    }
    for p in table.params:
        if table.numeric[p]:  # many values: a range, as our samplers see it
            v = table.configs[p].to_numpy(float)
            if pd.api.types.is_integer_dtype(table.configs[p]):
                space[p] = randint(int(v.min()), int(v.max()))
            else:
                space[p] = (loguniform if table.space_log[p] else uniform)(
                    float(v.min()), float(v.max())
                )
    curves = np.stack([values, elapsed, table.seconds], axis=-1)  # (rows, epochs, objectives)

    class Rows(Blackbox):
        """The table as Syne Tune's blackbox: a configuration runs on the row the
        project's table sampler would give it (``Table.row``), exact on a full grid."""

        def __init__(self) -> None:
            super().__init__(configuration_space=space, fidelity_space={"epoch": randint(1, table.R)},
                             objectives_names=[metric, "elapsed", "epoch_seconds"])  # fmt: skip

        @property
        def fidelity_values(self) -> np.ndarray:
            return np.arange(1, table.R + 1)

        def _objective_function(self, configuration: dict[str, Any], fidelity: Any = None,
                                seed: Any = None) -> Any:  # fmt: skip
            curve = curves[table.row(configuration)]
            if fidelity is None:
                return curve
            return dict(
                zip(
                    self.objectives_names,
                    curve[int(next(iter(fidelity.values()))) - 1],
                    strict=True,
                )
            )

    blackbox = Rows()
    cs = dict(space, epochs=table.R)
    mode = "max" if table.mode == "max" else "min"
    kw = {"metric": metric, "mode": mode, "resource_attr": "epoch", "max_resource_attr": "epochs",
          "grace_period": 1, "reduction_factor": eta, "random_seed": seed}  # fmt: skip
    make = {
        "syne-random": lambda: RandomSearch(cs, metric=metric, mode=mode, random_seed=seed),
        "syne-bo": lambda: BayesianOptimization(cs, metric=metric, mode=mode, random_seed=seed),
        "syne-asha": lambda: ASHA(cs, type="promotion", **kw),
        "syne-asha-stop": lambda: ASHA(cs, type="stopping", **kw),
        "syne-hyperband": lambda: ASHA(
            cs, type="promotion", brackets=_brackets(table.R, eta), **kw
        ),
        "syne-bohb": lambda: BOHB(cs, type="promotion", **kw),
        "syne-mobster": lambda: MOBSTER(cs, type="promotion", search_options=_GP_REFIT, **kw),
        "syne-hypertune": lambda: HyperTune(
            cs, type="promotion", brackets=_brackets(table.R, eta), search_options=_GP_REFIT, **kw
        ),
    }[method]
    backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr="elapsed", max_resource_attr="epochs",
                                  simulator_config=_NO_DELAY())  # fmt: skip
    backend._advance_by_outside_time = lambda: None  # decisions take no simulated time, as for ours
    callback = _EventClock()
    tuner = Tuner(trial_backend=backend, scheduler=make(), n_workers=workers, sleep_time=0,
                  stop_criterion=StoppingCriterion(max_num_evaluations=budget), callbacks=[callback],
                  save_tuner=False, print_update_interval=1e9, tuner_name=f"anchor-{method}-{seed}")  # fmt: skip
    start = time.perf_counter()
    tuner.run()
    df = callback.dataframe().sort_values("st_tuner_time", kind="stable").head(budget)
    # Busy: what each reported epoch took (the table's seconds), over W × the span.
    span = float(df["st_tuner_time"].max()) / _SCALE
    busy = float(df["epoch_seconds"].sum())  # each reported epoch's recorded seconds
    return {"ended_at": (df["st_tuner_time"] / _SCALE).tolist(), "values": df[metric].tolist(),
            "trials": int(df["trial_id"].nunique()), "busy_fraction": busy / (workers * span) if span else 0.0,
            "real_s": time.perf_counter() - start}  # fmt: skip


_SCALE = 1e4
# MOBSTER and Hyper-Tune refit their GP's hyperparameters at every decision by default; after
# the first 150 observations they do so every 10th decision here (the posterior still takes
# every observation): with the default, one run of ~10,000 epochs took over 40 minutes.
_GP_REFIT = {"opt_skip_init_length": 150, "opt_skip_period": 10}


def _NO_DELAY() -> Any:
    """No simulated delays: an epoch takes the table's seconds and nothing else, as for ours
    (Syne Tune's default adds 0.05 s to every report, start and stop)."""
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig

    return SimulatorConfig(delay_on_trial_result=0, delay_complete_after_final_report=0,
                           delay_complete_after_stop=0, delay_start=0, delay_stop=0)  # fmt: skip


def _EventClock() -> Any:
    """Syne Tune's ``SimulatorCallback``, but a waiting tuner jumps to the next event instead
    of sleeping a fixed 5 s of simulated time (which would leave workers idle up to 5 s per
    event): an exact discrete-event clock, as ours."""
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback

    class EventClock(SimulatorCallback):
        def on_tuning_start(self, tuner: Any) -> None:
            super().on_tuning_start(tuner)
            self._backend = tuner.trial_backend

        def on_tuning_sleep(self, sleep_time: float) -> None:
            heap = self._backend._simulator_state.event_heap
            if heap:
                self._time_keeper.advance_to(heap[0][0])
            else:
                self._time_keeper.advance(self._tuner_sleep_time)

    return EventClock()


def _brackets(R: int, eta: int) -> int:
    s, power = 0, eta
    while power <= R:
        s, power = s + 1, power * eta
    return s + 1


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):  # Syne Tune's choices are str, int or float
        return str(bool(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


# -- DEHB and SMAC: ask/tell on our own W-worker clock ------------------------------------------------


def configspace(table: Table, seed: int) -> Any:
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    hps = []
    for p in table.params:
        if table.numeric[p]:
            v = table.configs[p].to_numpy(float)
            if pd.api.types.is_integer_dtype(table.configs[p]):
                hps.append(CS.Integer(p, (int(v.min()), int(v.max())), log=table.space_log[p]))
            else:
                hps.append(CS.Float(p, (float(v.min()), float(v.max())), log=table.space_log[p]))
        else:
            hps.append(CS.Categorical(p, [str(c) for c in table.choices[p]]))
    cs.add(hps)
    return cs


def run_ask_tell(
    method: str, table: Table, seed: int, workers: int, budget: int, eta: int
) -> dict[str, Any]:
    """W jobs in flight; a job (config, fidelity f) takes the recorded seconds of its epochs:
    all f of them (a retrain), or with ``-resume`` those beyond what the same configuration
    trained before. Its epochs are paid as they end; only the last one's value is seen."""
    start_real = time.perf_counter()
    resume = method.endswith("-resume")
    opt = _make_optimiser(method.removesuffix("-resume"), table, seed, eta)
    trained: dict[int, int] = {}  # row -> epochs it has (for resume accounting)
    heap: list[tuple[float, int, Any, int, int, float]] = []
    points: list[tuple[float, float]] = []
    committed, order, busy, trials = 0, 0, 0.0, 0
    now = 0.0

    def launch(at: float) -> bool:
        nonlocal committed, order, busy, trials
        job, config, fidelity = opt.ask()
        row = table.peek(config)
        f = max(1, min(round(fidelity), table.R))
        first = trained.get(row, 0) if resume else 0
        first = min(first, f - 1)
        cost = max(1, f - first)
        if committed + cost > budget:
            return False  # a job the budget cannot pay for takes no row
        table.row(config)
        committed += cost
        t = at
        for e in range(first, f):  # every epoch this job trains is paid when it ends
            t += float(table.seconds[row, e])
            points.append((t, float(table.values[row, e]) if e == f - 1 else math.nan))
        busy += t - at
        trials += 1
        order += 1
        heapq.heappush(heap, (t, order, job, row, f, float(table.values[row, f - 1])))
        trained[row] = max(trained.get(row, 0), f)
        return True

    for _ in range(workers):
        if not launch(0.0):
            break
    while heap:
        now, _, job, _row, _f, value = heapq.heappop(heap)
        opt.tell(job, value)
        launch(now)
    points.sort(key=lambda p: p[0])
    span = points[-1][0] if points else 0.0
    return {"ended_at": [p[0] for p in points], "values": [p[1] for p in points], "trials": trials,
            "busy_fraction": busy / (workers * span) if span else 0.0, "real_s": time.perf_counter() - start_real}  # fmt: skip


class _DEHB:
    def __init__(self, table: Table, seed: int, eta: int) -> None:
        from dehb import DEHB

        self.table = table
        self.opt = DEHB(f=lambda *a, **k: None, cs=configspace(table, seed), min_fidelity=1,
                        max_fidelity=table.R, eta=eta, n_workers=1, seed=seed,
                        output_path=tempfile.mkdtemp(prefix="dehb_"), log_level="ERROR")  # fmt: skip

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        job = self.opt.ask()
        return job, _typed(dict(job["config"]), self.table), float(job["fidelity"])

    def tell(self, job: Any, value: float) -> None:
        fitness = _loss(value, self.table)
        self.opt.tell(job, {"fitness": fitness, "cost": 1.0})


class _SMAC:
    def __init__(self, table: Table, seed: int, eta: int) -> None:
        from smac import MultiFidelityFacade, Scenario
        from smac.intensifier.hyperband import Hyperband

        self.table = table
        scenario = Scenario(configspace(table, seed), deterministic=True, n_trials=10**7, min_budget=1,
                            max_budget=table.R, seed=seed, output_directory=tempfile.mkdtemp(prefix="smac_"))  # fmt: skip
        self.opt = MultiFidelityFacade(scenario, target_function=lambda config, seed=0, budget=1: 0.0,
                                       intensifier=Hyperband(scenario, eta=eta, incumbent_selection="highest_observed_budget"),
                                       overwrite=True, logging_level=40)  # fmt: skip

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        info = self.opt.ask()
        return info, _typed(dict(info.config), self.table), float(info.budget)

    def tell(self, info: Any, value: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.opt.tell(info, TrialValue(cost=_loss(value, self.table), time=1.0))


class _SMACBO(_SMAC):
    """SMAC's HPO facade (random forest, full budget only): for tables of final values."""

    def __init__(self, table: Table, seed: int, eta: int) -> None:
        from smac import HyperparameterOptimizationFacade, Scenario

        self.table = table
        scenario = Scenario(configspace(table, seed), deterministic=True, n_trials=10**7, seed=seed,
                            output_directory=tempfile.mkdtemp(prefix="smac_"))  # fmt: skip
        self.opt = HyperparameterOptimizationFacade(scenario, target_function=lambda config, seed=0: 0.0,
                                                    overwrite=True, logging_level=40)  # fmt: skip

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        info = self.opt.ask()
        return info, _typed(dict(info.config), self.table), float(self.table.R)


def _make_optimiser(kind: str, table: Table, seed: int, eta: int) -> Any:
    return {"dehb": _DEHB, "smac": _SMAC, "smac-bo": _SMACBO}[kind](table, seed, eta)


def _typed(config: dict[str, Any], table: Table) -> dict[str, Any]:
    """Categories come back as text: the table's own values, for the nearest row."""
    out = dict(config)
    for p, choices in table.choices.items():
        by_text = {str(c): c for c in choices}
        out[p] = by_text.get(str(out[p]), out[p])
    return out


def _loss(value: float, table: Table) -> float:
    if not math.isfinite(value):
        value = table.worst()
    return -value if table.mode == "max" else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--metric", default="val_accuracy")
    parser.add_argument("--mode", choices=["max", "min"], default="max")
    parser.add_argument("--max-epochs", type=int, required=True)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--methods", required=True)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--numeric", default="", help="columns to treat as ranges (a,b,c)")
    parser.add_argument(
        "--log", default=None, help="ranges sampled on a log scale (a,b) [by the data]"
    )
    args = parser.parse_args()
    table = Table(args.table, args.metric, args.mode, args.max_epochs,
                  tuple(c for c in args.numeric.split(",") if c),
                  None if args.log is None else tuple(c for c in args.log.split(",") if c))  # fmt: skip
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown anchor {unknown[0]!r}; expected some of {', '.join(METHODS)}")
    with open(args.out, "a") as out:
        for method in methods:
            for w in (int(x) for x in args.workers.split(",")):
                for seed in (int(x) for x in args.seeds.split(",")):
                    run = run_syne if method in SYNE else run_ask_tell
                    table.reset()
                    result = run(method, table, seed, w, args.budget, args.eta)
                    out.write(
                        json.dumps({"method": method, "seed": seed, "workers": w, **result}) + "\n"
                    )
                    out.flush()
                    print(
                        f"{method} seed {seed} W={w}: {result['real_s']:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )


if __name__ == "__main__":
    main()
