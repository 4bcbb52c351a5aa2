"""``hpo worker``: a client of the service that trains with any trainer of the contract,
or with a function ``train(config, trial)`` (:mod:`hpo.function_trial`).

Each assignment builds a trainer (``setup(config, seed)``), or restores the checkpoint of
a paused trial (``restore(state)``), trains the epochs it was given with ``step()``,
reports each, and uploads ``save()`` when the trial pauses. The trainer of the last trial
stays warm: when the server promotes that same trial to this worker next, it continues
without a restore, as Ray workers do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpo.client import Study, Trial
from hpo.runners._base import Trainer, describe_error
from hpo.space import nest


def run_worker(
    study: Study,
    make_trainer: Callable[[], Trainer] | None = None,
    *,
    function: Callable[[dict[str, Any], Trial], Any] | None = None,
    client_id: str,
    max_trials: int | None = None,
    wait: float = 10.0,
    on_assignment: Callable[[str], None] | None = None,
) -> int:
    """Train the study's assignments until it is finished (or ``max_trials``) with a
    trainer of the contract (``make_trainer``) or a ``function(config, trial)``; returns
    how many assignments were run. An exception fails its trial, not the worker."""
    warm: tuple[int, int, Trainer] | None = None  # (trial, epochs trained, trainer)
    n = 0
    for trial in study.trials(client_id, wait=wait):
        n += 1
        trainer = None
        if warm is not None and warm[0] == trial.trial_id and warm[1] == trial.from_epoch:
            trainer = warm[2]
        warm = None
        try:
            if function is not None:
                function(dict(trial.config), trial)
                trial.check_paused()
            else:
                assert make_trainer is not None
                trainer = trainer or _prepare(trial, make_trainer)
                for epoch in trial.epochs():
                    metrics = trainer.fit(epoch) if trial.resource == "samples" else trainer.step()
                    if trial.report(epoch, metrics) != "continue":
                        break
                if trial.checkpoint_wanted:
                    trial.checkpoint(trainer.save())
                    warm = (trial.trial_id, trial.last_epoch, trainer)
        except Exception as exc:  # the trainer's bug fails its trial; the worker goes on
            trial.fail(describe_error(exc))
        if on_assignment is not None:
            on_assignment(_describe(trial))
        if max_trials is not None and n >= max_trials:
            break
    return n


def _prepare(trial: Trial, make_trainer: Callable[[], Trainer]) -> Any:
    trainer = make_trainer()
    state = trial.restore()
    if state is None:
        trainer.setup(nest(trial.config), trial.seed)  # dotted names as nested mappings
    else:
        trainer.restore(state)
    return trainer


def _describe(trial: Trial) -> str:
    return (f"trial {trial.trial_id}: epochs {trial.from_epoch + 1}..{trial.last_epoch}, "
            f"{trial.action}")  # fmt: skip
