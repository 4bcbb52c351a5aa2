"""Drive a scheduler with your own loop: ask, train, tell. No tuner, no Ray, no database.

    python examples/own_loop.py

Any model that trains in steps works; here, a scikit-learn SGDClassifier through
``partial_fit`` (one pass over the data per epoch).
"""

from __future__ import annotations

from hpo.samplers import RandomSampler
from hpo.schedulers import ASHA
from hpo.space import SearchSpace
from hpo.types import Decision, Report
from trainers.sklearn_adapter import SGDClassifierTrainer


def main() -> None:
    space = SearchSpace.from_dict(
        {
            "alpha": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
            "penalty": ["l2", "l1", "elasticnet"],
            "eta0": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
            "learning_rate": ["optimal", "invscaling", "adaptive"],
        }
    )
    scheduler = ASHA(RandomSampler(space, seed=0), max_epochs=27, eta=3, n_configs=30, seed=0)
    paused: dict[int, dict] = {}  # a paused trial's saved state

    while not scheduler.is_finished():
        suggestion = scheduler.suggest()  # one worker: ask for one thing at a time
        if suggestion is None:
            break
        trainer = SGDClassifierTrainer("digits")
        if suggestion.resume:
            trainer.restore(paused.pop(suggestion.trial_id))  # promoted: continue, not retrain
        else:
            trainer.setup(dict(suggestion.config), suggestion.seed)
        for epoch in range(suggestion.from_epoch + 1, suggestion.until_epoch + 1):
            metrics = trainer.step()
            decision = scheduler.on_report(
                Report(suggestion.trial_id, epoch, metrics["val_accuracy"])
            )
            if decision is not Decision.CONTINUE:
                break
        if decision is not Decision.STOP:  # paused, or continued at once
            paused[suggestion.trial_id] = trainer.save()
    scheduler.finish()

    best = scheduler.trials[scheduler.best_trial]
    print(f"best val_accuracy {scheduler.best_value:.4f} after {best.epochs} epochs: {best.config}")
    print(f"{len(scheduler.trials)} trials, {scheduler.epochs_spent} epochs spent "
          f"(random search at full budget: {30 * 27})")  # fmt: skip


if __name__ == "__main__":
    main()
