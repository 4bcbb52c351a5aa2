"""Importing objects by path (``package.module:Name``), without heavy imports of its own."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


def import_object(path: str) -> Any:
    """``package.module:Name`` → the object; a ValueError that says what failed.

    >>> import_object("json:dumps").__name__
    'dumps'
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not an import path; expected 'package.module:Name'")
    if "" not in sys.path and os.getcwd() not in sys.path:
        # As `python -m` and uvicorn do: a user's own module in the current folder imports.
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} of {path!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
