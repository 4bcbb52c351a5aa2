"""Importing objects by path (``package.module:Name``), without heavy imports of its own."""

from __future__ import annotations

import importlib
from typing import Any


def import_object(path: str) -> Any:
    """``package.module:Name`` → the object; a ValueError that says what failed.

    >>> import_object("json:dumps").__name__
    'dumps'
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not an import path; expected 'package.module:Name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} of {path!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
