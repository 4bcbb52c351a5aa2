"""The study database: what it records, concurrent readers, locks, and exact resume."""

from __future__ import annotations

import math
import sqlite3
from typing import ClassVar

import pytest

from hpo.runners import SerialRunner
from hpo.settings import SearchSettings
from hpo.store import StoreError, StudyReader, StudyWriter
from hpo.tuner import Tuner

SPACE = {
    "hidden_layer_sizes": {"values": [[8], [16]]},
    "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
}


def settings(**overrides) -> SearchSettings:
    return SearchSettings.from_dict(
        {"space": SPACE, "dataset": "iris", "max_epochs": 9, "executor": "serial", **overrides}
    )


class Crash(Exception):
    """Stands in for a kill: raised from the store's commit after a number of batches."""


class CountingTrainer:
    """Wraps MLPTrainer and counts the epochs each trial trains (to see retraining)."""

    steps: ClassVar[dict] = {}

    def __init__(self, inner):
        self.inner = inner

    def setup(self, config, seed):
        self.inner.setup(config, seed)
        self.key = seed

    def step(self):
        CountingTrainer.steps[self.key] = CountingTrainer.steps.get(self.key, 0) + 1
        return self.inner.step()

    def save(self):
        return {"inner": self.inner.save(), "key": self.key}

    def restore(self, state):
        self.inner.restore(state["inner"])
        self.key = state["key"]


def run(
    db, name, s: SearchSettings, *, crash_after: int | None = None, resume: bool = False, wrap=None
):
    spec = s.trainer_spec()
    ds = spec.load_dataset()

    def make():
        t = spec.build(ds)
        return wrap(t) if wrap else t

    writer = StudyWriter(db, name)
    if resume:
        writer.open_existing()
    else:
        writer.create(s.to_dict(), metric=s.metric, mode=s.mode, scheduler=s.scheduler)
    if crash_after is not None:
        commit, count = writer.commit, [0]

        def crashing_commit():
            count[0] += 1
            if count[0] > crash_after:
                writer._pending.clear()  # what was not committed is lost, as in a kill
                raise Crash
            commit()

        writer.commit = crashing_commit
    scheduler = s.build_scheduler()
    tuner = Tuner(scheduler, SerialRunner(make), writer)
    try:
        if resume:
            tuner.replay(writer.log())
        tuner.run()
        writer.close("finished")
    except Crash:
        writer.conn.close()
        writer.lock.release()
    return scheduler


def curves(db, name):
    with StudyReader(db) as r:
        return r.epochs(name).reindex(
            columns=["trial_id", "epoch", "value", "val_loss", "train_loss"]
        )


def test_store_records_trials_epochs_events_and_progress(tmp_path) -> None:
    db = tmp_path / "s.db"
    scheduler = run(db, "a", settings())
    with StudyReader(db) as r:
        study = r.study("a")
        trials, epochs, events = r.trials("a"), r.epochs("a"), r.events("a")
    assert study["status"] == "finished"
    assert study["epochs_spent"] == scheduler.epochs_spent == len(epochs)
    assert study["best_value"] == pytest.approx(scheduler.best_value)
    assert len(trials) == len(scheduler.trials)
    assert set(trials["status"]) <= {"completed", "stopped"}
    assert {"val_loss", "train_loss", "val_accuracy", "seconds", "worker", "ended_at"} <= set(
        epochs.columns
    )
    assert set(events["kind"]) >= {"start", "pause", "promote", "stop", "complete"}
    stops = trials[trials["status"] == "stopped"]
    assert stops["reason"].str.contains("only the top").all()
    assert settings().to_dict() == study["settings"]


def test_wal_readers_work_while_the_writer_holds_uncommitted_rows(tmp_path) -> None:
    db = tmp_path / "s.db"
    run(db, "a", settings())
    writer = StudyWriter(db, "b")
    writer.create({"space": SPACE}, metric="m", mode="max", scheduler="x")
    writer.conn.execute("BEGIN IMMEDIATE")  # the writer holds the write lock
    with StudyReader(db) as r:
        assert len(r.studies()) == 2
        assert len(r.epochs("a")) > 0
    writer.conn.rollback()
    writer.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_second_writer_of_one_study_is_refused(tmp_path) -> None:
    db = tmp_path / "s.db"
    first = StudyWriter(db, "a")
    with pytest.raises(StoreError, match="being written by another search"):
        StudyWriter(db, "a")
    StudyWriter(db, "other").close()  # other studies are fine
    first.close()
    StudyWriter(db, "a").close()  # and the lock goes with its writer


