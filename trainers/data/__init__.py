"""Datasets for the trainers: bundled scikit-learn sets or a user's CSV/Parquet file.

A :class:`Dataset` holds one train/validation/test split (stratified for classes),
preprocessed with statistics of the training part only: categorical columns one-hot
encoded, missing values imputed, features standardised (the report standardises its
features before training, ``X_std``). Targets are classes or, for a regression, numbers.
The split is fixed by ``split_seed`` so that every trial of a study sees the same data;
the trial's own seed only drives initialisation and shuffling.

The report evaluates its final model with five repetitions of five-fold stratified
cross-validation; :func:`repeated_stratified_kfold` is that helper.

Reading and checking a table is in :mod:`._tables`, the preprocessing in
:mod:`._preprocess`, the splits and folds in :mod:`._splits`.
"""

from trainers.data._preprocess import Preprocessor
from trainers.data._splits import (
    Dataset,
    all_rows,
    fold_dataset,
    load_dataset,
    load_final_split,
    repeated_stratified_kfold,
)
from trainers.data._tables import BUNDLED, TASKS, Table, read_table

__all__ = [
    "BUNDLED",
    "TASKS",
    "Dataset",
    "Preprocessor",
    "Table",
    "all_rows",
    "fold_dataset",
    "load_dataset",
    "load_final_split",
    "read_table",
    "repeated_stratified_kfold",
]
