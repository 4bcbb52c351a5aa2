"""The service's study logic without HTTP: a served study is a tuner whose runner is the
outside world. Clients here are plain loops; the clock is a number the test moves."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from hpo.launch import run_study
from hpo.service import Conflict, Gone, Invalid, ServedStudy, Service
from hpo.settings import SearchSettings
from hpo.store import StudyReader, StudyWriter
from trainers.toy import ToyTrainer

SPACE = {"quality": {"type": "float", "low": 0.1, "high": 1.0}}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def settings(scheduler: str = "hyperband", **extra) -> SearchSettings:
    return SearchSettings.from_dict(
        {"space": SPACE, "scheduler": scheduler, "max_epochs": 9, "trainer": "trainers.toy:ToyTrainer",
         "dataset": None, "executor": "serial", **extra}
    )  # fmt: skip


def served(tmp_path: Path, name: str = "s", clock: Clock | None = None, **extra) -> ServedStudy:
    service = Service(tmp_path / "s.db", clock=clock or Clock())
    service.create(name, settings(**extra))
    return service.served(name)


def train(study: ServedStudy, client: str, assignment, *, stop_after: int | None = None) -> str:
    """Train one assignment with a ToyTrainer as a client would; returns the last action."""
    trainer = ToyTrainer()
    if assignment.resume:
        trainer.restore(pickle.loads(study.checkpoint(assignment.trial_id)[1]))
    else:
        trainer.setup(dict(assignment.config), assignment.seed)
        for _ in range(assignment.from_epoch):
            trainer.step()
    epoch, until, action = assignment.from_epoch, assignment.until_epoch, "continue"
    while action == "continue" and epoch < until:
        if stop_after is not None and epoch >= stop_after:
            return "abandoned"
        epoch += 1
        told = study.measure(assignment.trial_id, assignment.lease, epoch, trainer.step())
        action, until = told.action, told.until_epoch
    if action == "pause":
        study.put_checkpoint(
            assignment.trial_id, assignment.lease, epoch, pickle.dumps(trainer.save())
        )
    return action


def run_serially(study: ServedStudy, client: str = "c") -> int:
    n = 0
    while True:
        try:
            assignment = study.suggest(client)
        except Gone:
            return n
        assert assignment is not None, "a serial client never waits"
        train(study, client, assignment)
        n += 1


def frames(db: Path, name: str):
    with StudyReader(db) as r:
        epochs = r.export_frame(name)[["trial_id", "epoch", "value"]]
        events = r.events(name)[["trial_id", "kind", "epoch", "reason"]]
        trials = r.trials(name)[["trial_id", "status", "epochs", "best_value", "config"]]
    return epochs, events, trials


@pytest.mark.parametrize("scheduler", ["sh", "hyperband", "asha", "random"])
def test_serial_client_equals_in_process_search(tmp_path, scheduler) -> None:
    study = served(tmp_path, "served", scheduler=scheduler)
    run_serially(study)
    assert study.status == "finished"
    run_study(settings(scheduler=scheduler), tmp_path / "s.db", "local")
    served_frames, local_frames = (
        frames(tmp_path / "s.db", "served"),
        frames(tmp_path / "s.db", "local"),
    )
    for got, want in zip(served_frames, local_frames, strict=True):
        assert got.equals(want)
    assert (served_frames[1]["kind"] == "promote").any() or scheduler == "random"


def test_the_same_client_asking_again_gets_the_same_assignment(tmp_path) -> None:
    study = served(tmp_path)
    first = study.suggest("a")
    assert study.suggest("a") == first
    other = study.suggest("b")
    assert other.trial_id != first.trial_id and other.lease != first.lease


def test_a_retried_report_is_recorded_once_with_the_same_answer(tmp_path) -> None:
    study = served(tmp_path)
    a = study.suggest("a")
    trainer = ToyTrainer()
    trainer.setup(dict(a.config), a.seed)
    metrics = trainer.step()
    first = study.measure(a.trial_id, a.lease, 1, metrics)
    again = study.measure(a.trial_id, a.lease, 1, metrics)
    assert first == again and first.action == "pause"  # rung 0 of bracket s=2 is 1 epoch
    assert study.scheduler.epochs_spent == 1
    with StudyReader(tmp_path / "s.db") as r:
        assert len(r.epochs("s")) == 1
    with pytest.raises(Conflict, match="already recorded by another assignment"):
        study.measure(a.trial_id, "someone-else", 1, metrics)


def test_reports_out_of_turn_or_without_the_objective_are_refused(tmp_path) -> None:
    study = served(tmp_path)
    a = study.suggest("a")
    with pytest.raises(Conflict, match="expects epoch 1"):
        study.measure(a.trial_id, a.lease, 2, {"val_accuracy": 0.5})
    with pytest.raises(Invalid, match="lack 'val_accuracy'"):
        study.measure(a.trial_id, a.lease, 1, {"accuracy": 0.5})
    told = study.measure(a.trial_id, a.lease, 1, {"val_loss": float("nan")})
    assert told.action == "stop"
    assert study.scheduler.trials[a.trial_id].status.value == "diverged"


def test_a_promotion_waits_for_the_paused_trials_checkpoint(tmp_path) -> None:
    """Client a's trial pauses; before a's state arrives, the scheduler promotes it: that
    promotion is parked (nobody may resume a trial without its state) until a uploads."""
    study = served(tmp_path, scheduler="asha", n_configs=6)
    # ASHA (eta 3): three trials at rung 0; the best is promoted as soon as one can be.
    held = []
    for client in "abc":
        s = study.suggest(client)
        trainer = ToyTrainer()
        trainer.setup(dict(s.config), s.seed)
        told = study.measure(s.trial_id, s.lease, 1, trainer.step())
        assert told.action == "pause" and told.checkpoint_wanted
        held.append((client, s, trainer))
    best = max(held, key=lambda h: h[1].config["quality"])
    # The next ask would promote the best trial, but its state is not here: a new trial instead.
    d = study.suggest("d")
    assert not d.resume and d.trial_id not in {h[1].trial_id for h in held}
    assert best[1].trial_id in study._parked
    client, s, trainer = best
    study.put_checkpoint(s.trial_id, s.lease, 1, pickle.dumps(trainer.save()))
    e = study.suggest("e")
    assert (e.trial_id, e.resume, e.from_epoch, e.until_epoch) == (s.trial_id, True, 1, 3)


def test_an_expired_lease_goes_on_elsewhere_from_the_last_checkpoint(tmp_path) -> None:
    clock = Clock()
    study = served(tmp_path, clock=clock, scheduler="random", n_configs=1, lease_seconds=10)
    a = study.suggest("a")
    trainer = ToyTrainer()
    trainer.setup(dict(a.config), a.seed)
    for epoch in (1, 2, 3):
        study.measure(a.trial_id, a.lease, epoch, trainer.step())
    study.put_checkpoint(a.trial_id, a.lease, 2, b"state after epoch 2")
    study.measure(a.trial_id, a.lease, 4, trainer.step())
    clock.now += 11  # a is gone
    b = study.suggest("b")
    assert (b.trial_id, b.from_epoch, b.until_epoch, b.resume) == (a.trial_id, 2, 9, True)
    with pytest.raises(Conflict, match="not assigned under lease"):
        study.measure(a.trial_id, a.lease, 5, {"val_accuracy": 0.1})
    # b retrains epochs 3 and 4: acknowledged, not recorded again; then it goes on.
    assert study.measure(b.trial_id, b.lease, 3, {"val_accuracy": 0.0}).action == "continue"
    assert study.measure(b.trial_id, b.lease, 4, {"val_accuracy": 0.0}).action == "continue"
    assert study.measure(b.trial_id, b.lease, 5, {"val_accuracy": 0.5}).action == "continue"
    with StudyReader(tmp_path / "s.db") as r:
        epochs = r.epochs("s")
    assert list(epochs["epoch"]) == [1, 2, 3, 4, 5]
    assert list(epochs["value"].iloc[2:4]) != [0.0, 0.0]  # the first report of each stays


def test_a_trial_whose_leases_keep_expiring_fails_with_the_reason(tmp_path) -> None:
    clock = Clock()
    study = served(tmp_path, clock=clock, scheduler="random", n_configs=1, lease_seconds=5,
                   max_failures=2)  # fmt: skip
    for attempt in range(3):
        a = study.suggest(f"client-{attempt}")
        assert a.trial_id == 0
        clock.now += 6
        study.expire()
    trial = study.scheduler.trials[0]
    assert trial.status.value == "failed"
    with StudyReader(tmp_path / "s.db") as r:
        reason = r.trials("s")["reason"][0]
    assert "lease expired 3 times" in reason and "client-2" in reason
    assert study.status == "finished"


def test_a_restarted_service_takes_back_its_study_and_finishes_it_the_same(tmp_path) -> None:
    """Reopened in the middle (leases and all), the study ends as an uninterrupted one."""
    clock = Clock()
    study = served(tmp_path, "s", clock=clock)
    while (held := study.suggest("c")).until_epoch - held.from_epoch < 2:
        train(study, "c", held)
    # In flight when the server goes down, one epoch reported: a promotion (1 -> 3 epochs).
    assert held.resume
    trainer = ToyTrainer()
    trainer.restore(pickle.loads(study.checkpoint(held.trial_id)[1]))
    study.measure(held.trial_id, held.lease, held.from_epoch + 1, trainer.step())
    study.writer.close()
    service = Service(tmp_path / "s.db", clock=clock)
    service.open()
    again = service.served("s")
    assert again.suggest("c") == held  # the client that held it keeps it, and goes on
    epoch, action = held.from_epoch + 1, "continue"
    while action == "continue" and epoch < held.until_epoch:
        epoch += 1
        action = again.measure(held.trial_id, held.lease, epoch, trainer.step()).action
    if action == "pause":
        again.put_checkpoint(held.trial_id, held.lease, epoch, pickle.dumps(trainer.save()))
    run_serially(again)
    run_study(settings(), tmp_path / "s.db", "local")
    for got, want in zip(
        frames(tmp_path / "s.db", "s"), frames(tmp_path / "s.db", "local"), strict=True
    ):
        assert got.equals(want)


def test_repeated_empty_suggestions_change_nothing_and_are_logged_once(tmp_path) -> None:
    study = served(tmp_path, scheduler="sh")  # synchronous: nothing until a rung fills
    running = []
    while (s := study.suggest(f"c{len(running)}")) is not None:
        running.append(s)
    before = pickle.dumps(study.scheduler)
    for i in range(5):
        assert study.suggest(f"idle-{i}") is None
    assert pickle.dumps(study.scheduler) == before
    kinds = [e.kind for e in study.writer.log()]
    assert kinds[-1] == "none" and kinds.count("none") == 1


def test_stopping_ends_the_study_for_everyone(tmp_path) -> None:
    study = served(tmp_path)
    a = study.suggest("a")
    study.stop()
    with pytest.raises(Gone, match="stopped"):
        study.suggest("b")
    with pytest.raises(Gone):
        study.measure(a.trial_id, a.lease, 1, {"val_accuracy": 0.5})
    with StudyReader(tmp_path / "s.db") as r:
        assert r.study("s")["status"] == "stopped"


def test_creating_twice_is_idempotent_and_other_settings_conflict(tmp_path) -> None:
    service = Service(tmp_path / "s.db")
    assert service.create("s", settings()) is True
    assert service.create("s", settings()) is False
    with pytest.raises(Conflict, match="max_epochs differs"):
        service.create("s", settings(max_epochs=27))
    StudyWriter(tmp_path / "s.db", "cli-study").create(
        settings().to_dict(), metric="val_accuracy", mode="max", scheduler="hyperband"
    )
    with pytest.raises(Conflict, match="hpo run"):
        service.served("cli-study")


# -- found in review: each pinned by a test -------------------------------------------------------


def _three_paused(study: ServedStudy) -> list:
    """ASHA (eta 3): three trials at rung 0, each paused; their clients still hold them."""
    held = []
    for client in "abc":
        s = study.suggest(client)
        trainer = ToyTrainer()
        trainer.setup(dict(s.config), s.seed)
        assert study.measure(s.trial_id, s.lease, 1, trainer.step()).action == "pause"
        held.append((client, s, trainer))
    return held


def test_a_held_trial_that_fails_while_its_promotion_waits_lets_the_study_finish(tmp_path) -> None:
    study = served(tmp_path, scheduler="asha", n_configs=4)
    held = _three_paused(study)
    best = max(held, key=lambda h: h[1].config["quality"])
    study.suggest("d")  # parks the best trial's promotion: its state has not arrived
    assert best[1].trial_id in study._parked
    study.fail(best[1].trial_id, best[1].lease, "could not save its state")
    assert not study._parked
    run_serially(study, "d")
    assert study.status == "finished"


def test_the_state_of_a_trial_that_ended_while_held_is_not_kept(tmp_path) -> None:
    study = served(tmp_path, scheduler="sh", n_configs=3, max_epochs=3)
    first = [study.suggest(c) for c in "abc"]
    for s in first:  # the last report fills the rung: the losers stop while their clients hold them
        study.measure(s.trial_id, s.lease, 1, {"val_accuracy": s.config["quality"] / 2})
    losers = [s for s in first if study.scheduler.trials[s.trial_id].status.value == "stopped"]
    assert losers
    for s in losers:
        assert s.trial_id not in study.leases
        with pytest.raises(Gone, match="is stopped; nothing more is needed"):
            study.put_checkpoint(s.trial_id, s.lease, 1, b"state")
        assert study.writer.checkpoint(s.trial_id) is None


def test_leases_lost_before_a_restart_still_count_towards_max_failures(tmp_path) -> None:
    clock = Clock()
    study = served(tmp_path, clock=clock, scheduler="random", n_configs=1, lease_seconds=5,
                   max_failures=1)  # fmt: skip
    study.suggest("a")
    clock.now += 6
    study.expire()  # one lost
    study.suggest("b")
    study.writer.close()
    service = Service(tmp_path / "s.db", clock=clock)
    service.open()
    again = service.served("s")
    clock.now += 61
    again.expire()  # the second in a row: past max_failures=1
    assert again.scheduler.trials[0].status.value == "failed"


def test_a_client_asking_again_restarts_from_the_latest_checkpoint(tmp_path) -> None:
    study = served(tmp_path, scheduler="random", n_configs=1)
    a = study.suggest("a")
    for epoch in (1, 2, 3):
        study.measure(a.trial_id, a.lease, epoch, {"val_accuracy": 0.1 * epoch})
    study.put_checkpoint(a.trial_id, a.lease, 2, b"after 2")
    again = study.suggest("a")  # the same worker, restarted
    assert (again.trial_id, again.lease, again.from_epoch) == (a.trial_id, a.lease, 2)
    assert study.measure(a.trial_id, a.lease, 3, {"val_accuracy": 0.0}).action == "continue"


def test_a_study_whose_log_does_not_replay_does_not_stop_the_others(tmp_path) -> None:
    import sqlite3

    service = Service(tmp_path / "s.db")
    service.create("good", settings())
    service.create("bad", settings())
    for name in ("good", "bad"):
        train(service.served(name), "c", service.served(name).suggest("c"))
        service.served(name).writer.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:  # someone edited the settings
        conn.execute(
            "UPDATE studies SET settings = json_set(settings, '$.seed', 99) WHERE name = 'bad'"
        )
    again = Service(tmp_path / "s.db")
    again.open()
    assert set(again.studies) == {"good"}


def test_a_finished_study_is_gone_after_a_restart_too(tmp_path) -> None:
    study = served(tmp_path, scheduler="random", n_configs=1)
    run_serially(study)
    study.writer.close()
    service = Service(tmp_path / "s.db")
    service.open()
    with pytest.raises(Gone, match="over"):
        service.served("s")


def test_a_failed_group_commit_answers_every_waiting_request() -> None:
    """Whatever the commit raises, the requests waiting on it get a 503, never a hang."""
    import asyncio

    from hpo.service._commit import GroupCommit as _GroupCommit
    from hpo.service._errors import ServiceUnavailable

    class Broken:
        def commit(self, studies) -> None:
            raise RuntimeError("database is locked")

    committed = _GroupCommit(Broken())  # type: ignore[arg-type]

    async def two_requests() -> list:
        return await asyncio.gather(
            committed(object()), committed(object()), return_exceptions=True
        )

    results = asyncio.run(asyncio.wait_for(two_requests(), timeout=5))
    assert [type(r) for r in results] == [ServiceUnavailable, ServiceUnavailable]
