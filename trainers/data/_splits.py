"""Splits of a table: train/validation/test (:func:`load_dataset`), the final model's
split, and the report's repeated stratified k-fold cross-validation.

A :class:`Dataset` holds one split, preprocessed with statistics of its training part
only (:class:`~._preprocess.Preprocessor`). The split is fixed by ``split_seed`` so that
every trial of a study sees the same data; the trial's own seed only drives
initialisation and shuffling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from trainers.data._preprocess import Preprocessor
from trainers.data._tables import Table, read_table


@dataclass(frozen=True)
class Dataset:
    """One train/validation/test split of a table, features preprocessed and standardised.

    Classification: ``y_*`` hold class indices ``0 … n_classes-1``; ``classes`` maps them
    back to labels, and the split is stratified. Regression (``task == "regression"``):
    ``y_*`` hold the target standardised with the training part's ``y_mean`` and
    ``y_scale`` (so that one learning rate fits any unit); ``classes`` is empty.
    ``notes`` says what preprocessing did (for the search's output).
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
    task: str = "classification"
    y_mean: float = 0.0
    y_scale: float = 1.0
    notes: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """Output units of a network: one per class, or one for a regression target."""
        return 1 if self.task == "regression" else self.n_classes

    def astype(self, dtype: np.dtype | str) -> Dataset:
        """The same split with features (and a regression target) in ``dtype``."""
        dtype = np.dtype(dtype)
        if self.X_train.dtype == dtype:
            return self
        keys = ["X_train", "X_val", "X_test"]
        if self.task == "regression":
            keys += ["y_train", "y_val", "y_test"]
        cast = {k: getattr(self, k).astype(dtype) for k in keys}
        return Dataset(**{**self.__dict__, **cast})


def _split(table: Table, val_fraction: float, test_fraction: float, split_seed: int) -> tuple:
    """Row indices of the train/validation/test parts (stratified for classification)."""
    rows = np.arange(len(table.y))
    stratify = table.y if table.task == "classification" else None
    rest, test = train_test_split(rows, test_size=test_fraction, stratify=stratify,
                                  random_state=split_seed)  # fmt: skip
    stratify = table.y[rest] if table.task == "classification" else None
    train, val = train_test_split(rest, test_size=val_fraction / (1.0 - test_fraction),
                                  stratify=stratify, random_state=split_seed)  # fmt: skip
    return train, val, test


def _make(
    table: Table, train: np.ndarray, val: np.ndarray, test: np.ndarray, name: str | None = None
) -> Dataset:
    """Preprocess and standardise on the training rows; a regression target likewise."""
    features = table.features
    numbers = all(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t)
                  for t in features.dtypes)  # fmt: skip
    values = features.to_numpy(dtype=np.float64) if numbers else None
    if values is not None and np.isfinite(values).all():
        # Numbers only, none missing: the scaler alone (what the ColumnTransformer would
        # do, at a fraction of its cost).
        scaler = StandardScaler().fit(values[train])
        X = [scaler.transform(values[rows]) for rows in (train, val, test)]
        names, notes = table.names, ()
    else:
        prep = Preprocessor(features).fit(features.iloc[train])
        X = [prep.transform(features.iloc[rows]) for rows in (train, val, test)]
        names, notes = prep.feature_names(), prep.notes()
    y = [table.y[rows] for rows in (train, val, test)]
    y_mean, y_scale = 0.0, 1.0
    if table.task == "regression":
        y_mean, y_scale = float(y[0].mean()), float(y[0].std()) or 1.0
        y = [(part - y_mean) / y_scale for part in y]
    return Dataset(name or table.name, X[0], y[0], X[1], y[1], X[2], y[2], table.classes,
                   names, table.task, y_mean, y_scale, notes)  # fmt: skip


def load_dataset(
    source: str,
    target: str | None = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    task: str = "auto",
    preprocess: bool = True,
) -> Dataset:
    """Load, check, split (stratified for classes) and preprocess a dataset.

    The preprocessing (imputation, one-hot encoding, standardisation) is fitted on the
    training part only, so nothing of the validation or test data leaks into training.

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
    table = read_table(source, target, task=task, preprocess=preprocess)
    if table.task == "classification":
        counts = np.bincount(table.y)
        if counts.min() < 3:
            raise ValueError(
                f"dataset {table.name!r}: class {table.classes[int(counts.argmin())]!r} has "
                f"{counts.min()} samples; a stratified train/validation/test split needs at "
                "least 3 per class"
            )
    try:
        train, val, test = _split(table, val_fraction, test_fraction, split_seed)
    except ValueError as exc:
        raise ValueError(f"dataset {table.name!r} is too small to split: {exc}") from None
    return _make(table, train, val, test)


def load_final_split(
    source: str,
    target: str | None = None,
    *,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    task: str = "auto",
    preprocess: bool = True,
) -> Dataset:
    """The split for a final model: training and validation parts merged, the same test part.

    The test rows are exactly those of :func:`load_dataset` with the same ``split_seed``
    and ``test_fraction``; the preprocessing is refitted on the merged training data. The
    validation arrays repeat the test part (a trainer's ``step`` needs some), so they
    must not be used to choose anything.
    """
    table = read_table(source, target, task=task, preprocess=preprocess)
    rows = np.arange(len(table.y))
    stratify = table.y if table.task == "classification" else None
    train, test = train_test_split(rows, test_size=test_fraction, stratify=stratify,
                                   random_state=split_seed)  # fmt: skip
    return _make(table, train, test, test)


def all_rows(source: str, target: str | None = None, **read: Any) -> Table:
    """Every row, checked and label-encoded, not yet preprocessed: for cross-validation."""
    return read_table(source, target, **read)


def fold_dataset(table: Table, train: np.ndarray, test: np.ndarray) -> Dataset:
    """One cross-validation fold, preprocessed and standardised on its training rows."""
    return _make(table, train, test, test, name="fold")


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
