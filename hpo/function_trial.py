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
"""

from __future__ import annotations

import functools
import inspect
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hpo.errors import HpoError

TrainFunction = Callable[[dict[str, Any], Any], Any]

CONTINUE, PAUSE, STOP = "continue", "pause", "stop"


class ContractError(HpoError, ValueError):
    """A function (or class) that does not follow the contract it was named for."""


class NoStateError(ContractError):
    """A function told to pause returned without ever calling ``trial.checkpoint``.

    ``what`` is what it did ("train() did not call … when told to pause"), ``why`` why
    that matters; the message is both."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}; {why}")
        self.what = what


#: ``trial.report(..., checkpoint=NOTHING)``: no checkpoint with this report.
NOTHING: Any = type("Nothing", (), {"__repr__": lambda self: "NOTHING"})()


class CheckpointClock:
    """Which epoch a ``trial.checkpoint(state)`` taken now is the state after.

    A checkpoint is the state after the epoch just trained: inside epoch N (after
    ``trial.epochs()`` gave N, before ``report(N)``) it is N, and so it is after
    ``report(N)`` until the loop asks for N + 1. Without ``trial.epochs()`` the start of
    an epoch is not seen, and a checkpoint after ``report(N)`` said continue could be the
    state after N (taken after its report) or after N + 1 (taken before the next one): the
    function's first epoch of the call tells which. One that checkpointed before its first
    report trains the next epoch after a continue; any other is taken at its word, the
    state after N, and :attr:`after_continue` marks it (a pause at N + 1 with only that
    state is refused, never resumed one epoch off).

    >>> clock = CheckpointClock()
    >>> clock.loop_started(); clock.epoch_started(); clock.label(0)  # in epoch 1, before report
    1
    >>> clock.reported("continue"); clock.label(1)  # after report 1, before the loop goes on
    1
    >>> clock.epoch_started(); clock.label(1)  # in epoch 2
    2
    >>> own = CheckpointClock()  # a loop of its own, checkpointing after each report
    >>> own.reported("continue"); own.taken(1), own.after_continue
    (1, True)
    >>> first = CheckpointClock()  # a loop of its own, checkpointing before each report
    >>> first.taken(0); first.reported("continue"); first.taken(1), first.after_continue
    1
    (2, False)
    """

    def __init__(self) -> None:
        self.in_epoch = True  # before the first report, a checkpoint follows epoch 1
        self.uses_epochs = False
        self.reported_any = False
        self.checkpoints_first = False  # a loop of its own that checkpoints before reporting
        #: Now, in a loop of its own, after a continue: a checkpoint is taken as the state
        #: after the epoch reported (it may have meant the next one).
        self.after_continue = False

    def label(self, last_epoch: int) -> int:
        """The epoch a checkpoint taken now belongs to, ``last_epoch`` being reported."""
        return last_epoch + 1 if self.in_epoch else last_epoch

    def taken(self, last_epoch: int) -> int:
        """A checkpoint is taken now: the epoch it belongs to (see :meth:`label`)."""
        if not self.reported_any:
            self.checkpoints_first = True
        return self.label(last_epoch)

    def loop_started(self) -> None:
        """``trial.epochs()`` was called: it marks where each epoch begins."""
        self.uses_epochs, self.in_epoch = True, False

    def epoch_started(self) -> None:
        """``trial.epochs()`` is giving the next epoch's number."""
        self.in_epoch = True

    def reported(self, action: str) -> None:
        """A report was answered ``action``."""
        self.reported_any = True
        goes_on = action == CONTINUE and not self.uses_epochs
        self.in_epoch = goes_on and self.checkpoints_first
        self.after_continue = goes_on and not self.checkpoints_first


def stale_checkpoint_refusal(who: str, epoch: int, saved: int) -> str:
    """The one line refusing a pause at ``epoch`` whose only state is the one a loop of its
    own checkpointed after ``report(saved)`` said continue (see :class:`CheckpointClock`)."""
    return (
        f"{who} did not call trial.checkpoint(state) after epoch {epoch} when told to pause "
        f"(its last checkpoint, taken after report({saved}) said continue in a loop of its own, "
        f"is the state after epoch {saved}); checkpoint before report({epoch}) or with it "
        f"(trial.report({epoch}, metrics, checkpoint=state)), or loop with trial.epochs()"
    )


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


#: What a scheduler that never pauses is called in the one line about a function without state.
NEVER_PAUSE = "--scheduler asha --stop-only (stop_only: true), or --scheduler random"


def no_state_refusal(who: str, why: str, scheduler: str) -> str:
    """The one line refusing a function that keeps no state under a scheduler that pauses."""
    return (
        f"{who}: {why}: it keeps no state, and {scheduler} pauses trials; "
        f"search it with a scheduler that never pauses: {NEVER_PAUSE}"
    )


def no_state_note(trainer: str, scheduler: str) -> str:
    """The one line saying that a function that keeps no state runs, and why."""
    return (
        f"{trainer} keeps no state (it never checkpoints): it runs, since {scheduler} never "
        "pauses a trial; each trial trains in one call, and a trial whose worker is lost fails"
    )


