"""House rules that hold across the code base (issue 19), checked by reading the sources."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What runs SQL: a statement, a script, a connection of sqlite3 itself, pandas' SQL reader.
SQL_EXECUTION = re.compile(
    r"\.execute\(|\.executemany\(|\.executescript\(|sqlite3\.connect|read_sql"
)


def _sources_outside_the_store() -> Iterator[tuple[str, str]]:
    """(path from the root, text) of every module of hpo/ and trainers/ but hpo/store/."""
    for top in ("hpo", "trainers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith("hpo/store/"):
                yield rel, path.read_text()


def test_no_sql_outside_the_store() -> None:
    """Every SQL statement of hpo/ and trainers/ is the store's (hpo/store/): other layers
    call its methods (STYLE.md 19: a store owns its schema)."""
    found = [
        f"{rel}:{number}: {line.strip()}"
        for rel, text in _sources_outside_the_store()
        for number, line in enumerate(text.splitlines(), start=1)
        if SQL_EXECUTION.search(line)
    ]
    assert not found, "SQL outside hpo/store/:\n" + "\n".join(found)


def test_no_private_store_name_outside_the_store() -> None:
    """Other layers import the store's public names (hpo/store/__init__.py), never one of
    its modules or an underscored helper."""
    found = []
    for rel, text in _sources_outside_the_store():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [a.name for a in node.names]
                private = node.module.startswith("hpo.store._") or (
                    node.module == "hpo.store" and any(n.startswith("_") for n in names)
                )
            elif isinstance(node, ast.Import):
                private = any(a.name.startswith("hpo.store._") for a in node.names)
            else:
                continue
            if private:
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "private store names outside hpo/store/:\n" + "\n".join(found)
