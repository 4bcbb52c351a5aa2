"""What every benchmark shares: where its JSON goes.

Full runs write ``results/benchmarks/NAME.json`` (the committed evidence); ``--quick``
runs write ``NAME.quick.json`` beside it, so a quick check never replaces the evidence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results" / "benchmarks"


def write_report(name: str, report: dict[str, Any], quick: bool, out: Path | None = None) -> Path:
    """Write ``report`` as JSON, print it, and return the path."""
    path = out or RESULTS / (f"{name}.quick.json" if quick else f"{name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    path.write_text(text + "\n")
    print(text)
    return path
