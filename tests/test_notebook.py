"""The notebook flow in a real Jupyter kernel: ``nbclient`` executes a notebook built here
with an ``ipykernel`` kernel running this venv's Python.

The same flow as tests/test_api.py's ``__main__`` script, from notebook cells: ``train``
defined in a cell (it uses notebook globals, so it reaches the Ray workers by value), a
Python space with a condition, ``hpo.search(..., executor="ray")``, the result's frames
and figure (and its rich display), ``hpo.load`` of the same study; then the kernel is
interrupted (as Jupyter's interrupt button does) while a second study holds an epoch, and
``resume=True`` finishes it with no epoch recorded twice. The second study runs serially, in
the kernel: Ray starts once (about 10 s on a 2-core machine), for the first.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from hpo.store import StudyReader

WHY = "the notebook test runs a Jupyter kernel: pip install -e '.[dev]' (make test does)"
nbclient = pytest.importorskip("nbclient", reason=WHY)
nbformat = pytest.importorskip("nbformat", reason=WHY)
if importlib.util.find_spec("ipykernel") is None:
    pytest.skip(WHY, allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "hpo-test-venv"

SETUP = """\
import json, os, sys, time
import pandas as pd
import plotly.graph_objects as go
import hpo

STORAGE, HELD, GO = {storage!r}, {held!r}, {go!r}
# the kernel is this venv's Python, importing the checkout's hpo
assert sys.executable == {python!r}, sys.executable
assert hpo.__file__.startswith({root!r}), hpo.__file__
"""

TRAIN = """\
LOG = os.path.abspath("configs.jsonl")  # notebook globals train uses: they travel by value
HOLD = False  # the interrupted study: train holds its 5th epoch until the file GO exists
EPOCHS = []

def train(config, trial):
    with open(LOG, "a") as f:  # what the trainer got, wherever it runs
        f.write(json.dumps({"pid": os.getpid(), "config": config}) + "\\n")
    acc = (trial.restore() or {"acc": 0.0})["acc"]
    for epoch in trial.epochs():
        EPOCHS.append(epoch)
        if HOLD and len(EPOCHS) == 5:
            open(HELD, "w").close()
            while not os.path.exists(GO):
                time.sleep(0.05)
        opt = config["opt"]
        acc += opt["lr"] * (2.0 if opt["name"] == "adam" else 1.0 + opt["momentum"])
        if trial.report(epoch, {"val_accuracy": acc}, checkpoint={"acc": acc}) != "continue":
            break
"""

SPACE = """\
space = {"opt": {"name": hpo.choice(["sgd", "adam"]), "lr": hpo.loguniform(1e-3, 1e-1),
                 "momentum": hpo.uniform(0.0, 0.9, when={"opt.name": "sgd"})}}
"""

SEARCH = """\
result = hpo.search(train, space, study="nb", storage=STORAGE, executor="ray", workers=2,
                    scheduler="asha", max_epochs=9, progress=False)
assert result.info["status"] == "finished", result.info["status"]
best, trials, curves = result.best, result.trials, result.curves
assert isinstance(trials, pd.DataFrame) and isinstance(curves, pd.DataFrame)
assert best.trial_id in set(trials["trial_id"]) and best.metric == "val_accuracy"
assert best.value == curves["value"].max()
assert set(curves["trial_id"]) == set(trials["trial_id"])
sgd = trials["config.opt.name"] == "sgd"
assert sgd.any() and (~sgd).any()
assert trials.loc[~sgd, "config.opt.momentum"].isna().all()
assert trials.loc[sgd, "config.opt.momentum"].notna().all()
figure = result.plot()
assert isinstance(figure, go.Figure) and len(figure.data) > 0
assert "<table>" in result._repr_html_()
result
"""

LOAD = """\
loaded = hpo.load("nb", storage=STORAGE)
assert loaded.trials.equals(result.trials) and loaded.curves.equals(result.curves)
assert loaded.best == result.best and loaded.info == result.info
"""

CONFIGS = """\
def configs():
    with open(LOG) as f:
        return [json.loads(line) for line in f]

got = configs()
assert {c["pid"] for c in got} - {os.getpid()}, "no config reached a Ray worker"
for c in got:  # an inactive hyperparameter never reaches the trainer
    assert ("momentum" in c["config"]["opt"]) == (c["config"]["opt"]["name"] == "sgd"), c
"""

INTERRUPTED = """\
EPOCHS.clear()
HOLD = True
part = hpo.search(train, space, study="held", storage=STORAGE, executor="serial",
                  scheduler="asha", max_epochs=9, progress=False)
