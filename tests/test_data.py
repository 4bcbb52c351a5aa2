"""Datasets: bundled and file sources, the stratified split, standardisation, bad data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainers.data import BUNDLED, load_dataset, repeated_stratified_kfold


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_dataset_split_is_stratified_and_standardised(name: str) -> None:
    ds = load_dataset(name)
    n = len(ds.y_train) + len(ds.y_val) + len(ds.y_test)
    assert len(ds.y_test) == pytest.approx(0.2 * n, abs=1)
    assert len(ds.y_val) == pytest.approx(0.2 * n, abs=1)
    # Standardisation is fitted on the training part only.
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-9)
    assert not np.allclose(ds.X_val.mean(axis=0), 0.0, atol=1e-9)
    # Stratified: every class appears in every part in about its overall proportion.
    overall = np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test])) / n
    for part in (ds.y_train, ds.y_val, ds.y_test):
        np.testing.assert_allclose(
            np.bincount(part, minlength=ds.n_classes) / len(part), overall, atol=0.05
        )


def test_split_is_fixed_by_split_seed() -> None:
    a, b, c = load_dataset("wine"), load_dataset("wine"), load_dataset("wine", split_seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


def make_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "label": ["x", "y", "z"] * (n // 3)}
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_file_with_named_target(tmp_path, suffix: str) -> None:
    path = tmp_path / f"table{suffix}"
    frame = make_frame()
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    ds = load_dataset(str(path), target="label")
    assert ds.classes == ("x", "y", "z")
    assert ds.feature_names == ("a", "b")
    assert ds.n_features == 2


@pytest.mark.parametrize(
    ("change", "message", "preprocess"),
    [
        (lambda f: f.drop(columns=["label"]), "target column 'label' is not in", True),
        (lambda f: f.assign(a=f["a"].astype(str) + "cm"), "non-numeric feature columns: a", False),
        (
            lambda f: f.assign(b=[np.nan, *f["b"][1:]]),
            "NaN or infinite feature values in 1 rows",
            False,
        ),
        (lambda f: f.assign(label=[None, *f["label"][1:]]), "has 1 missing values", True),
        (lambda f: f.assign(label="x"), "single class", True),
        (lambda f: f.head(6), "needs at least 3 per class", True),
    ],
    ids=["missing-target", "non-numeric", "nan", "missing-label", "one-class", "too-small"],
)
def test_bad_file_is_a_clear_value_error(tmp_path, change, message, preprocess) -> None:
    path = tmp_path / "bad.csv"
    change(make_frame()).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message):
        load_dataset(str(path), target="label", preprocess=preprocess)


def messy_frame(n: int = 90) -> pd.DataFrame:
    """Numbers with gaps, a categorical column with gaps, a boolean, and a label."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "size": rng.normal(10, 3, n),
        "city": rng.choice(["paris", "oslo", "lima"], n),
        "member": rng.random(n) > 0.5,
        "label": ["yes", "no", "maybe"] * (n // 3),
    })  # fmt: skip
    frame.loc[::7, "size"] = np.nan
    frame.loc[::11, "city"] = None
    return frame


def test_categories_and_gaps_are_encoded_and_imputed_on_the_training_part(tmp_path) -> None:
    path = tmp_path / "messy.csv"
    messy_frame().to_csv(path, index=False)
    ds = load_dataset(str(path), target="label")
    assert ds.n_features == 1 + 3 + 2  # size, one-hot city, one-hot member
    assert set(ds.feature_names) >= {"size", "city_lima", "city_oslo", "city_paris"}
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    np.testing.assert_allclose(ds.X_train[:, 0].mean(), 0.0, atol=1e-9)  # scaled on training rows
    assert any("one-hot encoded" in n for n in ds.notes)
    assert any("missing values imputed in 2 column(s)" in n for n in ds.notes)
    with pytest.raises(ValueError, match="non-numeric feature columns: city;"):
        load_dataset(str(path), target="label", preprocess=False)


def test_a_category_unseen_in_training_is_all_zeros(tmp_path) -> None:
    from trainers.data import Preprocessor

    frame = pd.DataFrame({"c": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
    prep = Preprocessor(frame).fit(frame)
    out = prep.transform(pd.DataFrame({"c": ["z"], "x": [2.0]}))
    assert out.shape == (1, 3) and (out[0, 1:] == 0).all()


def test_a_numeric_target_with_many_values_is_a_regression(tmp_path) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    frame["price"] = 100 + 20 * frame["a"] - 5 * frame["b"] + rng.normal(size=100)
    path = tmp_path / "prices.parquet"
    frame.to_parquet(path)
    ds = load_dataset(str(path), target="price")
    assert ds.task == "regression" and ds.n_outputs == 1 and ds.classes == ()
    assert abs(ds.y_train.mean()) < 1e-9 and ds.y_scale > 10  # standardised, scale kept
    with pytest.raises(
        ValueError, match="has 1 samples; a stratified"
    ):  # forced: each price a class
        load_dataset(str(path), target="price", task="classification")


def test_missing_file_and_unknown_name_are_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.csv"), target="y")
    with pytest.raises(ValueError, match="neither a bundled dataset"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="needs a target column"):
        path = tmp_path / "t.csv"
        make_frame().to_csv(path, index=False)
        load_dataset(str(path))


def test_repeated_stratified_kfold_is_five_by_five() -> None:
    y = load_dataset("iris").y_train
    folds = list(repeated_stratified_kfold(y))
    assert len(folds) == 25
    for train, test in folds[:5]:
        assert set(train).isdisjoint(test)
    assert sorted(np.concatenate([test for _, test in folds[:5]])) == list(range(len(y)))


def test_fewer_samples_than_folds_is_an_error() -> None:
    with pytest.raises(ValueError, match="fewer than n_splits=5"):
        list(repeated_stratified_kfold(np.array([0, 1, 0, 1])))
    with pytest.raises(ValueError, match="smallest class has 2 samples"):
        list(repeated_stratified_kfold(np.array([0] * 10 + [1] * 2)))
