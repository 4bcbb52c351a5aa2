"""What runners share: an assignment's result, the trainer contract, and the epoch loop."""

from __future__ import annotations

import math
import pickle
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpo.space import nest
from hpo.types import Suggestion


class Trainer(Protocol):
    """The trainer contract (close to Ray Tune's Trainable)."""

    def setup(self, config: dict[str, Any], seed: int) -> None: ...

    def step(self) -> Mapping[str, float]: ...

    def save(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


TrainerFactory = Callable[[], Trainer]

#: (epochs trained, pickled saved state) of a trial, as the study store keeps it. States
#: travel pickled once, by the worker that made them: the driver only moves bytes.
Checkpoint = tuple[int, bytes]


@dataclass(frozen=True)
class EpochResult:
    """One trained epoch: its number, its metrics, how long it took and when it ended."""

    epoch: int
    metrics: Mapping[str, float]
    seconds: float
    ended_at: float = 0.0


@dataclass
class TrialResult:
    """What a worker sends back after one assignment.

    ``state`` is the trainer's pickled saved state after the last epoch (None after an error);
    ``lost_worker`` says the worker died, so the assignment may be retried elsewhere;
    ``node`` is the machine that trained it (its IP on a Ray cluster; None in-process).
    """

    trial_id: int
    epochs: list[EpochResult] = field(default_factory=list)
    worker: str = "local"
    error: str | None = None
    state: bytes | None = None
    lost_worker: bool = False
    node: str | None = None


def is_diverged(metrics: Mapping[str, float]) -> bool:
    """A trainer said so, or a loss is NaN or infinite (a loss of inf is no better than NaN).

    >>> is_diverged({"val_loss": float("inf")}), is_diverged({"val_loss": 0.3})
    (True, False)
    """
    return bool(metrics.get("diverged")) or any(
        isinstance(v, float) and not math.isfinite(v)
        for k, v in metrics.items()
        if k.endswith("loss")
    )


def describe_error(exc: BaseException) -> str:
    """One line for the study record, with the innermost frame of the trainer."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"


class WarmTrainers:
    """The trainers a worker holds live, so that a trial that continues at once (or a
    promotion that lands on the same worker) skips save/restore. Bounded: ``capacity``."""

    def __init__(self, make_trainer: TrainerFactory, capacity: int = 1) -> None:
        self.make_trainer = make_trainer
        self.capacity = capacity
        self._live: dict[int, tuple[int, Trainer]] = {}

    def epochs(self, trial_id: int) -> int | None:
        entry = self._live.get(trial_id)
        return None if entry is None else entry[0]

    def get(self, s: Suggestion, checkpoint: Checkpoint | None) -> tuple[Trainer, int]:
        """A trainer ready to continue ``s``, and the epochs it has: warm, restored or new."""
        entry = self._live.pop(s.trial_id, None)
        if (
            entry is not None
            and entry[0] <= s.from_epoch
            and (checkpoint is None or entry[0] >= checkpoint[0])
        ):
            return entry[1], entry[0]
        trainer = self.make_trainer()
        if checkpoint is not None:
            trainer.restore(pickle.loads(checkpoint[1]))  # a state this search saved itself
            return trainer, checkpoint[0]
        # Nothing saved yet (a trial killed before its first result): start it afresh.
        trainer.setup(nest(s.config), s.seed)  # dotted names as nested mappings
        return trainer, 0

    def keep(self, trial_id: int, epochs: int, trainer: Trainer) -> None:
        self._live[trial_id] = (epochs, trainer)
        while len(self._live) > self.capacity:
            close(self._live.pop(next(iter(self._live)))[1])

    def drop(self, trial_id: int) -> None:
        entry = self._live.pop(trial_id, None)
        if entry is not None:
            close(entry[1])


def close(trainer: Any) -> None:
    """Let a trainer free what it holds (a function trial's thread), if it can."""
    closer = getattr(trainer, "close", None)
    if callable(closer):
        closer()


def run_assignment(
    warm: WarmTrainers,
    s: Suggestion,
    checkpoint: Checkpoint | None,
    worker: str,
    *,
    deadline: float | None = None,
    resource: str = "epochs",
) -> TrialResult:
    """Train ``s`` on this worker: from the warm trainer or the checkpoint to ``until_epoch``.

    Stops early at divergence, at an exception (recorded, never raised) or at the deadline.
    Returns the saved state after the last epoch, so any worker can continue the trial.
    With ``resource="samples"`` the trainer refits once, on ``until_epoch`` samples
    (``fit(n_samples)``), and reports that one result.
    """
    result = TrialResult(s.trial_id, worker=worker)
    try:
        trainer, done = warm.get(s, checkpoint)
    except Exception as exc:
        result.error = describe_error(exc)
        return result
    if resource == "samples":
        done = s.until_epoch - 1  # one refit stands for every sample in between
    for epoch in range(done + 1, s.until_epoch + 1):
        t0 = time.perf_counter()
        try:
            out = trainer.fit(epoch) if resource == "samples" else trainer.step()  # type: ignore[attr-defined]
            metrics = {k: float(v) for k, v in out.items()}
        except Exception as exc:  # a trainer's bug must not kill the search
            result.error = describe_error(exc)
            close(trainer)
            return result
        seconds = time.perf_counter() - t0
        result.epochs.append(EpochResult(epoch, metrics, seconds, time.time()))
        done = epoch
        if is_diverged(metrics):
            break
        if deadline is not None and time.time() > deadline and epoch < s.until_epoch:
            result.error = "TimeoutError: trial_timeout exceeded"
            break
    try:
        result.state = pickle.dumps(trainer.save(), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        result.error = result.error or describe_error(exc)
    warm.keep(s.trial_id, done, trainer)
    return result
