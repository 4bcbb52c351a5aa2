"""Time per epoch of our numpy MLPTrainer against scikit-learn's MLPClassifier and PyTorch.

Same data, architecture, solver, batch size and dtype; one BLAS thread (and one PyTorch
thread, on the CPU); the three run interleaved in one process, and each figure is the
median over repeats. Our epoch includes the validation pass that a search needs
(``val_loss``, ``val_accuracy``), and so does PyTorch's (``TorchMLPTrainer``, the same
network in ``torch.nn``/``torch.optim``); scikit-learn's does not
(``early_stopping=False``), so that comparison is conservative. All three train the same
model (Glorot initialisation, scikit-learn's effective L2 penalty), so their test
accuracies after the timed epochs are comparable. This is the report's §4.3 comparison
of a from-scratch implementation with the libraries.

    python bench/trainer_speed.py            # full: more epochs and repeats
    python bench/trainer_speed.py --quick    # under a minute; prints the JSON

Writes ``results/benchmarks/trainer_speed.json``: for each case, ``ours_ms_per_epoch``,
``sklearn_ms_per_epoch``, ``speedup_vs_sklearn`` (their time over ours),
``torch_ms_per_epoch``, ``speedup_vs_torch`` (PyTorch's time over ours), and the test
accuracy of each after the timed epochs. Without PyTorch installed the torch figures
are left out (``pip install -e '.[torch]'``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from _common import write_report
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from trainers.data import Dataset, load_dataset
from trainers.mlp import MLPTrainer

try:
    import torch

    from trainers.torch_mlp import TorchMLPTrainer
except ImportError:  # the torch figures are optional
    torch = TorchMLPTrainer = None  # type: ignore[assignment]


@dataclass
class Case:
    name: str
    dataset: str
    hidden: tuple[int, ...]
    solver: str
    epochs: dict[str, int] = field(default_factory=lambda: {"quick": 15, "full": 100})


CASES = [
    Case("digits-100-adam", "digits", (100,), "adam"),
    Case("digits-5x100-sgd", "digits", (100,) * 5, "sgd"),
    Case("synthetic20k-100-adam", "synthetic20k", (100,), "adam", {"quick": 3, "full": 30}),
]


def synthetic_20k() -> Dataset:
    """20,000 samples, 40 features, 5 classes, split 60/20/20 and standardised."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(
        n_samples=20_000, n_features=40, n_informative=20, n_classes=5, random_state=0
    )
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    s = StandardScaler().fit(X_train)
    return Dataset(
        "synthetic20k", s.transform(X_train), y_train, s.transform(X_val), y_val,
        s.transform(X_test), y_test, tuple(range(5)), tuple(f"x{i}" for i in range(40)),
    )  # fmt: skip


def same_model(case: Case) -> dict:
    """MLPClassifier's defaults: Glorot initialisation, and its L2 penalty, which
    scikit-learn divides by the batch size (alpha 1e-4 / 200)."""
    return {
        "hidden_layer_sizes": case.hidden,
        "solver": case.solver,
        "init": "glorot",
        "alpha": 1e-4 / 200,
    }


def time_ours(data: Dataset, case: Case, dtype: str, epochs: int, seed: int) -> tuple[float, float]:
    trainer = MLPTrainer(data, dtype=dtype)
    trainer.setup(same_model(case), seed)
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.step()
    elapsed = time.perf_counter() - start
    acc = float((trainer.predict(data.X_test) == data.y_test).mean())
    return elapsed / epochs, acc


def time_sklearn(
    data: Dataset, case: Case, dtype: str, epochs: int, seed: int
) -> tuple[float, float]:
    clf = MLPClassifier(
        case.hidden, solver=case.solver, max_iter=epochs, tol=0.0,
        n_iter_no_change=10**9, random_state=seed,
    )  # fmt: skip
    X = data.X_train.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, data.y_train)
        elapsed = time.perf_counter() - start
    return elapsed / clf.n_iter_, float(clf.score(data.X_test.astype(dtype), data.y_test))


def time_torch(
    data: Dataset, case: Case, dtype: str, epochs: int, seed: int
) -> tuple[float, float]:
    """The same network and epoch (validation pass included) in PyTorch, on the CPU."""
    trainer = TorchMLPTrainer(data, dtype=dtype, device="cpu", threads=1)
    trainer.setup(same_model(case), seed)
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.step()
    elapsed = time.perf_counter() - start
    acc = float((trainer.predict(data.X_test) == data.y_test).mean())
    return elapsed / epochs, acc


