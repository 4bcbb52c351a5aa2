"""What every benchmark shares: where its JSON goes, and the check of its anchors.

Full runs write ``results/benchmarks/NAME.json`` (the committed evidence); ``--quick``
runs write ``NAME.quick.json`` beside it, so a quick check never replaces the evidence.

An anchor is what a benchmark measures against that ``pip install -e .`` does not bring
(Optuna's gRPC proxy, Ray Tune, headless Chromium, the ``.venv-bench`` of Syne Tune, DEHB
and SMAC, the tables that come with it). A benchmark names its anchors with
:func:`require` before it starts: one that is missing is one line naming the command that
installs it, and the benchmark exits with status 1, not a traceback halfway through.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "benchmarks"
# The anchors' own environment (they pin numpy < 2); elsewhere with HPO_BENCH_VENV.
BENCH_VENV = Path(os.environ.get("HPO_BENCH_VENV", ROOT / ".venv-bench"))
TABLES = ROOT / "results" / "tables"
BENCH_EXTRA = "pip install -e '.[bench]'"  # what `make bench-quick` installs


@dataclass(frozen=True)
class Anchor:
    """One anchor: a module this Python must import, or a file that must exist."""

    name: str
    install: str
    module: str | None = None
    path: Path | None = None

    def installed(self) -> bool:
        if self.path is not None and not self.path.exists():
            return False
        if self.module is not None:
            try:
                importlib.import_module(self.module)
            except ImportError:
                return False
        return True


GRPC = Anchor("grpcio (Optuna's gRPC storage proxy)", BENCH_EXTRA, module="grpc")
RAY_TUNE = Anchor("ray[tune]", BENCH_EXTRA, module="ray.tune")
PLAYWRIGHT = Anchor("playwright", BENCH_EXTRA, module="playwright.sync_api")
CHROMIUM = Anchor(
    "headless Chromium",
    "make browser",
    path=Path(os.environ.get("HPO_CHROMIUM", "/usr/bin/chromium")),
)
ANCHOR_ENV = Anchor(
    f"the anchors' environment {BENCH_VENV.name} (Syne Tune, DEHB, SMAC)",
    "make bench-anchors",
    path=BENCH_VENV / "bin" / "python",
)


def table_anchor(name: str, path: Path) -> Anchor:
    """A recorded table that comes with the anchors' environment."""
    return Anchor(f"the {name} table ({path.relative_to(ROOT)})", "make bench-anchors", path=path)


def missing(*anchors: Anchor) -> str | None:
    """The one line that says which anchors are missing and how to install them, or None."""
    absent = [a for a in anchors if not a.installed()]
    if not absent:
        return None
    commands = " and ".join(dict.fromkeys(f"`{a.install}`" for a in absent))
    script = Path(sys.argv[0]).name or "benchmark"
    return f"{script}: {', '.join(a.name for a in absent)} not installed: run {commands}"


def require(*anchors: Anchor) -> None:
    """Exit with status 1 and one line on stderr unless every anchor is installed."""
    line = missing(*anchors)
    if line is not None:
        raise SystemExit(line)


def write_report(name: str, report: dict[str, Any], quick: bool, out: Path | None = None) -> Path:
    """Write ``report`` as JSON, print it, and return the path."""
    path = out or RESULTS / (f"{name}.quick.json" if quick else f"{name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    path.write_text(text + "\n")
    print(text)
    return path
