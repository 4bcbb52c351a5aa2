"""The pure-logic benchmarks run at a tiny size: their code works and their JSON has
the documented shape. (No timing is asserted: speed is shown by the benchmarks.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scheduler_overhead_benchmark_runs_small(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "bench/scheduler_overhead.py", "--trials", "300", "--out", str(tmp_path / "o.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    report = json.loads((tmp_path / "o.json").read_text())
    assert set(report["cases"]) == {
        "asha", "asha_stop_only", "hyperband", "hyperband_median", "sh_report", "sh_eta",
        "random", "grid",
    }  # fmt: skip
    for case in report["cases"].values():
        assert case["decision_us"] > 0 and case["trials"] >= 290
    assert "decision_us" in out.stdout
