"""The best-model report: the found configuration evaluated as the original report evaluates
its model (section 3.3).

The best trial's configuration is retrained, with its seed, for the epochs it earned in
the search, on the training and validation parts together; it is then measured on the
held-out test part: accuracy, confusion matrix, ROC curves one class against the rest
with their AUC, and precision, recall and F1 per class. Then 5×5 repeated stratified
cross-validation gives the accuracy and its spread, as the report measured its model.
All metrics are scikit-learn's.

``hpo report`` keeps the report in the study database (:func:`save_report`, the
``reports`` table, a row of its own: the study's record is not changed), where the
dashboard shows it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from hpo.settings import SearchSettings, SettingsError
from hpo.space import nest
from hpo.store import StoreError, StudyReader, save_report


def _train(trainer: Any, config: dict, seed: int, epochs: int) -> Any:
    trainer.setup(nest(config), seed)
    for _ in range(epochs):
        trainer.step()
    return trainer


def best_model_report(
    storage: str | Path, study: str, *, n_splits: int = 5, n_repeats: int = 5
) -> dict[str, Any]:
    """Retrain the best configuration and evaluate it; returns the report as a dict."""
    from trainers.data import all_rows, fold_dataset, load_final_split, repeated_stratified_kfold

    with StudyReader(storage) as r:
        info = r.study(study)
        if info["best_trial"] is None:
            raise StoreError(f"study {study!r} has no trial with a value yet")
        trials = r.trials(study).set_index("trial_id")
    best = trials.loc[int(info["best_trial"])]
    settings = SearchSettings.from_dict(info["settings"])
    spec = settings.trainer_spec()
    cls = spec.load_class()
    if not callable(getattr(cls, "predict_proba", None)) or spec.dataset is None:
        raise SettingsError(
            f"{settings.trainer}: the report needs a classifier trainer with predict_proba and a dataset"
        )
    split = {k: spec.options[k] for k in ("test_fraction", "split_seed") if k in spec.options}
    read = {"task": spec.task, "preprocess": spec.preprocess}
    final = load_final_split(spec.dataset, spec.target, **split, **read)
    if final.task != "classification":
        raise SettingsError(
            f"{settings.trainer}: the report evaluates classifiers; this study is a regression"
        )
    config, seed, epochs = dict(best["config"]), int(best["seed"]), int(best["epochs"])
    start = time.perf_counter()
    model = _train(spec.build(final), config, seed, epochs)
    proba = np.asarray(model.predict_proba(final.X_test))
    predicted = proba.argmax(axis=1)
    y = final.y_test
    labels = list(range(len(final.classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    roc = []
    for k in labels:
        positive = (y == k).astype(int)
        if positive.min() == positive.max():
            continue
        fpr, tpr, _ = roc_curve(positive, proba[:, k])
        roc.append({"label": final.classes[k], "fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(),
                    "auc": float(roc_auc_score(positive, proba[:, k]))})  # fmt: skip
    table = all_rows(spec.dataset, spec.target, **read)
    scores = []
    for train, test in repeated_stratified_kfold(table.y, n_splits, n_repeats, seed=settings.seed):
        fold = fold_dataset(table, train, test)
        m = _train(spec.build(fold), config, seed, epochs)
        scores.append(
            float(
                accuracy_score(fold.y_test, np.asarray(m.predict_proba(fold.X_test)).argmax(axis=1))
            )
        )
    return {
        "study": study,
        "trial_id": int(info["best_trial"]),
        "metric": info["metric"],
        "search_value": info["best_value"],
        "config": config,
        "seed": seed,
        "epochs": epochs,
        "dataset": spec.dataset,
        "classes": [c if isinstance(c, (int, float, str)) else str(c) for c in final.classes],
        "test_accuracy": float(accuracy_score(y, predicted)),
        "confusion": confusion_matrix(y, predicted, labels=labels).tolist(),
        "per_class": [
            {
                "label": final.classes[k]
                if isinstance(final.classes[k], (int, float, str))
                else str(final.classes[k]),
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
            for k in labels
        ],
        "roc": roc,
        "cv": {
            "n_splits": n_splits,
            "n_repeats": n_repeats,
            "mean": float(np.mean(scores)),
            "std": float(np.std(scores)),
            "scores": scores,
        },
        "seconds": time.perf_counter() - start,
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    cv = report["cv"]
    out = [
        f"best trial {report['trial_id']} ({report['metric']} {report['search_value']:.4f} in the search), "
        f"retrained on training + validation data for {report['epochs']} epochs",
        f"test accuracy {report['test_accuracy']:.4f}",
        f"{cv['n_splits']}x{cv['n_repeats']} repeated stratified cross-validation accuracy "
        f"{cv['mean']:.4f} ± {cv['std']:.4f}",
        f"{'class':>8} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>7}",
    ]
    for row in report["per_class"]:
        out.append(
            f"{row['label']!s:>8} {row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f} {row['support']:>7}"
        )
    aucs = ", ".join(f"{r['label']}: {r['auc']:.4f}" for r in report["roc"])
    out.append(f"ROC AUC one-vs-rest: {aucs}")
    out.append("confusion matrix (rows true, columns predicted):")
    out += ["  " + " ".join(f"{v:>4}" for v in row) for row in report["confusion"]]
    return out


__all__ = ["best_model_report", "report_lines", "save_report"]
