"""Any scikit-learn classifier with ``partial_fit``, behind the trainer contract.

One epoch is one shuffled pass over the training split through ``partial_fit``; the
estimator and the shuffling generator are the state, so a paused trial resumes exactly.
This is the proof that the schedulers serve any model that trains in steps.

    trainer = PartialFitTrainer("sklearn.linear_model:SGDClassifier", dataset="digits")
    trainer.setup({"alpha": 1e-4, "loss": "log_loss"}, seed=0)
    trainer.step()  # {"val_accuracy": ..., "val_loss": ..., "train_accuracy": ...}
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import log_loss

from trainers._imports import import_object
from trainers.data import Dataset, load_dataset


class PartialFitTrainer:
    """A scikit-learn estimator with ``partial_fit`` trained one epoch per ``step()``.

    Args:
        estimator: import path of the estimator class (or the class itself).
        dataset, target, val_fraction, test_fraction, split_seed: as for MLPTrainer.
        batch_size: rows per ``partial_fit`` call (None: the whole split at once).
        fixed: estimator parameters shared by every trial.
    """

    def __init__(
        self,
        estimator: str | type = "sklearn.linear_model:SGDClassifier",
        dataset: str | Dataset = "digits",
        target: str | None = None,
        *,
        batch_size: int | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        fixed: Mapping[str, Any] | None = None,
    ) -> None:
        cls = import_object(estimator) if isinstance(estimator, str) else estimator
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ValueError(f"{estimator!r} is not a scikit-learn estimator class")
        if not hasattr(cls, "partial_fit"):
            raise ValueError(f"{cls.__name__} has no partial_fit; it cannot train in steps")
        self.cls = cls
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(
                dataset, target, val_fraction=val_fraction, test_fraction=test_fraction,
                split_seed=split_seed,
            )  # fmt: skip
        self.data = dataset
        self.batch_size = batch_size
        self.fixed = dict(fixed or {})
        self.classes = np.arange(dataset.n_classes)
        self.estimator: Any = None

    def setup(self, config: Mapping[str, Any], seed: int) -> None:
        params = {**self.fixed, **config}
        valid = self.cls().get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter {unknown[0]!r} for {self.cls.__name__}; expected some of "
                f"{', '.join(sorted(valid))}"
            )
        if "random_state" in valid:
            params["random_state"] = seed
        self.estimator = self.cls(**params)
        self.config, self.seed = dict(config), seed
        self.rng = np.random.default_rng(seed)
        self.epoch = 0

    def step(self) -> dict[str, float]:
        if self.estimator is None:
            raise RuntimeError("call setup(config, seed) or restore(state) before step()")
        d = self.data
        order = self.rng.permutation(len(d.y_train))
        X, y = d.X_train[order], d.y_train[order]
        size = self.batch_size or len(y)
        for start in range(0, len(y), size):
            self.estimator.partial_fit(
                X[start : start + size], y[start : start + size], classes=self.classes
            )
        self.epoch += 1
        metrics = {
            "train_accuracy": float(self.estimator.score(d.X_train, d.y_train)),
            "val_accuracy": float(self.estimator.score(d.X_val, d.y_val)),
        }
        if hasattr(self.estimator, "predict_proba"):
            try:
                proba = self.estimator.predict_proba(d.X_val)
                metrics["val_loss"] = float(log_loss(d.y_val, proba, labels=self.classes))
            except (AttributeError, ValueError):  # e.g. SGDClassifier with hinge loss
                pass
        return metrics

    def save(self) -> dict[str, Any]:
        return {
            "estimator": pickle.dumps(self.estimator),
            "rng": self.rng.bit_generator.state,
            "config": self.config,
            "seed": self.seed,
            "epoch": self.epoch,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.config, self.seed, self.epoch = dict(state["config"]), state["seed"], state["epoch"]
        self.estimator = pickle.loads(state["estimator"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]


class SGDClassifierTrainer(PartialFitTrainer):
    """scikit-learn's ``SGDClassifier`` (logistic loss by default), for ``--trainer``."""

    def __init__(self, dataset: str | Dataset = "digits", target: str | None = None, **kwargs: Any):
        fixed = {"loss": "log_loss", **kwargs.pop("fixed", {})}
        super().__init__(
            "sklearn.linear_model:SGDClassifier", dataset, target, fixed=fixed, **kwargs
        )
