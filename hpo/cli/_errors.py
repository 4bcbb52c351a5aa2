"""How the ``hpo`` command line fails: one line on stderr, an exit code, never a traceback.

Every command raises :class:`UsageError` for a bad input it sees itself (a flag's value);
the library's errors (:data:`USER_ERRORS`, and what a server refused) reach :func:`run`,
which prints them in the CLI's words: a library message speaks of settings and writes a
setting it asks for in backticks (:mod:`hpo.errors`), which is printed as its flag here
(```max_epochs=9``` as ``--max-epochs 9``). Flag names belong to the CLI, not the library.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import click

from hpo.settings import SettingsError
from hpo.space import SpaceError
from hpo.store import StoreError

#: Errors that mean "the input is wrong": one line, exit code 2.
USER_ERRORS = (SettingsError, SpaceError, StoreError)


class UsageError(click.ClickException):
    """A bad input: printed as one line on stderr, exit code 2."""

    exit_code = 2


def run(group: click.Group, argv: list[str] | None = None) -> int:
    """Run the command line ``group``; bad input becomes one line on stderr and exit code 2."""
    try:
        result = group.main(args=argv, prog_name="hpo", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:  # bare `hpo`: the help, as for --help
        click.echo(group.get_help(click.Context(group, info_name="hpo")))
        return 0
    except click.UsageError as exc:
        click.echo(f"hpo: {one_line(exc.format_message())}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"hpo: {one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("hpo: aborted", err=True)
        return 130
    except USER_ERRORS as exc:
        click.echo(f"hpo: {one_line(with_flags(str(exc)))}", err=True)
        return 2
    except _client_error() as exc:  # the server refused, or could not be reached
        click.echo(f"hpo: {one_line(with_flags(exc.message))}", err=True)
        return 2 if exc.status else 1
    except KeyboardInterrupt:
        click.echo("hpo: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


#: A setting named in a library message: `name` or `name=value` (hpo.errors).
_SETTING = re.compile(r"`([a-z_]+)(?:=([^`]*))?`")


def with_flags(message: str) -> str:
    """``message`` with each setting it names in backticks as its flag: ```metric=val_r2```
    as ``--metric val_r2``, ```task``` as ``--task``; a name without a flag stays as written."""
    from hpo.cli._options import has_option

    def flag(match: re.Match[str]) -> str:
        name, value = match.groups()
        if not has_option(name):
            return match.group(0)
        option = f"--{name.replace('_', '-')}"
        return option if value is None else f"{option} {value}"

    return _SETTING.sub(flag, message)


@contextlib.contextmanager
def refused(*kinds: type[Exception], prefix: str = "") -> Iterator[None]:
    """A library error of ``kinds`` (ValueError unless told) as a UsageError: one line, exit
    code 2, in the CLI's words (:func:`with_flags`), after ``prefix``."""
    caught = kinds or (ValueError,)
    try:
        yield
    except caught as exc:
        raise UsageError(prefix + with_flags(str(exc))) from None


def connect(url: str, **kwargs: Any) -> Any:
    """A client of the server at ``url``; a bad ``--ca`` is one line (UsageError)."""
    from hpo.client import connect

    with refused():
        return connect(url, **kwargs)


def _client_error() -> type[Exception]:
    from hpo.client import ClientError

    return ClientError


def one_line(message: str) -> str:
    return " ".join(message.split())


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
