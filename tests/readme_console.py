"""The README's console examples, checked against (and rewritten from) real runs.

Two kinds of ``console`` block are kept true:

- a block right after the line ``<!-- console: exact -->`` shows deterministic commands
  (plans, ``--dry-run``, refusals): every ``$ hpo …`` line is run from the repository's
  root and the block must show exactly what it prints (stdout, then stderr);
- any other block that shows ``$ hpo run …`` (a real search, with its timings and its
  best trial) must show the plan that the same command's ``--dry-run`` prints: the lines
  ``plan:``, ``  bracket …``, ``budget:`` and ``random search …``.

``python -m tests.readme_console`` lists what is stale; ``--write`` rewrites the README
from the real outputs (``make readme``). ``tests/test_readme.py`` fails on any stale block.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXACT = "<!-- console: exact -->"
PLAN_PREFIXES = ("plan:", "  bracket ", "budget:", "random search with", "the full grid")


@dataclass
class Command:
    """One ``$ …`` line of a block and the output lines shown under it."""

    line: int  # index in the README of the ``$`` line
    text: str  # the command, without ``$`` and a trailing ``# comment``
    output: list[str]


@dataclass
class Block:
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    exact: bool
    commands: list[Command]


def blocks(lines: list[str]) -> list[Block]:
    """Every ``console`` block of the README, with its commands and their shown output."""
    found, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```console":
            exact = i > 0 and lines[i - 1].strip() == EXACT
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            commands: list[Command] = []
            for k in range(i + 1, j):
                if lines[k].startswith("$ "):
                    commands.append(Command(k, _command(lines[k]), []))
                elif commands:
                    commands[-1].output.append(lines[k])
            found.append(Block(i + 1, j, exact, commands))
            i = j
        i += 1
    return found


def _command(line: str) -> str:
    text = line[2:]
    # A trailing comment after two or more spaces is the README's note, not the command.
    if "  #" in text:
        text = text[: text.index("  #")]
    return text.strip()


def run(command: str) -> list[str]:
    """What ``command`` (an ``hpo …`` line) prints, run from the repository's root."""
    args = shlex.split(command)
    if args[0] != "hpo":
        raise ValueError(f"only hpo commands can be checked, not {command!r}")
    env = {**os.environ, "COLUMNS": "100", "HPO_README": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "hpo", *args[1:]],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    text = done.stdout + done.stderr
    return text.rstrip("\n").split("\n") if text.strip() else []


def plan_lines(output: list[str]) -> list[str]:
    return [line for line in output if line.startswith(PLAN_PREFIXES)]


def _dry_run(command: str) -> str | None:
    """The ``--dry-run`` form of a real ``hpo run`` command (None for other commands)."""
    args = command.split()
    if args[:2] != ["hpo", "run"] or "--dry-run" in args or command.endswith("\\"):
        return None
    return command + " --dry-run"


def stale(lines: list[str]) -> list[tuple[Command, list[str]]]:
    """(command, its true output) for every command whose shown output is out of date.

    For a real run, the true output is the shown one with its plan lines replaced.
    """
    out = []
    for block in blocks(lines):
        for cmd in block.commands:
            if block.exact:
                real = run(cmd.text)
            elif (dry := _dry_run(cmd.text)) is not None and plan_lines(cmd.output):
                real = _with_plan(cmd.output, plan_lines(run(dry)))
            else:
                continue
            if real != cmd.output:
                out.append((cmd, real))
    return out


def _with_plan(shown: list[str], plan: list[str]) -> list[str]:
    """``shown`` with its run of plan lines replaced by ``plan``."""
    idx = [i for i, line in enumerate(shown) if line.startswith(PLAN_PREFIXES)]
    first, last = idx[0], idx[-1]
    return shown[:first] + plan + shown[last + 1 :]


def rewrite(lines: list[str], fixes: list[tuple[Command, list[str]]]) -> list[str]:
    """The README with each stale command's output replaced (from the bottom up)."""
    lines = list(lines)
    for cmd, real in sorted(fixes, key=lambda f: -f[0].line):
        start = cmd.line + 1
        lines[start : start + len(cmd.output)] = real
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md")
    args = parser.parse_args(argv)
    lines = README.read_text().split("\n")
    fixes = stale(lines)
    for cmd, _ in fixes:
        print(f"README.md:{cmd.line + 1}: stale output of $ {cmd.text}")
    if args.write and fixes:
        README.write_text("\n".join(rewrite(lines, fixes)))
        print(f"rewrote {len(fixes)} example(s)")
        return 0
    return 1 if fixes else 0


if __name__ == "__main__":
    sys.exit(main())