def test_creating_an_existing_study_is_refused_with_what_to_do_instead(tmp_path) -> None:
    db = tmp_path / "s.db"
    run(db, "a", settings())  # finished: shown, not resumed
    writer = StudyWriter(db, "a")
    with pytest.raises(StoreError, match=r"already exists.*\(finished\); see `hpo best a`"):
        writer.create({}, metric="m", mode="max", scheduler="x")
    writer.close()
    run(db, "b", settings(), crash_after=3)  # killed: continued
    writer = StudyWriter(db, "b")
    with pytest.raises(
        StoreError, match=r"already exists.*\(interrupted\); continue it with `hpo resume b`"
    ):
        writer.create({}, metric="m", mode="max", scheduler="x")
    writer.close()


@pytest.mark.parametrize("crash_after", [1, 4, 9, 17, 30])
def test_resume_after_a_crash_loses_nothing_and_matches_an_uninterrupted_run(
    tmp_path, crash_after
) -> None:
    db = tmp_path / "s.db"
    run(db, "straight", settings())
    expected = curves(db, "straight")

    CountingTrainer.steps = {}
    run(db, "crashed", settings(), crash_after=crash_after, wrap=CountingTrainer)
    before = curves(db, "crashed")
    steps_before = dict(CountingTrainer.steps)
    scheduler = run(db, "crashed", settings(), resume=True, wrap=CountingTrainer)
    after = curves(db, "crashed")

    assert after.equals(expected)  # same epochs, same values: exact
    merged = before.merge(after, on=["trial_id", "epoch"], suffixes=("_before", "_after"))
    assert len(merged) == len(before)  # everything recorded before the crash is still there
    assert scheduler.is_finished()
    # No trial is retrained from scratch past its last saved state: the epochs trained
    # after the resume are at most those recorded afterwards, plus the few between a
    # running trial's last checkpoint and the crash.
    retrained = (
        sum(CountingTrainer.steps.values())
        - sum(steps_before.values())
        - (len(after) - len(before))
    )
    assert 0 <= retrained <= 9
    with StudyReader(db) as r:
        assert r.study("crashed")["status"] == "finished"


def test_export_frame_has_one_row_per_epoch_with_config_columns(tmp_path) -> None:
    db = tmp_path / "s.db"
    run(db, "a", settings())
    with StudyReader(db) as r:
        frame = r.export_frame("a")
        n = len(r.epochs("a"))
    assert len(frame) == n
    assert {
        "config.hidden_layer_sizes",
        "config.learning_rate_init",
        "status",
        "val_accuracy",
    } <= set(frame.columns)
    assert not frame["value"].map(lambda v: isinstance(v, float) and math.isnan(v)).all()


def test_reading_a_missing_study_names_the_ones_that_exist(tmp_path) -> None:
    db = tmp_path / "s.db"
    run(db, "alpha", settings())
    with StudyReader(db) as r, pytest.raises(StoreError, match=r"no study named 'beta'.*alpha"):
        r.study("beta")


def test_store_migrates_an_older_database_to_record_the_node_of_each_epoch(tmp_path) -> None:
    db = tmp_path / "s.db"
    run(db, "a", settings())
    with sqlite3.connect(db) as conn:  # as an older version wrote it: no node column
        conn.execute("ALTER TABLE epochs DROP COLUMN node")
    with StudyReader(db) as r:  # read-only, not migrated: epochs read, nodes unknown
        assert r.epochs("a")["node"].isna().all()
        assert r.nodes("a")["node"].tolist() == ["local"]
    writer = StudyWriter(db, "b")  # a writer migrates it
    writer.create(settings().to_dict(), metric="val_accuracy", mode="max", scheduler="hyperband")
    writer.on_epoch(0, 1, {"val_accuracy": 0.5}, 0.1, "w0", 0.5, node="10.0.0.2")
    writer.commit()
    writer.close("finished")
    with StudyReader(db) as r:
        assert r.epochs("b")["node"].tolist() == ["10.0.0.2"]
        assert r.nodes("a")["node"].tolist() == ["local"]


def test_store_nodes_counts_workers_trials_and_epochs_per_node(tmp_path) -> None:
    writer = StudyWriter(tmp_path / "s.db", "a")
    writer.create(settings().to_dict(), metric="val_accuracy", mode="max", scheduler="hyperband")
    for trial, epoch, worker, node in [(0, 1, "w0", "10.0.0.1"), (0, 2, "w1", "10.0.0.2"),
                                       (1, 1, "w1", "10.0.0.2"), (1, 2, "w1.3", "10.0.0.2")]:  # fmt: skip
        writer.on_epoch(trial, epoch, {"val_accuracy": 0.5}, 0.1, worker, 0.5, node=node)
    writer.commit()
    writer.close("finished")
    with StudyReader(tmp_path / "s.db") as r:
        nodes = r.nodes("a")
    assert nodes.to_dict("records") == [
        {"node": "10.0.0.2", "workers": 2, "trials": 2, "epochs": 3},
        {"node": "10.0.0.1", "workers": 1, "trials": 1, "epochs": 1},
    ]
