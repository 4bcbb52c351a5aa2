"""The pure-logic benchmarks run at a tiny size: their code works and their JSON has
the documented shape. (No timing is asserted: speed is shown by the benchmarks.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_api_overhead_benchmark_runs_quick(tmp_path) -> None:
    """Both sides ran the same study in both ways, and every figure is there."""
    out = subprocess.run(
        [sys.executable, "bench/api_overhead.py", "--quick", "--out", str(tmp_path / "o.json")],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["mode"] == "quick" and report["repeats"] == 3
    assert set(report["cases"]) == {"random", "asha"}
    assert set(report["sides"]) == {"in_process", "subprocess"}
    for case in report["cases"].values():
        assert case["same_study"] is True
        assert case["trials"] == 100 and case["epochs"] >= 100
        for way in ("in_process", "subprocess"):
            figures = case[way]
            for key in ("search_wall_s", "run_wall_s", "search_cpu_s", "run_cpu_s"):
                assert figures[key] > 0, key
            assert figures["search_over_run"] == pytest.approx(
                figures["search_wall_s"] / figures["run_wall_s"], rel=0.01
            )
            assert isinstance(figures["meets_goal"], bool)
            assert len(figures["search_wall_s_samples"]) == len(figures["run_wall_s_samples"]) == 3
    assert "search_over_run" in out.stdout


def hidden(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment whose Python cannot import ``modules`` (as if not installed)."""
    site = tmp_path / "hide"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        f"for name in {list(modules)!r}:\n"
        "    sys.modules[name] = None  # import raises ModuleNotFoundError\n"
    )
    path = os.pathsep.join(filter(None, [str(site), str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


@pytest.mark.parametrize(
    ("script", "args", "modules", "install"),
    [
        ("service_load.py", ["--quick"], ["grpc"], "pip install -e '.[bench]'"),
        ("vs_ray_tune.py", ["--quick"], ["ray.tune"], "pip install -e '.[bench]'"),
        ("dashboard_load.py", ["--quick"], ["playwright.sync_api"], "pip install -e '.[bench]'"),
        ("search_quality.py", ["--quick", "--anchors", "syne-asha"], [], "make bench-anchors"),
        ("fcnet_samplers.py", ["--quick"], [], "make bench-anchors"),
    ],
)
def test_benchmark_without_its_anchor_says_how_to_install_it(
    tmp_path, script: str, args: list[str], modules: list[str], install: str
) -> None:
    """An anchor that is not installed is one line naming the command that installs it,
    and the benchmark exits with status 1 before it starts (not a traceback halfway)."""
    env = {**hidden(tmp_path, *modules), "HPO_BENCH_VENV": str(tmp_path / "no-venv-bench")}
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "not installed" in line and f"`{install}`" in line, line