assert part.info["status"] == "interrupted", part.info["status"]
part
"""

REFUSED = """\
refused = None
try:
    hpo.search(study="held", storage=STORAGE, resume=True)
except hpo.SettingsError as exc:
    refused = str(exc)
assert refused is not None and refused.endswith("hand it over again: hpo.search(train, study='held', resume=True)")
"""

RESUMED = """\
HOLD = False
done = hpo.search(train, study="held", storage=STORAGE, resume=True, progress=False)
assert done.info["status"] == "finished", done.info["status"]
for c in configs():
    assert ("momentum" in c["config"]["opt"]) == (c["config"]["opt"]["name"] == "sgd"), c
done
"""


def _kernelspec(folder: Path) -> None:
    """A kernel of this venv's Python, known only under ``folder`` (JUPYTER_PATH)."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hpo tests", "language": "python", "interrupt_mode": "signal",
        "env": {"PYTHONPATH": str(ROOT), "IPYTHONDIR": str(folder / "ipython")},
    }))  # fmt: skip


def _notebook(tmp_path: Path) -> nbformat.NotebookNode:
    new = nbformat.v4.new_code_cell
    setup = SETUP.format(storage=str(tmp_path / "s.db"), held=str(tmp_path / "held"),
                         go=str(tmp_path / "go"), python=sys.executable, root=str(ROOT))  # fmt: skip
    cells = [new(setup), new(TRAIN), new(SPACE), new(SEARCH), new(LOAD), new(CONFIGS),
             new(INTERRUPTED, metadata={"interrupt": True}), new(REFUSED), new(RESUMED)]  # fmt: skip
    return nbformat.v4.new_notebook(cells=cells)


async def _execute(nb: nbformat.NotebookNode, cwd: Path) -> None:
    """Run every cell; the one marked ``interrupt`` is interrupted once its epoch is held.

    The interrupt is SIGINT to the kernel's process group (``interrupt_mode: signal``), sent
    while the kernel's main thread waits for the held epoch: it is pending before the epoch
    is let go, so the search stops there, whatever the timing. The epoch is then let go
    because closing the search waits for train's thread (it answers ``stop``)."""
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(cwd)}})  # fmt: skip
    async with client.async_setup_kernel():
        for index, cell in enumerate(nb.cells):
            if not cell.metadata.get("interrupt"):
                await client.async_execute_cell(cell, index)
                continue
            running = asyncio.ensure_future(client.async_execute_cell(cell, index))
            while not (cwd / "held").exists():
                if running.done():
                    running.result()  # its error, or:
                    raise AssertionError(f"the search ended before it held: {cell.outputs}")
                await asyncio.sleep(0.05)
            await client.km.interrupt_kernel()
            (cwd / "go").touch()
            await running


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _shown(cell: nbformat.NotebookNode) -> dict:
    (out,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return out["data"]


def test_the_notebook_flow_in_a_jupyter_kernel(tmp_path, monkeypatch) -> None:
    _kernelspec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter" / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    nb = _notebook(tmp_path)
    try:
        asyncio.run(_execute(nb, tmp_path))
    finally:
        nbformat.write(nb, tmp_path / "flow.ipynb")  # what ran, outputs and all
    search, interrupted, resumed = nb.cells[3], nb.cells[6], nb.cells[8]
    shown = _shown(search)
    assert shown["text/plain"].startswith("<Result 'nb': asha, finished, ")
    assert "<div class='hpo-result'>" in shown["text/html"]
    assert (
        "interrupted: everything recorded is kept; continue with "
        "hpo.search(train, study='held', resume=True)" in _text(interrupted)
    )
    assert _shown(interrupted)["text/plain"].startswith("<Result 'held': asha, interrupted, ")
    assert _shown(resumed)["text/plain"].startswith("<Result 'held': asha, finished, ")
    db = tmp_path / "s.db"
    with StudyReader(db) as r:
        assert r.study("nb")["settings"]["trainer"] == "__main__:train"
        assert len(set(r.epochs("nb")["worker"])) == 2  # two Ray workers trained it
    with sqlite3.connect(db) as conn:
        twice = conn.execute("SELECT trial_id, epoch, COUNT(*) FROM epochs GROUP BY study_id, "
                             "trial_id, epoch HAVING COUNT(*) > 1").fetchall()  # fmt: skip
    assert twice == []  # resumed, never retrained
