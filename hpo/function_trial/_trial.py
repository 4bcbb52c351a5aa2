"""The ``trial`` object's shared part: its epoch loop, its report, and where a checkpoint belongs.

A function's ``trial`` is :class:`~hpo.function_trial.FunctionTrial` in-process and on Ray,
and :class:`hpo.client.Trial` as a client of the service; both are a :class:`BaseTrial`,
which holds what they do alike, and differ only in how a report is answered (the runner's
thread, or the server) and what becomes of a checkpoint (kept for the runner, or uploaded).
:class:`CheckpointClock` says which epoch a checkpoint is the state after.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hpo.function_trial._contract import ContractError, stale_checkpoint_refusal

CONTINUE, PAUSE, STOP = "continue", "pause", "stop"

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


class BaseTrial:
    """What a function's ``trial`` is wherever it runs (see the module's docstring).

    A subclass answers a report (:meth:`_answer`: it sets :attr:`action` and
    :attr:`last_epoch`), keeps a checkpoint (:meth:`_keep`), and may end the epochs or act
    when an epoch starts (:meth:`_start_epoch`) or after a report is answered
    (:meth:`_answered`).
    """

    def __init__(self, config: dict[str, Any], seed: int, from_epoch: int) -> None:
        self.config = config
        self.seed = seed
        self.from_epoch = from_epoch
        self.last_epoch = from_epoch
        self.action = CONTINUE
        self._checkpoints = CheckpointClock()
        #: The last checkpoint kept: the epoch it is the state after, and the clock's
        #: ``after_continue`` when it was taken.
        self._kept: tuple[int, bool] | None = None

    def epochs(self) -> Iterator[int]:
        """Epoch numbers to train, from ``from_epoch + 1``, for as long as the trial is told
        to continue (as a client, up to ``until_epoch``, which moves when the scheduler keeps
        the trial going)."""
        self._checkpoints.loop_started()
        return self._epochs()

    def _epochs(self) -> Iterator[int]:
        epoch = self.last_epoch
        while self.action == CONTINUE:
            upcoming = self._start_epoch(epoch)
            if upcoming is None:
                return
            epoch = upcoming
            self._checkpoints.epoch_started()
            yield epoch

    def _start_epoch(self, last: int) -> int | None:
        """The epoch to train after ``last``, now starting (None: the trial trains no more)."""
        return last + 1

    def report(
        self,
        epoch: int,
        metrics: Mapping[str, float],
        seconds: float | None = None,
        checkpoint: Any = NOTHING,
    ) -> str:
        """Report one epoch's metrics; returns ``continue``, ``pause`` or ``stop``.

        Args:
            epoch: the epoch trained, the one after the last reported.
            metrics: its metrics, the objective among them.
            seconds: how long it took; as a client, the time since the epoch started by
                default (in-process and on Ray the runner times epochs: accepted, unused).
            checkpoint: the state after this epoch (as Ray Tune's
                ``report(metrics, checkpoint=...)``), instead of a ``trial.checkpoint(state)``
                call; a client uploads it if the server wants it (a pause).
        """
        self._answer(epoch, metrics, seconds, checkpoint)
        self._checkpoints.reported(self.action)
        self._answered(epoch)
        return self.action

    def _answer(
        self, epoch: int, metrics: Mapping[str, float], seconds: float | None, checkpoint: Any
    ) -> None:
        """Send the report and take its answer: set :attr:`action` and :attr:`last_epoch`."""
        raise NotImplementedError

    def _answered(self, epoch: int) -> None:
        """After the report of ``epoch`` was answered and the clock told."""

    def checkpoint(self, state: Any) -> None:
        """Keep ``state`` as the trial's state after the epoch just trained, unless the trial
        was stopped: taken before or after its report (see :class:`CheckpointClock`)."""
        if self.action == STOP:
            return
        epoch = self._checkpoints.taken(self.last_epoch)
        self._keep(epoch, self._checkpoints.after_continue, state)

    def _keep(self, epoch: int, after_continue: bool, state: Any) -> None:
        """A checkpoint taken now: ``state`` after ``epoch`` (:meth:`checkpoint`)."""
        raise NotImplementedError

    def _refuse_stale(self) -> None:
        """Raise ContractError if the trial, pausing at :attr:`last_epoch`, has only the state
        after the epoch before, checkpointed after its report said continue in a loop of its
        own (see :class:`CheckpointClock`)."""
        if self._kept is None:
            return
        epoch, after_continue = self._kept
        if after_continue and epoch == self.last_epoch - 1:
            raise ContractError(stale_checkpoint_refusal("train()", self.last_epoch, epoch))
