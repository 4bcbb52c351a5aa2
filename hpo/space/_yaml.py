"""Reading YAML for spaces and search files: a missing file or a syntax error is one line."""

from __future__ import annotations

import re
from typing import Any

import yaml

from hpo.space._params import SpaceError


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(path: str) -> Any:
    """Parse a YAML file; a missing file or a syntax error is a SpaceError naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_yaml(handle.read(), path)
    except FileNotFoundError:
        raise SpaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SpaceError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: is not a UTF-8 text file") from None


def parse_yaml(text: str, source: str = "YAML") -> Any:
    """Parse YAML text; a syntax error is a SpaceError naming ``source`` and the place."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpaceError(f"{source}: malformed YAML{where}: {problem}") from None
