"""The Ray runner against a real local head node started once for the session."""

from __future__ import annotations

import pytest

from hpo.runners import SerialRunner
from hpo.runners._base import TrialResult
from hpo.runners._ray import RayRunner
from hpo.settings import SearchSettings, SettingsError, TrainerSpec
from hpo.tuner import MemoryRecorder, Tuner
from hpo.types import EventKind
from tests.conftest import hpo

SPACE = {
    "hidden_layer_sizes": {"values": [[8], [16]]},
    "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
    "activation": ["relu", "tanh"],
}


def settings(**overrides) -> SearchSettings:
    return SearchSettings.from_dict(
        {"space": SPACE, "dataset": "iris", "max_epochs": 27, **overrides}
    )


def curves(recorder: MemoryRecorder) -> dict:
    return {(t, e): m["val_loss"] for t, e, m, _, _ in recorder.epochs}


def test_ray_search_runs_on_two_workers_and_matches_the_serial_run(ray_driver) -> None:
    s = settings()
    spec, ds = s.trainer_spec(), s.trainer_spec().load_dataset()
    on_ray = MemoryRecorder()
    runner = RayRunner(spec, 2, dataset=ds)
    scheduler = s.build_scheduler()
    Tuner(scheduler, runner, on_ray).run()
    runner.close()
    serial = MemoryRecorder()
    Tuner(s.build_scheduler(), SerialRunner(lambda: spec.build(ds)), serial).run()
    assert scheduler.is_finished()
    assert {w for *_, w in on_ray.epochs} == {"w0", "w1"}
    # Different interleaving, same trials: every (trial, epoch) trains to the same value.
    assert curves(on_ray) == curves(serial)


def test_a_killed_worker_is_replaced_and_its_trial_resumes_from_its_last_state(
    ray_driver, tmp_path
) -> None:
    s = settings()
    marker = tmp_path / "died"
    spec = TrainerSpec(
        "tests.faulty:DyingOnce", "iris", options={"marker": str(marker), "die_at": 5}
    )
    ds = spec.load_dataset()
    recorder = MemoryRecorder()
    runner = RayRunner(spec, 2, dataset=ds)
    pids_before = set(runner.worker_pids())
    scheduler = s.build_scheduler()
    Tuner(scheduler, runner, recorder, max_failures=2).run()
    pids_after = set(runner.worker_pids())
    runner.close()
    assert marker.exists(), "a worker died"
    assert int(marker.read_text()) in pids_before and int(marker.read_text()) not in pids_after
    assert scheduler.is_finished() and len(scheduler.trials) == 49
    assert not [e for e in recorder.events if e.kind is EventKind.FAIL]
    # The retried trial's epochs are recorded once each, and equal an undisturbed run.
    keys = [(t, e) for t, e, *_ in recorder.epochs]
    assert len(keys) == len(set(keys)) == scheduler.epochs_spent
    plain = MemoryRecorder()
    Tuner(s.build_scheduler(), SerialRunner(lambda: spec.build(ds)), plain).run()
    assert curves(recorder) == curves(plain)


def test_a_hanging_trial_times_out_and_the_search_goes_on(ray_driver) -> None:
    s = settings(max_epochs=9, scheduler="asha", n_configs=8)
    spec = TrainerSpec("tests.faulty:Hanging", "iris")
    recorder = MemoryRecorder()
    runner = RayRunner(spec, 2, dataset=spec.load_dataset(), trial_timeout=1.0)
    scheduler = s.build_scheduler()
    Tuner(scheduler, runner, recorder, max_failures=0).run()
    runner.close()
    failed = [e for e in recorder.events if e.kind is EventKind.FAIL]
    assert failed and all("TimeoutError" in e.reason for e in failed)
    assert all(scheduler.trials[e.trial_id].config["activation"] == "tanh" for e in failed)
    assert scheduler.is_finished()


