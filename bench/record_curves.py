"""Record the learning curve of every configuration of the report's grid: the tabulated benchmark.

Each of the 2,520 configurations of ``search_spaces/report_grid.yaml`` is trained on
``digits`` for 100 epochs (seed = its index in the grid, float32, one BLAS thread per
process, all cores), recording per epoch the validation accuracy and loss and the
seconds the epoch took. Progress is kept in ``results/curves-progress.db``, so an
interrupted run continues where it stopped. The table is written, compressed, to
``results/benchmarks/report_grid_curves.parquet``: one row per (configuration, epoch),
with ``config_id``, ``config.<name>`` columns, ``epoch``, ``val_accuracy``, ``val_loss``
and ``seconds`` (what ``hpo simulate`` and ``bench/search_quality.py`` replay).

    python bench/record_curves.py              # everything (about 10 minutes on 2 cores)
    python bench/record_curves.py --quick      # the first 40 configurations, 20 epochs

Any other space and dataset too: a grid is enumerated, a continuous space sampled
(``--n`` configurations, seed 0). The harder table of the search-quality benchmark:

    python bench/record_curves.py --space search_spaces/deep_mlp.yaml --dataset synthetic10 \
        --n 1000 --epochs 81 --out results/benchmarks/deep_mlp_synthetic10_curves.parquet
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "search_spaces" / "report_grid.yaml"
OUT = ROOT / "results" / "benchmarks" / "report_grid_curves.parquet"


def configs(space_file: Path = SPACE, n: int | None = None) -> list[dict]:
    """The grid of a grid space, or ``n`` configurations sampled (seed 0) from any other."""
    from hpo.space import SearchSpace, read_yaml

    doc = read_yaml(str(space_file))
    space = SearchSpace.from_dict(doc["space"], doc.get("fixed"))
    if space.is_grid and n is None:
        return list(space.grid())
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(n or 1000)]


_DATASETS: dict[str, object] = {}


def _train(job: tuple[int, dict, int, str]) -> tuple[int, list[tuple[float, float, float]]]:
    from trainers.data import load_dataset
    from trainers.mlp import MLPTrainer

    config_id, config, epochs, dataset = job
    if dataset not in _DATASETS:  # once per worker process
        _DATASETS[dataset] = load_dataset(dataset)
    trainer = MLPTrainer(_DATASETS[dataset], dtype="float32")
    trainer.setup(config, config_id)
    rows = []
    for _ in range(epochs):
        start = time.perf_counter()
        m = trainer.step()
        rows.append((m["val_accuracy"], m["val_loss"], time.perf_counter() - start))
    return config_id, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 configurations, 20 epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N configurations")
    parser.add_argument("--progress", type=Path, default=None, help="progress database")
    parser.add_argument("--out", type=Path, default=None, help="the table (parquet)")
    parser.add_argument("--space", type=Path, default=SPACE, help="[default: the report's grid]")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--n", type=int, default=None, help="configurations of a sampled space")
    args = parser.parse_args()
    epochs = args.epochs or (20 if args.quick else 100)
    grid = configs(args.space, args.n)[: args.limit or (40 if args.quick else None)]
    default_space = args.space == SPACE and args.dataset == "digits"
    stem = (
        "curves-progress" if default_space else f"curves-progress-{args.space.stem}-{args.dataset}"
    )
    progress = args.progress or (
        ROOT / "results" / (f"{stem}-quick.db" if args.quick else f"{stem}.db")
    )
    progress.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(progress)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS curves (config_id INTEGER PRIMARY KEY, epochs INTEGER, rows TEXT)"
    )
    done = {r[0] for r in conn.execute("SELECT config_id FROM curves WHERE epochs = ?", (epochs,))}
    jobs = [(i, c, epochs, args.dataset) for i, c in enumerate(grid) if i not in done]
    print(f"{len(done)} of {len(grid)} configurations recorded; {len(jobs)} to go", flush=True)
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for n, (config_id, rows) in enumerate(pool.imap_unordered(_train, jobs), start=1):
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO curves VALUES (?, ?, ?)",
                    (config_id, epochs, json.dumps(rows)),
                )
            if n % 50 == 0 or n == len(jobs):
                rate = n / (time.perf_counter() - start)
                print(f"  {len(done) + n} of {len(grid)} ({rate:.2f} configurations/s)", flush=True)
    records = []
    for config_id, rows in conn.execute(
        "SELECT config_id, rows FROM curves WHERE epochs = ?", (epochs,)
    ):
        if config_id >= len(grid):
            continue  # recorded by a run over more of the grid
        config = grid[config_id]
        flat = {
            f"config.{k}": json.dumps(list(v)) if isinstance(v, tuple) else v
            for k, v in config.items()
        }
        for epoch, (acc, loss, seconds) in enumerate(json.loads(rows), start=1):
            records.append({"config_id": config_id, "epoch": epoch, "val_accuracy": acc, "val_loss": loss,
                            "seconds": seconds, **flat})  # fmt: skip
    conn.close()
    frame = pd.DataFrame.from_records(records).sort_values(["config_id", "epoch"])
    for col in ("val_accuracy", "val_loss", "seconds"):
        frame[col] = frame[col].astype(np.float32)
    for col in [c for c in frame.columns if c.startswith("config.")]:
        frame[col] = frame[col].astype("category") if frame[col].dtype == object else frame[col]
    out = args.out or (OUT.with_name("report_grid_curves.quick.parquet") if args.quick else OUT)
    frame.to_parquet(out, index=False, compression="zstd")
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB, {frame['config_id'].nunique()} configurations, "
          f"{len(frame)} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