def scheduler_label(name: str, stop_only: bool) -> str:
    """How the one lines above name a scheduler: ``asha with stop_only`` or its name."""
    return f"{name} with stop_only" if stop_only else name


def mentions_checkpoint(fn: Any, depth: int = 3) -> bool:
    """Whether ``fn``'s code (or code it calls by name, ``depth`` calls deep) takes a
    checkpoint: ``.checkpoint(`` or ``checkpoint=``, anywhere.

    How a client of the service knows, before it takes work, that a function keeps no
    state (in-process and on Ray, a sampled configuration is run up to its first pause
    instead). A function that checkpoints only through code reached otherwise (a method
    of an object it is handed) reads as one that keeps none; set ``train.keeps_state =
    True`` on it to say otherwise.

    >>> def f(config, trial):
    ...     trial.report(1, {"x": 1.0}, checkpoint={"w": 0})
    >>> mentions_checkpoint(f), mentions_checkpoint(lambda config, trial: None)
    (True, False)
    """
    declared = getattr(fn, "keeps_state", None)
    if isinstance(declared, bool):
        return declared
    seen: set[int] = set()
    fn = inspect.unwrap(fn)
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = getattr(fn, "__func__", fn)  # a bound method
    if not inspect.isfunction(fn):  # code this cannot read: taken to keep state
        return True
    stack = [(fn.__code__, fn.__globals__, depth)]
    while stack:
        code, scope, left = stack.pop()
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        if "checkpoint" in code.co_names or "checkpoint_bytes" in code.co_names:
            return True
        for const in code.co_consts:
            if isinstance(const, tuple) and "checkpoint" in const:  # a call's keywords
                return True
            if inspect.iscode(const):  # a nested function or lambda
                stack.append((const, scope, left))
        if left == 0:
            continue
        for name in code.co_names:  # functions, classes and modules it calls by name
            target = scope.get(name)
            if inspect.ismodule(target):
                targets = [getattr(target, n, None) for n in code.co_names]
            elif isinstance(target, type):
                targets = list(vars(target).values())
            else:
                targets = [target]
            for t in targets:
                t = getattr(t, "__func__", t)
                if inspect.isfunction(t):
                    stack.append((t.__code__, t.__globals__, left - 1))
    return False


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
        self._saved_after_continue = False  # the clock's after_continue when it was taken
        self._clock = CheckpointClock()

    @property
    def resume(self) -> bool:
        return self._state is not None

    def restore(self) -> Any:
        """The state saved by :meth:`checkpoint` before a pause, or None."""
        return self._state

    def epochs(self) -> Iterator[int]:
        """The next epoch numbers, for as long as the trial is told to continue."""
        self._clock.loop_started()
        return self._epochs()

    def _epochs(self) -> Iterator[int]:
        epoch = self.last_epoch
        while self.action == CONTINUE:
            epoch += 1
            self._clock.epoch_started()
            yield epoch

    def report(
        self,
        epoch: int,
        metrics: Mapping[str, float],
        seconds: float | None = None,
        checkpoint: Any = NOTHING,
    ) -> str:
        """Hand one epoch's metrics to the scheduler; returns continue, pause or stop.

        Args:
            epoch: the epoch trained, the one after the last reported.
            metrics: its metrics, the objective among them.
            seconds: accepted as by the service's client; here the runner times epochs.
            checkpoint: the state after this epoch (Ray Tune's ``report(..., checkpoint=)``),
                instead of a ``trial.checkpoint(state)`` call.
        """
        if epoch != self.last_epoch + 1:
            raise ValueError(f"trial.report(epoch={epoch}): expected epoch {self.last_epoch + 1}")
        if checkpoint is not NOTHING:
            self._saved, self._saved_after_continue = (epoch, checkpoint), False
        self.last_epoch = epoch
        self.action = self._trainer._exchange(("report", epoch, dict(metrics)))
        self._clock.reported(self.action)
        return self.action

    def checkpoint(self, state: Any) -> None:
        """Keep ``state`` as the trial's state after the epoch just trained (before or
        after its report: see the module's docstring)."""
        self._saved = (self._clock.taken(self.last_epoch), state)
        self._saved_after_continue = self._clock.after_continue


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
            saved = self._trial._saved if self._trial is not None else None
            if saved is None:
                raise NoStateError(
                    f"train() did not call trial.checkpoint(state) after epoch {self._epoch} "
                    "when told to pause",
                    "a paused trial resumes from that state",
                )
            if saved[0] == self._epoch - 1 and self._trial._saved_after_continue:
                raise ContractError(stale_checkpoint_refusal("train()", self._epoch, saved[0]))
            if saved[0] != self._epoch:
                raise ContractError(
                    f"train() did not call trial.checkpoint(state) after epoch {self._epoch} "
                    f"when told to pause (its last checkpoint was the state after epoch "
                    f"{saved[0]}); a paused trial resumes from the state after its last epoch"
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
