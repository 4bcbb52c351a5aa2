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

The same function runs in-process, on Ray workers (``--trainer module:train``) and as a
client of the service (``hpo worker``, ``Study.run``): the ``trial`` object has the same
methods everywhere.

In-process and on Ray, :class:`FunctionTrainer` adapts the function to the trainer
contract: the function runs in a thread of its own, and each ``step()`` lets it run
until its next ``report``. ``save()`` answers that report with ``pause``: the function
saves its state with ``trial.checkpoint`` and returns; the trial continues later from
that state, here or on another worker, by calling the function again. Exactness is the
function's: its checkpoint must hold all it needs (model, optimiser, random state).
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

TrainFunction = Callable[[dict[str, Any], Any], Any]

CONTINUE, PAUSE, STOP = "continue", "pause", "stop"


class ContractError(ValueError):
    """A function (or class) that does not follow the contract it was named for."""


def is_train_function(obj: Any) -> bool:
    """A plain function (not a class) taking ``(config, trial)``."""
    return inspect.isfunction(obj) or (callable(obj) and not isinstance(obj, type) and
                                       inspect.isroutine(obj))  # fmt: skip


def check_train_function(fn: Any, path: str) -> None:
    """Raise ContractError unless ``fn`` can be called as ``fn(config, trial)``."""
    try:
        inspect.signature(fn).bind({}, None)
    except (TypeError, ValueError):
        raise ContractError(
            f"--trainer {path} is a function, but not train(config, trial): it must take the "
            "configuration and a trial object"
        ) from None


class _Stopped(BaseException):
    """Raised inside the function's thread when its trainer is closed mid-trial."""


class FunctionTrial:
    """The ``trial`` a function gets in-process or on Ray (see the module's docstring)."""

    def __init__(self, trainer: FunctionTrainer, start: int, state: Any) -> None:
        self._trainer = trainer
        self.config: dict[str, Any] = dict(trainer.config)
        self.seed: int = trainer.seed
        self.from_epoch = start
        self.last_epoch = start
        self.action = CONTINUE
        self._state = state
        self._saved: tuple[int, Any] | None = None

    @property
    def resume(self) -> bool:
        return self._state is not None

    def restore(self) -> Any:
        """The state saved by :meth:`checkpoint` before a pause, or None."""
        return self._state

    def epochs(self) -> Iterator[int]:
        """The next epoch numbers, for as long as the trial is told to continue."""
        epoch = self.last_epoch
        while self.action == CONTINUE:
            epoch += 1
            yield epoch

    def report(self, epoch: int, metrics: Mapping[str, float], seconds: float | None = None) -> str:
        """Hand one epoch's metrics to the scheduler; returns continue, pause or stop.
        (``seconds`` is accepted as by the service's client; here the runner times epochs.)"""
        if epoch != self.last_epoch + 1:
            raise ValueError(f"trial.report(epoch={epoch}): expected epoch {self.last_epoch + 1}")
        self.last_epoch = epoch
        self.action = self._trainer._exchange(("report", epoch, dict(metrics)))
        return self.action

    def checkpoint(self, state: Any) -> None:
        """Keep ``state`` as the trial's state after the last reported epoch."""
        self._saved = (self.last_epoch, state)


class FunctionTrainer:
    """The trainer contract around a ``train(config, trial)`` function.

    Args:
        function: the training function.
        dataset: ignored (the function loads its own data); accepted so that a
            :class:`~hpo.trainer_spec.TrainerSpec` can build it like any trainer.
    """

    def __init__(self, function: TrainFunction, dataset: Any = None) -> None:
        self.function = function
        self.config: dict[str, Any] = {}
        self.seed = 0
        self._epoch = 0  # epochs reported so far
        self._state: Any = None  # the function's state after _epoch epochs (a pause)
        self._thread: threading.Thread | None = None
        self._trial: FunctionTrial | None = None
        self._to_function: queue.Queue[str] = queue.Queue()
        self._from_function: queue.Queue[tuple] = queue.Queue()

    # -- the contract ----------------------------------------------------------------------

    def setup(self, config: dict[str, Any], seed: int) -> None:
        self.close()
        self.config, self.seed, self._epoch, self._state = dict(config), int(seed), 0, None

    def step(self) -> dict[str, float]:
        """Let the function train one more epoch; its report's metrics."""
        if self._thread is None:
            self._start()
        else:
            self._to_function.put(CONTINUE)
        kind, *rest = self._from_function.get()
        if kind == "report":
            epoch, metrics = rest
            self._epoch = epoch
            return metrics
        self._thread = None
        if kind == "error":
            raise rest[0]
        raise ContractError(
            f"train() returned after epoch {self._epoch} without reporting epoch "
            f"{self._epoch + 1}; it must report every epoch trial.epochs() gives until told "
            "to stop"
        )

    def save(self) -> dict[str, Any]:
        """Pause the function (its report answers ``pause``) and keep what it checkpoints."""
        if self._thread is not None:
            self._to_function.put(PAUSE)
            kind, *rest = self._from_function.get()
            self._thread = None
            if kind == "error":
                raise rest[0]
            if kind == "report":  # it ignored the pause and trained on
                self.close()
                raise ContractError("train() went on training after trial.report() said pause")
            saved = self._trial._saved if self._trial is not None else None
            if saved is None or saved[0] != self._epoch:
                raise ContractError(
                    f"train() did not call trial.checkpoint(state) after epoch {self._epoch} "
                    "when told to pause; a paused trial resumes from that state"
                )
            self._state = saved[1]
        return {
            "config": self.config,
            "seed": self.seed,
            "epoch": self._epoch,
            "state": self._state,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.close()
        self.config, self.seed = dict(state["config"]), int(state["seed"])
        self._epoch, self._state = int(state["epoch"]), state["state"]

    def close(self) -> None:
        """Stop a function waiting in ``report`` (its answer is ``stop``)."""
        if self._thread is not None:
            self._to_function.put(STOP)
            self._thread.join(timeout=30)
            self._thread = None
        self._to_function = queue.Queue()
        self._from_function = queue.Queue()

    # -- the function's thread ---------------------------------------------------------------

    def _start(self) -> None:
        trial = self._trial = FunctionTrial(self, self._epoch, self._state)
        from_function = self._from_function

        def run() -> None:
            try:
                self.function(dict(self.config), trial)
            except _Stopped:
                return
            except BaseException as exc:  # handed to step(), which raises it in the runner
                from_function.put(("error", exc))
                return
            from_function.put(("done",))

        self._thread = threading.Thread(target=run, daemon=True, name="hpo-train-function")
        self._thread.start()

    def _exchange(self, message: tuple) -> str:
        """Called by the function's thread: send a report, wait for the answer."""
        self._from_function.put(message)
        answer = self._to_function.get()
        if answer == STOP:
            raise _Stopped
        return answer