#: The report's §4 aids on the 5×100 digits network (float32, sgd): what each costs per
#: epoch next to the plain network, ours and PyTorch's (scikit-learn has none of them).
AIDS = {
    "plain": {},
    "dropout": {"dropout": 0.2},
    "batch-norm": {"normalization": "batch"},
    "layer-norm": {"normalization": "layer"},
    "residual": {"residual": True},
    "all": {"dropout": 0.2, "normalization": "batch", "residual": True},
}


def time_aids(data: Dataset, mode: str, repeats: int) -> dict[str, dict]:
    case = Case("digits-5x100-sgd", "digits", (100,) * 5, "sgd")
    epochs = {"quick": 5, "full": 40}[mode]
    out: dict[str, dict] = {}
    timings: dict[str, dict[str, list[float]]] = {k: {"ours": [], "torch": []} for k in AIDS}
    for r in range(repeats):
        for name, extra in AIDS.items():  # interleaved
            for side, make in (("ours", MLPTrainer), ("torch", TorchMLPTrainer)):
                if make is None:
                    continue
                kwargs = {"device": "cpu", "threads": 1} if side == "torch" else {}
                trainer = make(data, dtype="float32", **kwargs)
                trainer.setup({**same_model(case), **extra}, r)
                start = time.perf_counter()
                for _ in range(epochs):
                    trainer.step()
                timings[name][side].append((time.perf_counter() - start) / epochs)
    plain = {side: statistics.median(v) for side, v in timings["plain"].items() if v}
    for name, sides in timings.items():
        row: dict = {"config": AIDS[name], "epochs": epochs, "repeats": repeats}
        for side, values in sides.items():
            if values:
                row[f"{side}_ms_per_epoch"] = round(1e3 * statistics.median(values), 3)
                row[f"{side}_cost_vs_plain"] = round(statistics.median(values) / plain[side], 2)
        if sides["torch"]:
            row["speedup_vs_torch"] = round(
                statistics.median(sides["torch"]) / statistics.median(sides["ours"]), 2
            )
        out[f"aids-digits-5x100-sgd-float32-{name}"] = row
        print(name, row, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run, under a minute")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    repeats = args.repeats or (3 if args.quick else 5)
    data = {"digits": load_dataset("digits"), "synthetic20k": synthetic_20k()}
    results: dict[str, dict] = {}
    with threadpool_limits(limits=1):
        for case in CASES:
            epochs = case.epochs[mode]
            for dtype in ("float32", "float64"):
                ours, theirs, acc_ours, acc_theirs = [], [], [], []
                torch_t, acc_torch = [], []
                for r in range(repeats):  # interleaved, so drift on the machine hits all
                    t, a = time_ours(data[case.dataset], case, dtype, epochs, seed=r)
                    ours.append(t)
                    acc_ours.append(a)
                    t, a = time_sklearn(data[case.dataset], case, dtype, epochs, seed=r)
                    theirs.append(t)
                    acc_theirs.append(a)
                    if TorchMLPTrainer is not None:
                        t, a = time_torch(data[case.dataset], case, dtype, epochs, seed=r)
                        torch_t.append(t)
                        acc_torch.append(a)
                key = f"{case.name}-{dtype}"
                results[key] = {
                    "dataset": case.dataset,
                    "hidden_layer_sizes": list(case.hidden),
                    "solver": case.solver,
                    "dtype": dtype,
                    "epochs": epochs,
                    "repeats": repeats,
                    "ours_ms_per_epoch": round(1e3 * statistics.median(ours), 3),
                    "sklearn_ms_per_epoch": round(1e3 * statistics.median(theirs), 3),
                    "speedup_vs_sklearn": round(
                        statistics.median(theirs) / statistics.median(ours), 2
                    ),
                    "ours_test_accuracy": round(statistics.median(acc_ours), 4),
                    "sklearn_test_accuracy": round(statistics.median(acc_theirs), 4),
                }
                if torch_t:
                    results[key].update(
                        torch_ms_per_epoch=round(1e3 * statistics.median(torch_t), 3),
                        speedup_vs_torch=round(
                            statistics.median(torch_t) / statistics.median(ours), 2
                        ),
                        torch_test_accuracy=round(statistics.median(acc_torch), 4),
                    )
                print(key, "vs sklearn", results[key]["speedup_vs_sklearn"], "vs torch",
                      results[key].get("speedup_vs_torch"), flush=True)  # fmt: skip
        results.update(time_aids(data["digits"], mode, repeats))
    report = {
        "benchmark": "trainer_speed",
        "mode": mode,
        "blas_threads": 1,
        "torch_threads": 1,
        "note": "ours and torch include a validation pass per epoch; scikit-learn's does not",
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__ if torch is not None else "not installed",
        },
        "cases": results,
    }
    write_report("trainer_speed", report, args.quick)


if __name__ == "__main__":
    main()