@pytest.mark.parametrize("address", ["explicit", "auto"])
def test_cli_joins_a_running_head_node(ray_address, tmp_path, address) -> None:
    target = ray_address if address == "explicit" else "auto"
    space = tmp_path / "s.yaml"
    space.write_text(
        "space:\n  activation: [relu, tanh]\n  alpha: {type: float, low: 1.0e-5, high: 0.1, log: true}\n"
    )
    db = str(tmp_path / "s.db")
    result = hpo("run", str(space), "--dataset", "iris", "--max-epochs", "9", "--workers", "2",
                 "--ray-address", target, "--study", "c", "--storage", db)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "best val_accuracy" in result.stdout


def test_gpus_the_cluster_lacks_are_one_line(tmp_path, ray_driver) -> None:
    done = hpo("run", "search_spaces/mlp.yaml", "--gpus-per-trial", "1", "--ray-address", ray_driver,
               "--max-epochs", "3", "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "gpus_per_trial=1 but the Ray cluster has 0 GPU(s)" in done.stderr
    assert (
        "no studies" in hpo("list", "--storage", str(tmp_path / "s.db")).stdout
    )  # nothing half-made


def test_code_env_ships_the_current_folder_when_the_trainer_module_lives_there(
    tmp_path, monkeypatch
) -> None:
    from hpo.runners._ray import EXCLUDES, code_env

    (tmp_path / "mytrain_ce.py").write_text("class T: ...\n")
    monkeypatch.chdir(tmp_path)
    assert code_env("mytrain_ce:T") == {
        "working_dir": str(tmp_path.resolve()),
        "excludes": EXCLUDES,
    }
    assert code_env("json:dumps") == {}  # the standard library is everywhere
    assert code_env("numpy:mean") == {}  # so is what is installed
    other = tmp_path / "src"
    other.mkdir()
    assert code_env("mytrain_ce:T", str(other))["working_dir"] == str(other.resolve())


def test_code_env_refuses_a_folder_too_big_to_ship(tmp_path, monkeypatch) -> None:
    from hpo.runners import _ray

    monkeypatch.setattr(_ray, "WORKING_DIR_LIMIT", 1000)
    (tmp_path / "data.bin").write_bytes(b"x" * 2000)
    (tmp_path / ".venv").mkdir()
    with pytest.raises(SettingsError, match="too much to ship to every node; give --working-dir"):
        _ray.code_env("x:T", str(tmp_path))
    (tmp_path / "data.bin").rename(tmp_path / ".venv" / "data.bin")  # excluded: it fits
    assert _ray.code_env("x:T", str(tmp_path))["working_dir"] == str(tmp_path.resolve())


def test_ray_runner_with_fewer_cpus_than_workers_waits_visibly_then_starts_with_what_is_free(
    ray_driver,
) -> None:
    import time

    import ray

    for _ in range(300):  # the CPUs of earlier tests' workers are given back asynchronously
        if ray.available_resources().get("CPU", 0) >= 2:
            break
        time.sleep(0.1)
    spec = TrainerSpec("trainers.mlp:MLPTrainer", "iris")
    said: list[str] = []
    runner = RayRunner(spec, 3, dataset=spec.load_dataset(), wait_for_workers=0.5, say=said.append)
    try:
        live = runner.live_workers
    finally:
        runner.close()
    assert live == 2
    assert said == [
        "cluster has 2 free CPUs of the 3 workers asked; waiting up to 0.5 s (--wait-for-workers) for more",
        "cluster has 2 free CPUs of the 3 workers asked; starting with 2, more as nodes join",
    ]


def test_code_env_skips_a_dangling_symlink_in_the_folder_to_ship(tmp_path) -> None:
    from hpo.runners._ray import code_env

    (tmp_path / "train.py").write_text("class T: ...\n")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    assert code_env("train:T", str(tmp_path))["working_dir"] == str(tmp_path.resolve())


# -- the runner's bookkeeping against a fake ``ray`` (no cluster) ------------------------------


class _FakeExceptions:
    class RayError(Exception):
        pass

    class RayActorError(RayError):
        pass

    class WorkerCrashedError(RayError):
        pass

    class NodeDiedError(RayError):
        pass

    class OutOfMemoryError(RayError):
        pass

    class ObjectLostError(RayError):
        pass

    class RayTaskError(RayError):
        pass

    class RuntimeEnvSetupError(RayError):
        pass


class _Ref:
    def __init__(self, value=None, error: Exception | None = None) -> None:
        self.value, self.error = value, error


class _Method:
    def __init__(self, call) -> None:
        self.remote = call


class _FakeActor:
    def __init__(self, ray: _FakeRay, plan: tuple) -> None:
        node, hello_error, broken = plan
        self.ray, self.node, self.killed = ray, node, False
        self.hello = _Method(lambda: _Ref((1, node, broken), hello_error))
        self.run = _Method(lambda s, ckpt, timeout: ray.run(self, s))
        self.pid = _Method(lambda: _Ref(1))


class _FakeRay:
    """Actors start as ``plans`` say: (node, error from hello or None, why broken or None);
    a run's outcome is ``outcome(actor, suggestion)``: a TrialResult or an exception."""

    exceptions = _FakeExceptions

    def __init__(self, plans: list[tuple], cpus: int = 2) -> None:
        self.plans, self.cpus, self.actors = list(plans), cpus, []
        self.alive = {plan[0] for plan in plans}
        self.outcome = lambda actor, s: TrialResult(s.trial_id, node=actor.node)

    # the API the runner uses
    def put(self, value):
        return value

    def remote(self, **_):
        def wrap(cls):
            ray = self

            class Cls:
                @staticmethod
                def remote(spec, dataset, name):
                    actor = _FakeActor(ray, ray.plans.pop(0) if ray.plans else ("n9", None, None))
                    ray.actors.append(actor)
                    return actor

            return Cls

        return wrap

    def available_resources(self) -> dict:
        used = sum(1 for a in self.actors if not a.killed)
        return {"CPU": float(max(0, self.cpus - used))}

    def nodes(self) -> list[dict]:
        return [{"NodeManagerAddress": n, "Alive": True, "Resources": {"CPU": 1.0}}
                for n in sorted(self.alive)]  # fmt: skip

    def wait(self, refs, num_returns=1, timeout=None):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        if isinstance(ref, list):
            return [self.get(r) for r in ref]
        if ref.error is not None:
            raise ref.error
        return ref.value

    def kill(self, actor, no_restart=True) -> None:
        actor.killed = True

    def run(self, actor, s) -> _Ref:
        out = self.outcome(actor, s)
        return _Ref(error=out) if isinstance(out, Exception) else _Ref(out)


@pytest.fixture
def fake_ray(monkeypatch):
    import sys

    from hpo.runners import _ray

    monkeypatch.setattr(_ray, "POLL", 0.0)
    monkeypatch.setattr(_ray, "start_ray", lambda *a, **k: False)

    def make(plans: list[tuple], cpus: int = 2) -> _FakeRay:
        fake = _FakeRay(plans, cpus)
        monkeypatch.setitem(sys.modules, "ray", fake)
        return fake

    return make


def _suggestion(trial_id: int = 0):
    from hpo.types import Suggestion

    return Suggestion(trial_id, {}, 0, 1)


def _spec():
    return TrainerSpec("trainers.mlp:MLPTrainer", "iris")


def test_ray_runner_a_trainer_that_does_not_import_before_the_search_is_one_line(
    fake_ray,
) -> None:
    fake = fake_ray([("n1", None, None), ("n2", None, "No module named 'mytrain'")])
    with pytest.raises(SettingsError, match=r"^the trainer does not import on node n2: No module"):
        RayRunner(_spec(), 2, say=lambda line: None)
    assert all(a.killed for a in fake.actors)


def test_ray_runner_a_joining_node_without_the_trainer_is_said_once_and_not_used(
    fake_ray,
) -> None:
    fake = fake_ray([("n1", None, None)], cpus=1)
    said: list[str] = []
    runner = RayRunner(_spec(), 2, say=said.append)
    said.clear()  # "cluster has 1 free CPU of the 2 workers asked; …"
    fake.plans = [("n2", None, "No module named 'mytrain'")] * 5
    fake.alive.add("n2")
    fake.cpus = 2  # n2 joins with one CPU
    for _ in range(4):
        runner._poll(0.0)
    assert runner.live_workers == 1
    assert said == ["node n2 cannot import the trainer: No module named 'mytrain'; not using it"]
    assert [a.killed for a in fake.actors] == [False, True]  # asked once, killed, not again
    runner.close()


def test_ray_runner_drops_every_worker_of_a_lost_node_at_once(fake_ray) -> None:
    fake = fake_ray([("n2", None, None), ("n2", None, None), ("n1", None, None)], cpus=3)
    said: list[str] = []
    runner = RayRunner(_spec(), 3, say=said.append)
    assert sorted(runner.nodes.values()) == ["n1", "n2", "n2"]
    fake.alive.discard("n2")
    fake.cpus = 1
    fake.outcome = lambda actor, s: _FakeExceptions.RayActorError("The actor died unexpectedly")
    runner.submit(_suggestion(7))
    [result] = runner.wait()
    assert result.lost_worker and result.error == "worker died: The actor died unexpectedly"
    assert runner.live_workers == 1 and runner.free_workers() == 1
    assert set(runner.nodes[i] for i in runner.workers) == {"n1"}
    assert said == [
        "node n2 is gone with workers w0, w1; trial 7 goes on from its last saved state, "
        "1 worker live"
    ]
    runner.close()


def test_ray_runner_an_error_escaping_run_fails_the_trial_and_keeps_the_worker(fake_ray) -> None:
    fake = fake_ray([("n1", None, None)], cpus=1)
    said: list[str] = []
    runner = RayRunner(_spec(), 1, say=said.append)
    fake.outcome = lambda actor, s: _FakeExceptions.RayTaskError("TypeError: cannot pickle")
    runner.submit(_suggestion(3))
    [result] = runner.wait()
    assert not result.lost_worker and result.error == "TypeError: cannot pickle"
    assert runner.live_workers == 1 and runner.free_workers() == 1 and not said
    assert not fake.actors[0].killed
    runner.close()


def test_ray_runner_workers_that_keep_dying_while_starting_are_one_line(fake_ray) -> None:
    setup = _FakeExceptions.RuntimeEnvSetupError("Failed to set up runtime environment.\nlong")
    fake = fake_ray([("n1", setup, None)] * 3, cpus=1)
    with pytest.raises(SettingsError) as caught:
        RayRunner(_spec(), 1, say=lambda line: None)
    assert str(caught.value) == (
        "3 workers in a row died while starting: Failed to set up runtime environment."
    )
    assert all(a.killed for a in fake.actors)


def test_ray_runner_start_failures_during_the_search_are_said_once(fake_ray) -> None:
    fake = fake_ray([("n1", None, None)], cpus=1)
    said: list[str] = []
    runner = RayRunner(_spec(), 2, say=said.append)
    said.clear()  # "cluster has 1 free CPU of the 2 workers asked; …"
    setup = _FakeExceptions.RuntimeEnvSetupError("Failed to set up runtime environment.")
    fake.plans = [("n2", setup, None)] * 6
    fake.alive.add("n2")
    fake.cpus = 2
    for _ in range(6):
        runner._poll(0.0)
    assert runner.live_workers == 1
    assert said == [
        "3 workers in a row died while starting: Failed to set up runtime environment.; "
        "asking again"
    ]
    runner.close()
