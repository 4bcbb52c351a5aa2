"""The contract of a ``train(config, trial)`` function, and the one lines that refuse it.

What makes a function searchable (:func:`is_train_function`, :func:`check_train_function`),
whether it keeps state (:func:`mentions_checkpoint`), and the messages that refuse one that
does not keep its contract (:class:`ContractError`, :class:`NoStateError`), said alike by
the search, the Ray and serial runners and the service's client.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from hpo.errors import HpoError


class ContractError(HpoError, ValueError):
    """A function (or class) that does not follow the contract it was named for."""

    __module__ = "hpo.function_trial"  # where users import it from, as tracebacks name it


class NoStateError(ContractError):
    """A function told to pause returned without ever calling ``trial.checkpoint``.

    ``what`` is what it did ("train() did not call … when told to pause"), ``why`` why
    that matters; the message is both."""

    __module__ = "hpo.function_trial"

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}; {why}")
        self.what = what


def stale_checkpoint_refusal(who: str, epoch: int, saved: int) -> str:
    """The one line refusing a pause at ``epoch`` whose only state is the one a loop of its
    own checkpointed after ``report(saved)`` said continue (see
    :class:`~hpo.function_trial.CheckpointClock`)."""
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
