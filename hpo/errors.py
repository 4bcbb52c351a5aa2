"""One base for every error hpo raises on purpose: :class:`HpoError`.

An ``HpoError``'s message is one line that says what is wrong and what was expected, in
the words of the settings (``max_epochs``, not ``--max-epochs``): the CLI prints it after
``hpo:`` and exits 2, the service sends its ``public`` text to the client (``{"error": …}``),
``hpo.search`` raises it. A setting the message asks for is written in backticks,
```metric=val_r2``` or ```task```; the CLI prints it as its flag, ``--metric val_r2``
(:func:`hpo.cli._errors.with_flags`). Each family keeps the builtin base it had
(``ValueError`` for bad values), so ``except ValueError`` still catches a bad setting.

The families: :class:`~hpo.trainer_spec.SettingsError` (settings that cannot run),
:class:`~hpo.space.SpaceError` (a malformed search space),
:class:`~hpo.function_trial.ContractError` (a trainer that does not keep its contract),
:class:`~hpo.store.StoreError` (a study that is missing, exists, or is being written),
:class:`~hpo.tuner.ReplayError` (a recorded log that no longer replays),
:class:`~hpo.service.ServiceError` (a request the service refuses, with its HTTP status),
:class:`~hpo.client.ClientError` (what a server refused, seen by a client).
"""

from __future__ import annotations


class HpoError(Exception):
    """Base of every error hpo raises on purpose.

    Args:
        message: one line for the person who made the call (it may name a local path).
        public: what may be shown to a remote client instead, when the message holds
            something only the caller's machine should see (the server's file paths, the
            names of other studies); the message itself by default.
    """

    def __init__(self, message: str = "", *, public: str | None = None) -> None:
        super().__init__(message)
        self.public = message if public is None else public


__all__ = ["HpoError"]
