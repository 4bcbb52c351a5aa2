"""Preprocessing of a table's features: imputation, one-hot encoding, standardisation.

:class:`Preprocessor` is fitted on the training rows of a split only (see
:mod:`._splits`), so nothing of the validation or test rows leaks into training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler


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
