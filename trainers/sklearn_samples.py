"""Any scikit-learn estimator with training-set size as the budget (``--resource samples``).

For models without epochs (random forests, SVMs, gradient boosting, …) the schedulers
hand out *samples*, as scikit-learn's ``HalvingRandomSearchCV`` does: at each rung a
configuration is refitted from scratch on a larger stratified subsample and scored by
cross-validation on it; only the best go on to more samples.

    trainer = SubsampleTrainer("sklearn.svm:SVC", dataset="digits", cv=5)
    trainer.setup({"C": 10.0, "gamma": 0.01}, seed=0)
    trainer.fit(300)   # {"val_score": …, "val_accuracy": …, "val_score_std": …}

The samples come from the training and validation parts together (what a search may
look at; the test part stays out), stratified by class. Every trial draws the same
subsample at the same size and is scored on the same folds (``split_seed``), so the
trials of a rung are compared on equal terms, as in scikit-learn's halving; the trial's
own seed goes to the estimator's ``random_state``. A refit needs no state from before,
so ``save`` keeps only the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

from trainers._imports import import_object
from trainers.data import Dataset, load_dataset


class SubsampleTrainer:
    """A scikit-learn estimator refitted on ``n`` samples per ``fit(n)``, scored by CV.

    Args:
        estimator: import path of the estimator class (or the class itself).
        dataset, target, val_fraction, test_fraction, split_seed, task, preprocess: as
            for :class:`~trainers.mlp.MLPTrainer`.
        cv: folds of the cross-validation at each rung (stratified for classifiers).
        scoring: a scikit-learn scorer name; None is the estimator's own ``score``
            (accuracy for classifiers, R² for regressors), reported also as
            ``val_accuracy`` or ``val_r2``.
        fixed: estimator parameters shared by every trial.
        n_jobs: parallel folds (1: the worker's one core).
    """

    def __init__(
        self,
        estimator: str | type = "sklearn.ensemble:RandomForestClassifier",
        dataset: str | Dataset = "digits",
        target: str | None = None,
        *,
        cv: int = 5,
        scoring: str | None = None,
        fixed: Mapping[str, Any] | None = None,
        n_jobs: int = 1,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        task: str = "auto",
        preprocess: bool = True,
    ) -> None:
        cls = import_object(estimator) if isinstance(estimator, str) else estimator
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ValueError(f"estimator {estimator!r} is not a scikit-learn estimator class")
        if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
            raise ValueError(f"cv={cv!r} is invalid; expected an integer >= 2")
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(dataset, target, val_fraction=val_fraction, test_fraction=test_fraction,
                                   split_seed=split_seed, task=task, preprocess=preprocess)  # fmt: skip
        self.base = cls(**dict(fixed or {}))
        self.classifier = is_classifier(self.base)
        if self.classifier and dataset.task == "regression":
            raise ValueError(
                f"{cls.__name__} is a classifier, and the dataset's target is a number"
            )
        self.X = np.concatenate([dataset.X_train, dataset.X_val])
        self.y = np.concatenate([dataset.y_train, dataset.y_val])
        self.cv, self.scoring, self.n_jobs = cv, scoring, n_jobs
        self.split_seed = int(split_seed)
        self.config: dict[str, Any] | None = None

    @property
    def n_samples(self) -> int:
        """The most samples a trial can train on (``max_resources``)."""
        return len(self.y)

    # -- the contract of a samples trainer ------------------------------------------------------

    def setup(self, config: Mapping[str, Any], seed: int) -> None:
        """Build the estimator; a parameter it does not have, or a value it rejects, is a
        ValueError now (scikit-learn checks values when it fits; this checks them here)."""
        estimator = clone(self.base)
        params = estimator.get_params()
        unknown = sorted(set(config) - set(params))
        if unknown:
            raise ValueError(
                f"{type(estimator).__name__} has no parameter {unknown[0]!r}; it has "
                f"{', '.join(sorted(params)[:25])}"
            )
        estimator.set_params(**dict(config))
        if "random_state" in params and "random_state" not in config:
            estimator.set_params(random_state=int(seed) % 2**32)
        validate = getattr(estimator, "_validate_params", None)  # scikit-learn's own check
        if callable(validate):
            try:
                validate()
            except (ValueError, TypeError) as exc:
                raise ValueError(" ".join(str(exc).split())) from None
        self.estimator, self.config, self.seed = estimator, dict(config), int(seed)

    def fit(self, n_samples: int) -> dict[str, float]:
        """Refit from scratch on ``n_samples`` (stratified, drawn with the trial's seed) and
        score by ``cv``-fold cross-validation on them."""
        if self.config is None:
            raise RuntimeError("call setup(config, seed) before fit(n_samples)")
        n = int(n_samples)
        if not 2 * self.cv <= n <= self.n_samples:
            raise ValueError(
                f"{n} samples: expected between {2 * self.cv} (two per fold) and the "
                f"{self.n_samples} there are"
            )
        X, y = self._subsample(n)
        folds = (StratifiedKFold if self.classifier else KFold)(
            self.cv, shuffle=True, random_state=self.split_seed
        )
        scores = cross_validate(
            self.estimator, X, y, cv=folds, scoring=self.scoring, n_jobs=self.n_jobs,
            error_score="raise",
        )["test_score"]  # fmt: skip
        out = {"val_score": float(np.mean(scores)), "val_score_std": float(np.std(scores)),
               "n_samples": float(n)}  # fmt: skip
        if self.scoring is None:
            out["val_accuracy" if self.classifier else "val_r2"] = out["val_score"]
        return out

    def save(self) -> dict[str, Any]:
        """A refit starts from scratch: the configuration and seed are the whole state."""
        if self.config is None:
            raise RuntimeError("nothing to save: call setup(config, seed) first")
        return {"config": self.config, "seed": self.seed}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.setup(state["config"], state["seed"])

    # -- internals ---------------------------------------------------------------------------------

    def _subsample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n >= self.n_samples:
            return self.X, self.y
        from sklearn.model_selection import train_test_split

        stratify = self.y if self.classifier and n >= len(np.unique(self.y)) else None
        rows, _ = train_test_split(
            np.arange(self.n_samples), train_size=n, stratify=stratify,
            random_state=self.split_seed,
        )  # fmt: skip
        return self.X[rows], self.y[rows]
