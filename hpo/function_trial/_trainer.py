"""In-process and on Ray: a ``train(config, trial)`` function as a trainer.

:class:`FunctionTrainer` adapts the function to the trainer contract: the function runs in
a thread of its own, and each ``step()`` lets it run until its next ``report``, which
:class:`FunctionTrial` hands over; ``save()`` answers that report with ``pause`` and keeps
what the function checkpoints (see :mod:`hpo.function_trial`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from hpo.function_trial._contract import ContractError, NoStateError
from hpo.function_trial._trial import CONTINUE, NOTHING, PAUSE, STOP, BaseTrial

TrainFunction = Callable[[dict[str, Any], Any], Any]


class _Stopped(BaseException):
    """Raised inside the function's thread when its trainer is closed mid-trial."""


class FunctionTrial(BaseTrial):
    """The ``trial`` a function gets in-process or on Ray (see :mod:`hpo.function_trial`)."""

    def __init__(self, trainer: FunctionTrainer, start: int, state: Any) -> None:
        super().__init__(dict(trainer.config), trainer.seed, start)
        self._trainer = trainer
        self._state = state
        self._saved: Any = None  # the state of the last checkpoint kept (BaseTrial._kept)

    @property
    def resume(self) -> bool:
        return self._state is not None

    def restore(self) -> Any:
        """The state saved by :meth:`checkpoint` before a pause, or None."""
        return self._state

    def _answer(
        self, epoch: int, metrics: Mapping[str, float], seconds: float | None, checkpoint: Any
    ) -> None:
        """Hand the epoch's metrics to the runner's thread and wait for its answer."""
        if epoch != self.last_epoch + 1:
            raise ValueError(f"trial.report(epoch={epoch}): expected epoch {self.last_epoch + 1}")
        if checkpoint is not NOTHING:
            self._keep(epoch, False, checkpoint)
        self.last_epoch = epoch
        self.action = self._trainer._exchange(("report", epoch, dict(metrics)))

    def _keep(self, epoch: int, after_continue: bool, state: Any) -> None:
        """Held for the runner, which takes it when it pauses the trial."""
        self._kept, self._saved = (epoch, after_continue), state


class FunctionTrainer:
    """The trainer contract around a ``train(config, trial)`` function.

    Args:
        function: the training function.
        dataset: ignored (the function loads its own data); accepted so that a
            :class:`~hpo.trainer_spec.TrainerSpec` can build it like any trainer.
        keeps_state: False for a function that never checkpoints, searched by a scheduler
            that never pauses: ``save()`` then leaves the function running (the trial goes
            on in the same call) and records only how far it got.
    """

    def __init__(
        self, function: TrainFunction, dataset: Any = None, *, keeps_state: bool = True
    ) -> None:
        self.function = function
        self.keeps_state = keeps_state
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
        if not self.keeps_state:  # nothing to keep: the function trains on when continued
            return {"config": self.config, "seed": self.seed, "epoch": self._epoch,
                    "state": None, "kept": False}  # fmt: skip
        if self._thread is not None:
            self._to_function.put(PAUSE)
            kind, *rest = self._from_function.get()
            self._thread = None
            if kind == "error":
                raise rest[0]
            if kind == "report":  # it ignored the pause and trained on
                self.close()
                raise ContractError("train() went on training after trial.report() said pause")
            trial = self._trial
            if trial is None or trial._kept is None:
                raise NoStateError(
                    f"train() did not call trial.checkpoint(state) after epoch {self._epoch} "
                    "when told to pause",
                    "a paused trial resumes from that state",
                )
            trial._refuse_stale()  # its last_epoch is this _epoch: the report paused
            kept = trial._kept[0]
            if kept != self._epoch:
                raise ContractError(
                    f"train() did not call trial.checkpoint(state) after epoch {self._epoch} "
                    f"when told to pause (its last checkpoint was the state after epoch "
                    f"{kept}); a paused trial resumes from the state after its last epoch"
                )
            self._state = trial._saved
        return {
            "config": self.config,
            "seed": self.seed,
            "epoch": self._epoch,
            "state": self._state,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.close()
        if not state.get("kept", True) and int(state["epoch"]) > 0:
            raise NoStateError(
                "train() keeps no state (it never calls trial.checkpoint)",
                f"its trial cannot continue after epoch {state['epoch']} in another call (a lost "
                "worker, a resume)",
            )
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
