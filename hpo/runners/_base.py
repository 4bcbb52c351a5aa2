"""What runners share: the result of one assignment and the trainer factory."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpo.types import Suggestion


class Trainer(Protocol):
    """The trainer contract (close to Ray Tune's Trainable)."""

    def setup(self, config: dict[str, Any], seed: int) -> None: ...

    def step(self) -> Mapping[str, float]: ...

    def save(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


TrainerFactory = Callable[[], Trainer]


@dataclass(frozen=True)
class EpochResult:
    """One trained epoch: its number, its metrics and how long it took."""

    epoch: int
    metrics: Mapping[str, float]
    seconds: float


@dataclass
class TrialResult:
    """What a worker sends back after one assignment."""

    trial_id: int
    epochs: list[EpochResult] = field(default_factory=list)
    worker: str = "local"
    error: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0


def is_diverged(metrics: Mapping[str, float]) -> bool:
    return bool(metrics.get("diverged")) or any(
        isinstance(v, float) and math.isnan(v) for k, v in metrics.items() if k.endswith("loss")
    )


def describe_error(exc: BaseException) -> str:
    """One line for the study record, with the innermost frame of the trainer."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def train_assignment(
    trainer: Trainer, trial_id: int, start_epoch: int, until_epoch: int, clock: Callable[[], float]
) -> TrialResult:
    """Step ``trainer`` from ``start_epoch`` to ``until_epoch``; stop at divergence or error."""
    result = TrialResult(trial_id, started_at=clock())
    for epoch in range(start_epoch + 1, until_epoch + 1):
        t0 = clock()
        try:
            metrics = dict(trainer.step())
        except Exception as exc:  # a trainer's bug must not kill the search
            result.error = describe_error(exc)
            break
        result.epochs.append(EpochResult(epoch, metrics, clock() - t0))
        if is_diverged(metrics):
            break
    result.finished_at = clock()
    return result


def validate_suggestion(s: Suggestion, epochs_done: int) -> None:
    if s.until_epoch <= epochs_done:
        raise ValueError(
            f"trial {s.trial_id} asked to train to {s.until_epoch} but has {epochs_done}"
        )
