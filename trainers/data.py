"""Datasets for the trainers: bundled scikit-learn sets or a user's CSV/Parquet file.

A :class:`Dataset` holds one train/validation/test split (stratified for classes),
preprocessed with statistics of the training part only: categorical columns one-hot
encoded, missing values imputed, features standardised (the report standardises its
features before training, ``X_std``). Targets are classes or, for a regression, numbers. The split is fixed by ``split_seed`` so that every trial of a study
sees the same data; the trial's own seed only drives initialisation and shuffling.

The report evaluates its final model with five repetitions of five-fold stratified
cross-validation; :func:`repeated_stratified_kfold` is that helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler


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


class Preprocessor:
    """scikit-learn's ``ColumnTransformer``: numeric columns imputed (median) and
    standardised, categorical ones imputed (most frequent) and one-hot encoded; fitted
    on training rows only, so nothing of the validation or test rows leaks into training.
    """

    def __init__(self, features: pd.DataFrame) -> None:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        self.numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])
                        and not pd.api.types.is_bool_dtype(features[c])]  # fmt: skip
        self.categorical = [c for c in features.columns if c not in self.numeric]
        parts = []
        if self.numeric:
            parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                          self.numeric))  # fmt: skip
        if self.categorical:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            parts.append(("categorical", make_pipeline(
                SimpleImputer(strategy="most_frequent"), encoder), self.categorical))  # fmt: skip
        self.transformer = ColumnTransformer(parts, sparse_threshold=0.0)

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        frame = _as_model_input(frame, self.numeric, self.categorical)
        self.missing = [str(c) for c in frame.columns if frame[c].isna().any()]
        self.transformer.fit(frame)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        frame = _as_model_input(frame, self.numeric, self.categorical)
        return np.asarray(self.transformer.transform(frame), dtype=np.float64)

    def feature_names(self) -> tuple[str, ...]:
        return tuple(str(n).split("__", 1)[-1] for n in self.transformer.get_feature_names_out())

    def notes(self) -> tuple[str, ...]:
        """What was done, in words (printed when a search starts)."""
        out = []
        if self.categorical:
            n = sum(len(c) for c in self._encoder().categories_)
            cols = ", ".join(map(str, self.categorical[:5])) + (
                "…" if len(self.categorical) > 5 else ""
            )
            out.append(
                f"{len(self.categorical)} categorical column(s) one-hot encoded ({cols} -> {n} features)"
            )
        if self.missing:
            cols = ", ".join(self.missing[:5]) + ("…" if len(self.missing) > 5 else "")
            out.append(f"missing values imputed in {len(self.missing)} column(s) ({cols}; median, "
                       "or most frequent for categories)")  # fmt: skip
        if out:
            out.append("fitted on the training part only (--no-preprocess refuses such data)")
        return tuple(out)

    def _encoder(self) -> Any:
        return self.transformer.named_transformers_["categorical"][-1]


def _as_model_input(frame: pd.DataFrame, numeric: list, categorical: list) -> pd.DataFrame:
    """Infinities count as missing; categories are compared as text (1 and "1" alike)."""
    frame = frame.copy()
    if numeric:
        frame[numeric] = frame[numeric].astype(np.float64).replace([np.inf, -np.inf], np.nan)
    for c in categorical:
        frame[c] = frame[c].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return frame


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
