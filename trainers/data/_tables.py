"""Reading a dataset: the bundled scikit-learn sets or a user's CSV/Parquet file, checked.

:func:`read_table` gives a :class:`Table` (raw features, the target as class indices or
numbers, and its task), before any split or preprocessing; :mod:`._splits` splits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets


def _synthetic10() -> Any:
    """A harder problem than the bundled ones, made the same way every time: 4,000 samples,
    40 features (16 informative, 8 redundant), 10 classes of 2 clusters each, 3% of the
    labels flipped. Good networks reach about 0.6 accuracy, poor ones stay near 0.1, and
    curves keep rising for many epochs: early stopping matters."""
    from sklearn.utils import Bunch

    X, y = skdatasets.make_classification(
        n_samples=4000, n_features=40, n_informative=16, n_redundant=8, n_classes=10,
        n_clusters_per_class=2, class_sep=0.9, flip_y=0.03, random_state=0,
    )  # fmt: skip
    return Bunch(data=X, target=y, feature_names=[f"x{i}" for i in range(40)])


BUNDLED = {
    "digits": skdatasets.load_digits,
    "breast_cancer": skdatasets.load_breast_cancer,
    "wine": skdatasets.load_wine,
    "iris": skdatasets.load_iris,
    "synthetic10": _synthetic10,
}


TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True)
class Table:
    """A dataset as read, before any split: raw features, the target, and its task."""

    name: str
    features: pd.DataFrame
    y: np.ndarray  # class indices, or float targets
    task: str
    classes: tuple

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.features.columns)


def read_table(
    source: str, target: str | None = None, *, task: str = "auto", preprocess: bool = True
) -> Table:
    """Read a bundled dataset or a CSV/Parquet file and check it.

    Args:
        source: one of ``digits``, ``breast_cancer``, ``wine``, ``iris``, or a path to a
            ``.csv`` or ``.parquet`` file.
        target: the label column of a file (ignored for bundled datasets).
        task: ``classification``, ``regression``, or ``auto`` (a target of real numbers
            with many distinct values is a regression, as scikit-learn's
            ``type_of_target`` says ``continuous``).
        preprocess: accept categorical columns and missing values (encoded and imputed
            by :class:`Preprocessor`); False refuses them.

    Raises:
        ValueError: a missing file, an unknown name, a missing target column or target
            values, a single class; without ``preprocess``, non-numeric features or NaN.
    """
    if task not in TASKS:
        raise ValueError(f"task={task!r} is unknown; expected one of {', '.join(TASKS)}")
    if source in BUNDLED:
        bunch = BUNDLED[source]()
        names = [str(n) for n in getattr(bunch, "feature_names", range(bunch.data.shape[1]))]
        features = pd.DataFrame(np.asarray(bunch.data, dtype=np.float64), columns=names)
        y_raw, name = np.asarray(bunch.target), source
    else:
        features, y_raw = _read_file(source, target)
        name = Path(source).stem
    if not preprocess:
        bad = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        if bad:
            raise ValueError(
                f"dataset {name!r} has non-numeric feature columns: {', '.join(bad[:10])}; "
                "encode them as numbers first, or leave preprocessing on"
            )
        values = features.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            n_bad = int((~np.isfinite(values)).any(axis=1).sum())
            raise ValueError(
                f"dataset {name!r} has NaN or infinite feature values in {n_bad} rows; "
                "impute or drop them first, or leave preprocessing on"
            )
    if task == "auto":
        from sklearn.utils.multiclass import type_of_target

        numeric = pd.api.types.is_numeric_dtype(y_raw.dtype)
        task = (
            "regression" if numeric and type_of_target(y_raw) == "continuous" else "classification"
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y_raw.dtype):
            raise ValueError(f"dataset {name!r}: a regression needs a numeric target")
        y = np.asarray(y_raw, dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError(f"dataset {name!r}: the target has infinite values")
        if np.ptp(y) == 0:
            raise ValueError(f"dataset {name!r}: the target is constant; nothing to learn")
        return Table(name, features, y, task, ())
    classes, y_idx = np.unique(y_raw, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"dataset {name!r} has a single class ({classes[0]!r}); "
            "classification needs at least two"
        )
    return Table(name, features, y_idx.astype(np.int64), task, tuple(classes.tolist()))


def _read_file(source: str, target: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    path = Path(source)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ValueError(
            f"dataset {source!r} is neither a bundled dataset ({', '.join(BUNDLED)}) "
            "nor a .csv or .parquet file"
        )
    if not path.is_file():
        raise ValueError(f"dataset file {source!r} does not exist")
    if target is None:
        raise ValueError(f"dataset file {source!r} needs a target column (--target NAME)")
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise ValueError(f"dataset file {source!r} could not be read: {exc}") from None
    if target not in frame.columns:
        raise ValueError(
            f"target column {target!r} is not in {source!r}; columns are "
            f"{', '.join(map(str, frame.columns[:20]))}"
        )
    y_col = frame[target]
    if y_col.isna().any():
        raise ValueError(
            f"target column {target!r} of {source!r} has {int(y_col.isna().sum())} missing "
            "values; drop those rows (a target cannot be imputed)"
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"dataset {source!r} has no feature columns besides {target!r}")
    return features, y_col.to_numpy()
