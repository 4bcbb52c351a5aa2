"""Datasets for the trainers: bundled scikit-learn sets or a user's CSV/Parquet file.

A :class:`Dataset` holds one stratified train/validation/test split, standardised with
statistics of the training part only (the report standardises its features before
training, ``X_std``). The split is fixed by ``split_seed`` so that every trial of a study
sees the same data; the trial's own seed only drives initialisation and shuffling.

The report evaluates its final model with five repetitions of five-fold stratified
cross-validation; :func:`repeated_stratified_kfold` is that helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

BUNDLED = {
    "digits": skdatasets.load_digits,
    "breast_cancer": skdatasets.load_breast_cancer,
    "wine": skdatasets.load_wine,
    "iris": skdatasets.load_iris,
}


@dataclass(frozen=True)
class Dataset:
    """One stratified split of a classification table, features standardised.

    ``y_*`` hold class indices ``0 … n_classes-1``; ``classes`` maps them back to labels.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple
    feature_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def astype(self, dtype: np.dtype | str) -> Dataset:
        """The same split with features in ``dtype`` (a no-op when already so)."""
        dtype = np.dtype(dtype)
        if self.X_train.dtype == dtype:
            return self
        cast = {k: getattr(self, k).astype(dtype) for k in ("X_train", "X_val", "X_test")}
        return Dataset(**{**self.__dict__, **cast})


def load_table(source: str, target: str | None = None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Features ``X`` (float64), labels ``y`` and feature names from a bundled name or a file.

    Args:
        source: one of ``digits``, ``breast_cancer``, ``wine``, ``iris``, or a path to a
            ``.csv`` or ``.parquet`` file.
        target: the label column of a file (ignored for bundled datasets).

    Raises:
        ValueError: a missing file, an unknown name, a missing target column, non-numeric
            features, NaN or infinite values, or fewer than two classes.
    """
    if source in BUNDLED:
        bunch = BUNDLED[source]()
        X = np.asarray(bunch.data, dtype=np.float64)
        y = np.asarray(bunch.target)
        names = tuple(str(n) for n in getattr(bunch, "feature_names", range(X.shape[1])))
        return X, y, names
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
        raise ValueError(f"target column {target!r} of {source!r} has missing values")
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"dataset {source!r} has no feature columns besides {target!r}")
    bad = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise ValueError(
            f"dataset {source!r} has non-numeric feature columns: {', '.join(bad[:10])}; "
            "encode them as numbers first"
        )
    X = features.to_numpy(dtype=np.float64)
    return X, y_col.to_numpy(), tuple(str(c) for c in features.columns)


def _check_table(name: str, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Validate ``X, y`` and encode labels as ``0 … C-1``."""
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"dataset {name!r}: X must be 2-D with one row per label")
    if not np.isfinite(X).all():
        n_bad = int((~np.isfinite(X)).any(axis=1).sum())
        raise ValueError(
            f"dataset {name!r} has NaN or infinite feature values in {n_bad} rows; "
            "impute or drop them first"
        )
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"dataset {name!r} has a single class ({classes[0]!r}); "
            "classification needs at least two"
        )
    return y_idx.astype(np.int64), tuple(classes.tolist())


def load_dataset(
    source: str,
    target: str | None = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    split_seed: int = 0,
) -> Dataset:
    """Load, validate, split (stratified) and standardise a classification dataset.

    The scaler is fitted on the training part only, so nothing of the validation or test
    data leaks into training.

    >>> ds = load_dataset("iris")
    >>> (len(ds.y_train), len(ds.y_val), len(ds.y_test)), ds.n_classes
    ((90, 30, 30), 3)
    """
    for arg, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{arg}={value!r} must lie strictly between 0 and 1")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction} leaves no training data"
        )
    X, y_raw, names = load_table(source, target)
    name = Path(source).stem if source not in BUNDLED else source
    y, classes = _check_table(name, X, y_raw)
    counts = np.bincount(y)
    if counts.min() < 3:
        raise ValueError(
            f"dataset {name!r}: class {classes[int(counts.argmin())]!r} has {counts.min()} "
            "samples; a stratified train/validation/test split needs at least 3 per class"
        )
    try:
        X_rest, X_test, y_rest, y_test = train_test_split(
            X, y, test_size=test_fraction, stratify=y, random_state=split_seed
        )
        X_train, X_val, y_train, y_val = train_test_split(
            X_rest,
            y_rest,
            test_size=val_fraction / (1.0 - test_fraction),
            stratify=y_rest,
            random_state=split_seed,
        )
    except ValueError as exc:
        raise ValueError(f"dataset {name!r} is too small to split: {exc}") from None
    scaler = StandardScaler().fit(X_train)
    return Dataset(
        name=name,
        X_train=scaler.transform(X_train),
        y_train=y_train,
        X_val=scaler.transform(X_val),
        y_val=y_val,
        X_test=scaler.transform(X_test),
        y_test=y_test,
        classes=classes,
        feature_names=names,
    )


def load_final_split(
    source: str,
    target: str | None = None,
    *,
    test_fraction: float = 0.2,
    split_seed: int = 0,
) -> Dataset:
    """The split for a final model: training and validation parts merged, the same test part.

    The test rows are exactly those of :func:`load_dataset` with the same ``split_seed``
    and ``test_fraction``; the scaler is refitted on the merged training data. The
    validation arrays repeat the test part (a trainer's ``step`` needs some), so they
    must not be used to choose anything.
    """
    X, y_raw, names = load_table(source, target)
    name = Path(source).stem if source not in BUNDLED else source
    y, classes = _check_table(name, X, y_raw)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, stratify=y, random_state=split_seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return Dataset(name, X_train, y_train, X_test, y_test, X_test, y_test, classes, names)


def all_rows(source: str, target: str | None = None) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
    """Every row, validated and label-encoded (unscaled): for cross-validation."""
    X, y_raw, names = load_table(source, target)
    name = Path(source).stem if source not in BUNDLED else source
    y, classes = _check_table(name, X, y_raw)
    return X, y, classes, names


def fold_dataset(
    X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, classes: tuple, names: tuple
) -> Dataset:
    """One cross-validation fold, standardised on its training rows."""
    scaler = StandardScaler().fit(X[train])
    X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
    return Dataset("fold", X_train, y[train], X_test, y[test], X_test, y[test], classes, names)


def repeated_stratified_kfold(
    y: np.ndarray, n_splits: int = 5, n_repeats: int = 5, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs ``(train, test)`` of repeated stratified k-fold (5×5 as in the report).

    Raises:
        ValueError: fewer samples than folds, or a class with fewer members than folds.

    >>> folds = list(repeated_stratified_kfold(np.array([0, 1] * 10)))
    >>> len(folds), len(folds[0][1])
    (25, 4)
    """
    y = np.asarray(y)
    if n_splits < 2:
        raise ValueError(f"n_splits={n_splits} must be at least 2")
    if n_repeats < 1:
        raise ValueError(f"n_repeats={n_repeats} must be at least 1")
    if len(y) < n_splits:
        raise ValueError(f"{len(y)} samples are fewer than n_splits={n_splits} folds")
    _, counts = np.unique(y, return_counts=True)
    if counts.min() < n_splits:
        raise ValueError(
            f"the smallest class has {counts.min()} samples, fewer than n_splits={n_splits} "
            "folds; stratified k-fold needs at least one per fold"
        )
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    yield from splitter.split(np.zeros((len(y), 1)), y)
