"""``hpo.load`` and :class:`hpo.result.Result`: the best trial, the trials and curves as
DataFrames, the dashboard's learning-curve figure, the served dashboard, the notebook view,
and the same result read from a server."""

from __future__ import annotations

import json
import shutil

import httpx
import numpy as np
import pandas as pd
import pytest

import hpo
from hpo import client as hpo_client
from hpo.launch import run_study
from hpo.result import LocalSource, Result
from hpo.settings import SearchSettings
from hpo.space import nest, nested_names, space_document
from hpo.store import StoreError, StudyNotFound, StudyReader
from tests.test_dashboard import CHROMIUM, browser, open_page  # noqa: F401 (a fixture)

# A conditional Python space; the toy trainer reads only ``quality``.
SPACE = {
    "quality": hpo.uniform(0.1, 1.0),
    "opt": {
        "name": hpo.choice(["sgd", "adam"]),
        "momentum": hpo.uniform(0.5, 0.99, when={"opt.name": "sgd"}),
    },
    "batch": 32,
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small finished HyperBand study of the toy trainer (17 trials, 69 epochs)."""
    db = tmp_path_factory.mktemp("result") / "s.db"
    space, fixed = space_document(SPACE)
    settings = SearchSettings.from_dict({"space": space, "fixed": fixed, "max_epochs": 9,
                                         "trainer": "trainers.toy:ToyTrainer", "dataset": None,
                                         "executor": "serial"})  # fmt: skip
    run_study(settings, db, "toy")
    return db


def test_result_best_is_the_stores_best_trial(study) -> None:
    result = hpo.load("toy", storage=study)
    with StudyReader(study) as r:
        want = r.best("toy")
    best = result.best
    assert (best.value, best.trial_id, best.epochs, best.status, best.metric) == (
        want["value"], want["trial_id"], want["epochs"], want["status"], "val_accuracy"
    )  # fmt: skip
    # as the trainer got it: the recorded flat names, dotted ones nested
    assert best.config == nest(want["config"]) and "name" in best.config["opt"]
    with pytest.raises(AttributeError):
        best.value = 0.0  # frozen


def test_result_best_config_nests_what_the_space_nested(study) -> None:
    best = Result(LocalSource(study), "toy", nested=nested_names(SPACE)).best
    assert set(best.config) == {"quality", "opt", "batch"}
    assert best.config["batch"] == 32
    assert ("momentum" in best.config["opt"]) == (best.config["opt"]["name"] == "sgd")


def test_result_trials_one_row_per_trial_inactive_values_empty(study) -> None:
    trials = hpo.load("toy", storage=study).trials
    assert len(trials) == 17 and list(trials["trial_id"]) == list(range(17))
    assert list(trials.columns) == [
        "trial_id", "status", "bracket", "rung", "epochs", "best_value", "last_value", "reason",
        "seed", "config.batch", "config.quality", "config.opt.name", "config.opt.momentum",
    ]  # fmt: skip
    assert set(trials["status"]) == {"completed", "stopped"}
    assert trials["epochs"].sum() == 69
    sgd = trials["config.opt.name"] == "sgd"
    assert 0 < sgd.sum() < 17
    assert trials.loc[~sgd, "config.opt.momentum"].isna().all()
    assert trials.loc[sgd, "config.opt.momentum"].between(0.5, 0.99).all()
    assert (trials["config.batch"] == 32).all()


def test_result_curves_one_row_per_epoch_with_every_metric(study) -> None:
    result = hpo.load("toy", storage=study)
    curves = result.curves
    assert len(curves) == 69 == result.info["epochs_spent"]
    assert list(curves.columns) == ["trial_id", "epoch", "value", "val_accuracy", "seconds",
                                    "worker", "node", "ended_at"]  # fmt: skip
    assert (curves["value"] == curves["val_accuracy"]).all()
    assert not curves.duplicated(["trial_id", "epoch"]).any()
    last = curves.groupby("trial_id")["epoch"].max()
    assert (last.to_numpy() == result.trials["epochs"].to_numpy()).all()


def test_result_plot_is_the_dashboards_curves_view(study) -> None:
    result = hpo.load("toy", storage=study)
    figure = result.plot()
    lines = [t for t in figure.data if t.mode == "lines"]
    assert [t.name for t in lines] == ["bracket s=2", "bracket s=1", "bracket s=0"]
    assert [t.line.color for t in lines] == ["#1f77b4", "#ff7f0e", "#2ca02c"]
    # Every epoch is a point of its trial's line; each trial's segment ends with a gap.
    points = sum(sum(x is not None for x in t.x) for t in lines)
    ticks = (result.trials["epochs"] == 1).sum()  # a one-epoch trial is a two-point tick
    assert points == 69 + ticks
    assert sum(x is None for t in lines for x in t.x) == 17
    marks = {t.name: len(t.x) for t in figure.data if t.mode == "markers"}
    with StudyReader(study) as r:
        events = r.events("toy")
    counted = events[events["epoch"] >= 1]["kind"].value_counts().to_dict()
    assert marks == {k: v for k, v in counted.items() if k in marks} and "complete" in marks
    assert figure.layout.title.text == "Learning curves: val_accuracy per epoch"
    assert figure.layout.xaxis.title.text == "epoch"
    assert figure.layout.yaxis.title.text == "val_accuracy"
    by_rung = result.plot(color_by="rung")
    assert {t.name for t in by_rung.data if t.mode == "lines"} == {"rung 0", "rung 1", "rung 2"}
    with pytest.raises(ValueError, match="color_by='trial' is unknown"):
        result.plot(color_by="trial")


@pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="needs headless Chromium")
def test_result_plot_equals_what_the_dashboard_draws(study, browser) -> None:  # noqa: F811
    """The same traces (names, points, hover texts, colours, markers) and titles as the
    curves view that page.js draws in a browser, served by Result.dashboard()."""
    result = hpo.load("toy", storage=study)
    with result.dashboard() as server:
        page, errors = open_page(browser, server.url)
        page.wait_for_function(
            "document.getElementById('curves') && document.getElementById('curves').data"
        )
        drawn = page.evaluate(
            """() => { const d = document.getElementById('curves');
                return {data: d.data, title: d.layout.title.text,
                        x: d.layout.xaxis.title.text, y: d.layout.yaxis.title.text}; }"""
        )
    assert not errors, errors
    figure = json.loads(result.plot().to_json())
    keys = ["type", "mode", "name", "x", "y", "text", "hoverinfo", "line", "marker", "connectgaps",
            "legendgroup"]  # fmt: skip
    ours = [{k: t[k] for k in keys if k in t} for t in figure["data"]]
    theirs = [{k: t[k] for k in keys if k in t} for t in drawn["data"]]
    assert ours == theirs
    layout = figure["layout"]
    assert (layout["title"]["text"], layout["xaxis"]["title"]["text"],
            layout["yaxis"]["title"]["text"]) == (drawn["title"], drawn["x"], drawn["y"])  # fmt: skip


def test_result_dashboard_serves_then_stops(study) -> None:
    result = hpo.load("toy", storage=study)
    server = result.dashboard(port=0)
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/studies/toy")
    response = httpx.get(server.url)
    assert response.status_code == 200 and "toy" in response.text
    assert (
        httpx.get(server.url.replace("/studies/toy", "/api/studies/toy/delta")).json()["study"][
            "name"
        ]
        == "toy"
    )
    server.stop()
    server.stop()  # twice is fine
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url, timeout=2)


def test_result_repr_and_notebook_view(study) -> None:
    result = hpo.load("toy", storage=study)
    best = result.best
    text = repr(result)
    assert "\n" not in text
    assert text == (f"<Result 'toy': hyperband, finished, 17 trials, 69 epochs, best val_accuracy "
                    f"{best.value:.4g} (trial {best.trial_id})>")  # fmt: skip
    page = result._repr_html_()
    for shown in ("toy", "hyperband", "finished", "17 (", "completed 5", "69 of",
                  f"{best.value:.4f}", f"trial {best.trial_id}", "opt.name"):  # fmt: skip
        assert shown in page, shown
    assert "Learning curves: val_accuracy per epoch" in page and "plotly" in page


def test_load_equals_the_result_of_the_same_study(study) -> None:
    a, b = hpo.load("toy", storage=study), Result(LocalSource(study), "toy")
    assert a.best == b.best
    pd.testing.assert_frame_equal(a.trials, b.trials)
    pd.testing.assert_frame_equal(a.curves, b.curves)
    assert a.plot() == b.plot()
    assert hpo.load("toy", storage=f"sqlite:///{study}").best == a.best


def test_load_of_an_unknown_study_is_one_clear_error(study, tmp_path) -> None:
    with pytest.raises(StudyNotFound) as info:
        hpo.load("nope", storage=study)
    assert str(info.value) == f"no study named 'nope' in {study}; studies here: toy"
    with pytest.raises(StoreError, match="no study database at"):
        hpo.load("toy", storage=tmp_path / "missing.db")


def test_result_of_a_study_without_epochs(tmp_path) -> None:
    """A study created but not yet run: no best, empty frames, an empty figure."""
    from hpo.store import StudyWriter

    db = tmp_path / "s.db"
    writer = StudyWriter(db, "empty")
    settings = SearchSettings.from_dict({"space": {"q": [1, 2]}, "dataset": None})
    writer.create(settings.to_dict(), metric="val_accuracy", mode="max", scheduler="hyperband")
    writer.close("running")
    result = hpo.load("empty", storage=db)
    assert result.best is None and "no value yet" in repr(result)
    assert result.trials.empty and result.curves.empty
    assert len(result.plot().data) == 0
    assert "no value yet" in result._repr_html_()


# -- the same result through the service -------------------------------------------------------


def test_remote_result_equals_the_local_one(study, server, tmp_path) -> None:
    db = tmp_path / "served.db"
    shutil.copy(study, db)
    s = server(db=db)
    local = hpo.load("toy", storage=study)
    for remote in (hpo.load("toy", server=s.url), hpo_client.connect(s.url).result("toy")):
        assert remote.best == local.best
        pd.testing.assert_frame_equal(remote.trials, local.trials, check_dtype=False)
        pd.testing.assert_frame_equal(remote.curves, local.curves, check_dtype=False)
        assert remote.plot() == local.plot()
        assert repr(remote) == repr(local)
        assert remote.dashboard().url == f"{s.url}/studies/toy"
        assert httpx.get(remote.dashboard().url).status_code == 200
    with pytest.raises(StudyNotFound, match="no study named 'nope'"):
        hpo.load("nope", server=s.url)


def test_remote_result_nan_config_cells_stay_empty(study, server, tmp_path) -> None:
    db = tmp_path / "served.db"
    shutil.copy(study, db)
    s = server(db=db)
    trials = hpo.load("toy", server=s.url).trials
    momentum = trials["config.opt.momentum"].to_numpy(dtype=float)
    assert np.isnan(momentum[trials["config.opt.name"] == "adam"]).all()
