"""The ``hpo`` command line: a thin shell over the library.

Each subcommand parses its options, calls the library, prints, and returns an exit code.
Bad input is one line on stderr and exit code 2, never a traceback (:mod:`._errors`). The
commands, by what they do:

* searching (:mod:`._search`): ``run``, ``resume``, ``submit``, ``worker``;
* inspecting studies (:mod:`._inspect`, reading through :mod:`._source`): ``list``,
  ``status``, ``best``, ``export``;
* serving (:mod:`._serve`): ``serve``, ``dashboard``;
* measuring (:mod:`._evaluate`): ``compare``, ``simulate``, ``report``, ``train``.

Their options are declared once (:mod:`._options`): a setting's from
:class:`~hpo.settings.SearchSettings`, its default shown in ``--help`` read from it.
``hpo`` (the console script) and ``python -m hpo`` call :func:`main`.
"""

from __future__ import annotations

import click

from hpo.cli import _evaluate, _inspect, _search, _serve
from hpo.cli._errors import USER_ERRORS, UsageError, run
from hpo.cli._options import setting_option
from hpo.cli._serve import _server_token, _warn_clear_token


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hpo")
def cli() -> None:
    """Hyperparameter search with successive halving, HyperBand and ASHA on Ray."""


for _command in (*_search.COMMANDS, *_inspect.COMMANDS, *_serve.COMMANDS, *_evaluate.COMMANDS):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input becomes one line on stderr and exit code 2."""
    return run(cli, argv)


#: ``_server_token`` and ``_warn_clear_token`` (the server's token and clear-text checks) are
#: reached here by the tests, as before the CLI was a package.
__all__ = ["USER_ERRORS", "UsageError", "_server_token", "_warn_clear_token", "cli", "main",
           "setting_option"]  # fmt: skip
