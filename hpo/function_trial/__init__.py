"""Function-style trials: a plain ``train(config, trial)`` searched like a trainer class.

The short way to search an ordinary training loop (as Ray Tune's function API)::

    def train(config, trial):
        model = build(config, seed=trial.seed)
        state = trial.restore()                 # None for a new trial
        if state is not None:
            model.load(state)                   # a paused trial, promoted
        for epoch in trial.epochs():            # the next epoch numbers, while told to go on
            if trial.report(epoch, train_one_epoch(model)) != "continue":
                break
        trial.checkpoint(model.state())         # what a pause keeps

A checkpoint is the state after the epoch just trained, whichever side of its report it
is taken: after ``report(N)`` (as above), between training epoch N and ``report(N)``
(checkpoint, then report), or with the report itself, as Ray Tune's users write it:
``trial.report(epoch, metrics, checkpoint=state)``. A checkpoint taken inside
``trial.epochs()``'s epoch N, before its report, is the state after N; one taken after
``report(N)`` and before the loop moves on is the state after N. With a loop of your own
instead of ``trial.epochs()``, a checkpoint after ``report(N)`` said ``continue`` is the state
after N, unless the function checkpoints before it reports (it did so before its first
report): then it is the state after N + 1, taken before ``report(N + 1)``. A trial paused at
N + 1 with only the state after N is refused (see :class:`CheckpointClock`).

A function that never checkpoints (an Optuna objective, ported) keeps no state: it can be
searched by schedulers that never pause a trial (``random``, ``grid``, ``asha`` with
``stop_only``), where its call runs from the first epoch to the last, and is refused
before the search starts by those that pause.

The same function runs in-process, on Ray workers (``--trainer module:train``) and as a
client of the service (``hpo worker``, ``Study.run``): the ``trial`` object has the same
methods everywhere.

In-process and on Ray, :class:`FunctionTrainer` adapts the function to the trainer
contract: the function runs in a thread of its own, and each ``step()`` lets it run
until its next ``report``. ``save()`` answers that report with ``pause``: the function
saves its state with ``trial.checkpoint`` and returns; the trial continues later from
that state, here or on another worker, by calling the function again. Exactness is the
function's: its checkpoint must hold all it needs (model, optimiser, random state).

The package: :mod:`~hpo.function_trial._contract` what a function must do and the one
lines refusing it; :mod:`~hpo.function_trial._trial` the ``trial`` object's part shared with
the service's client (:class:`BaseTrial`, :class:`CheckpointClock`);
:mod:`~hpo.function_trial._trainer` the in-process trial and :class:`FunctionTrainer`.
"""

from hpo.function_trial._contract import (
    NEVER_PAUSE,
    ContractError,
    NoStateError,
    check_train_function,
    is_train_function,
    mentions_checkpoint,
    no_state_note,
    no_state_refusal,
    scheduler_label,
    stale_checkpoint_refusal,
)
from hpo.function_trial._trainer import FunctionTrainer, FunctionTrial, TrainFunction
from hpo.function_trial._trial import CONTINUE, NOTHING, PAUSE, STOP, BaseTrial, CheckpointClock

__all__ = [
    "CONTINUE",
    "NEVER_PAUSE",
    "NOTHING",
    "PAUSE",
    "STOP",
    "BaseTrial",
    "CheckpointClock",
    "ContractError",
    "FunctionTrainer",
    "FunctionTrial",
    "NoStateError",
    "TrainFunction",
    "check_train_function",
    "is_train_function",
    "mentions_checkpoint",
    "no_state_note",
    "no_state_refusal",
    "scheduler_label",
    "stale_checkpoint_refusal",
]
