"""An ordinary training loop, turned into a searched one.

Before, a loop you would write anyway (scikit-learn's SGDClassifier, one pass per epoch)::

    def fit(alpha, eta0, epochs=27):
        model = SGDClassifier(alpha=alpha, learning_rate="constant", eta0=eta0, random_state=0)
        for epoch in range(1, epochs + 1):
            model.partial_fit(X_train, y_train, classes=CLASSES)
            print(epoch, model.score(X_val, y_val))

After, the same loop as ``train(config, trial)``; the lines marked ``# +`` are new or
changed. Search it with any scheduler, in-process, on Ray or through the service::

    hpo run examples/function_trial.yaml                     # HyperBand on local Ray
    hpo run examples/function_trial.yaml --scheduler asha --executor serial
    hpo worker http://127.0.0.1:8000 --study sgd --trainer examples.function_trial:train
"""

from __future__ import annotations

from functools import cache

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

CLASSES = np.arange(10)


@cache
def data() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_val), y_train, y_val


def train(config: dict, trial) -> None:  # + the configuration and the trial
    X_train, X_val, y_train, y_val = data()
    model = trial.restore() or SGDClassifier(  # + a promoted trial continues its model
        alpha=config["alpha"], learning_rate="constant", eta0=config["eta0"],
        loss=config["loss"], random_state=trial.seed,
    )  # fmt: skip
    for epoch in trial.epochs():  # + the scheduler says how far
        model.partial_fit(X_train, y_train, classes=CLASSES)
        if trial.report(epoch, {"val_accuracy": model.score(X_val, y_val)}) != "continue":  # +
            break  # +
    trial.checkpoint(model)  # + what a pause keeps


if __name__ == "__main__":  # the loop still runs on its own
    from hpo.function_trial import FunctionTrainer

    trainer = FunctionTrainer(train)
    trainer.setup({"alpha": 1e-4, "eta0": 0.01, "loss": "hinge"}, seed=0)
    for epoch in range(1, 6):
        print(epoch, trainer.step())
    trainer.close()
