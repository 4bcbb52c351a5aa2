"""The registry of methods: every way in reads it, and a new scheduler is one entry away.

A toy scheduler registered by a fixture (and removed after) is reachable from
``hpo run --scheduler``, its ``--help``, ``hpo simulate`` (one run and ``--methods``),
``hpo compare`` and the Python level (``SearchSettings.build_scheduler``, ``prepare``,
``hpo.search`` by name and as an object).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpo import quality, registry
from hpo.cli import cli
from hpo.launch import make_plan, prepare
from hpo.runners._simulator import Curves
from hpo.schedulers import RandomSearch, Scheduler
from hpo.settings import SearchSettings
from tests.test_quality import foreign_table

SPACE = {
    "hidden_layer_sizes": {"values": [[8], [16]]},
    "activation": ["relu", "tanh"],
    "learning_rate_init": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
}


class Toy(RandomSearch):
    """A scheduler of the test's own: random search with three configurations."""

    name = "toy"


@pytest.fixture
def toy():
    # The service's document names the methods registered when it is imported: import it
    # before the toy exists, so that no later test sees the toy in it.
    import hpo.service._schemas  # noqa: F401

    entry = registry.register_scheduler(
        registry.SchedulerEntry(
            "toy",
            "random search with three configurations (a test's)",
            build=lambda s, sampler, R, r, common: Toy(sampler, 3, R, min_epochs=r, **common),
            within=lambda b: Toy(b.sampler, 3, b.max_epochs, **b.common),
            pauses=False,
        )
    )
    yield entry
    registry.unregister("toy")


@pytest.fixture
def space_file(tmp_path) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(json.dumps({"space": SPACE}))  # JSON is YAML too
    return str(path)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("table") / "small.csv"
    foreign_table(n=60, epochs=9).to_csv(path, index=False)
    return path


TABLE_ARGS = ["--params", "lr,width", "--metric", "accuracy"]


# -- a scheduler registered after import is reachable everywhere ---------------------------------


def test_registry_toy_scheduler_is_a_choice_of_hpo_run_and_its_help(toy, space_file) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["run", "--help"])
    assert shown.exit_code == 0 and "toy" in shown.output.split("--sampler")[0]
    done = runner.invoke(cli, ["run", space_file, "--scheduler", "toy", "--executor", "serial",
                               "--dataset", "iris", "--max-epochs", "9", "--dry-run"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "plan: toy, 1 bracket(s), 3 trials" in done.output
    submit_help = runner.invoke(cli, ["submit", "--help"]).output
    assert "toy" in submit_help


def test_registry_toy_scheduler_runs_from_python(toy) -> None:
    settings = SearchSettings.from_dict({"space": SPACE, "scheduler": "toy", "max_epochs": 9,
                                         "dataset": "iris", "executor": "serial"})  # fmt: skip
    scheduler = settings.build_scheduler()
    assert isinstance(scheduler, Toy) and scheduler.n_configs == 3
    _, built, plan, _, _ = prepare(settings)
    assert isinstance(built, Toy) and plan.scheduler == "toy" and plan.n_trials == 3
    assert not plan.approximate


def test_registry_toy_scheduler_is_searched_by_hpo_search_by_name_and_as_an_object(
    toy, tmp_path
) -> None:
    import hpo

    space = {"quality": hpo.uniform(0.1, 1.0), "batch": 32}
    common = {"storage": tmp_path / "s.db", "executor": "serial", "progress": False}
    by_name = hpo.search("trainers.toy:ToyTrainer", space, study="name", scheduler="toy",
                         max_epochs=9, **common)  # fmt: skip
    as_object = hpo.search("trainers.toy:ToyTrainer", space, study="object",
                           scheduler=Toy(n_configs=3, max_epochs=9), **common)  # fmt: skip
    for result in (by_name, as_object):
        assert result.info["settings"]["scheduler"] == "toy"
        assert len(result.trials) == 3 and (result.trials["epochs"] == 9).all()


def test_registry_toy_scheduler_is_simulated_alone_and_among_methods(toy, table, tmp_path) -> None:
    runner = CliRunner()
    one = runner.invoke(cli, ["simulate", str(table), *TABLE_ARGS, "--scheduler", "toy"])
    assert one.exit_code == 0, one.output
    assert "toy/random" in registry.table_methods()
    out = tmp_path / "q.json"
    many = runner.invoke(cli, ["simulate", str(table), *TABLE_ARGS, "--methods", "random,toy/random",
                               "--seeds", "1", "--workers", "1", "--json", str(out)])  # fmt: skip
    assert many.exit_code == 0, many.output
    cases = json.loads(out.read_text())["cases"]
    assert set(cases) == {"random", "toy/random"} and cases["toy/random"]["median_trials"] == 3


def test_registry_toy_scheduler_is_compared_within_the_budget(toy) -> None:
    from hpo.compare import compare

    assert "toy" in registry.compare_methods() and "toy" not in registry.compare_methods(
        default=True
    )
    settings = SearchSettings.from_dict({"space": SPACE, "dataset": "iris", "max_epochs": 3})
    result = compare(settings, [0], ("toy",), name="t")
    (row,) = [r for r in result["table"] if r["seed"] == 0]
    assert row["method"] == "toy" and row["epochs"] == 3 * 3  # three trials to R


def test_registry_toy_scheduler_is_a_choice_of_hpo_compare(toy, space_file) -> None:
    shown = CliRunner().invoke(cli, ["compare", "--help"])
    assert shown.exit_code == 0 and "toy" in shown.output
    bad = CliRunner().invoke(cli, ["compare", space_file, "--methods", "bohb"])
    assert bad.exit_code != 0 and "'bohb' is unknown" in bad.output and "toy" in bad.output


def test_registry_unregistered_toy_is_unknown_again(space_file) -> None:
    assert "toy" not in registry.scheduler_names()
    with pytest.raises(ValueError, match="scheduler='toy' is unknown"):
        SearchSettings.from_dict({"space": SPACE, "scheduler": "toy"})


# -- what the registry says, and that every consumer agrees -----------------------------------


def test_registry_every_method_has_a_one_line_description() -> None:
    entries = [*registry.schedulers(), *registry.samplers(), *registry.optuna_methods()]
    assert len(entries) >= 17
    for e in entries:
        assert e.description.strip() and "\n" not in e.description, e.name


def test_registry_known_methods_are_the_registry_list() -> None:
    assert quality.known_methods() == registry.table_methods()
    full = ["random", "tpe", "gp", "grid"]
    kinds = ["sh", "sh-eta", "hyperband", "asha", "asha-stop", "asha-greedy", "pasha", "topk"]
    optuna = ["optuna-tpe-hyperband", "optuna-random-sha", "optuna-tpe"]
    assert registry.table_methods() == [
        *full, *(f"{k}/{s}" for k in kinds for s in ("random", "tpe", "gp")), *optuna
    ]  # fmt: skip
    assert registry.scheduler_names() == ["sh", "hyperband", "asha", "pasha", "topk", "random",
                                          "grid"]  # fmt: skip
    assert registry.sampler_names() == full


def test_registry_simulate_methods_all_runs_every_known_method(
    table, tmp_path, monkeypatch
) -> None:
    ran: list[str] = []
    real = quality.Benchmark.run

    def run(self, method, seed, workers):  # the real run, recorded
        ran.append(method)
        return real(self, method, seed, workers)

    monkeypatch.setattr(quality.Benchmark, "run", run)
    out = tmp_path / "all.json"
    done = CliRunner().invoke(cli, ["simulate", str(table), *TABLE_ARGS, "--methods", "all",
                                    "--seeds", "1", "--workers", "1", "--json", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert ran == quality.known_methods()
    assert list(json.loads(out.read_text())["cases"]) == quality.known_methods()


def test_registry_compare_default_suite_is_the_original_one() -> None:
    from hpo import compare

    assert compare.METHODS == ("sh", "hyperband", "asha", "random", "optuna-tpe-hyperband",
                               "optuna-random-sha")  # fmt: skip
    every = registry.compare_methods()
    assert set(compare.METHODS) <= set(every)
    # Every scheduler simulate runs on a table runs live too (grid search needs a grid).
    kinds = {m.split("/")[0] for m in registry.table_methods()} - {"grid"}
    assert kinds <= set(every)


@pytest.mark.parametrize("name", registry.scheduler_names())
def test_registry_entry_says_whether_the_built_scheduler_pauses(name: str) -> None:
    values = {"space": {"x": {"values": [1, 2, 3, 4, 5, 6, 7, 8, 9]}}, "scheduler": name,
              "max_epochs": 9}  # fmt: skip
    if name == "grid":
        values["space"] = {"x": {"values": list(range(30))}}
    settings = SearchSettings.from_dict(values)
    scheduler = settings.build_scheduler()
    assert isinstance(scheduler, Scheduler)
    entry = registry.scheduler(name)
    assert scheduler.pauses_trials is entry.pauses
    assert make_plan(settings, scheduler).approximate is entry.approximate(settings.budget)


@pytest.mark.parametrize("name", ["asha", "pasha"])
def test_registry_asynchronous_plans_are_approximate_only_without_a_budget(name: str) -> None:
    space = {"x": {"type": "float", "low": 0, "high": 1}}
    free = SearchSettings.from_dict({"space": space, "scheduler": name, "max_epochs": 27})
    capped = SearchSettings.from_dict({"space": space, "scheduler": name, "max_epochs": 27,
                                       "budget": 500})  # fmt: skip
    assert make_plan(free, free.build_scheduler()).approximate
    assert not make_plan(capped, capped.build_scheduler()).approximate
    assert (
        make_plan(free, free.build_scheduler())
        .lines()[0]
        .startswith(f"plan: {name}, 1 bracket(s), about ")
    )


def test_registry_variants_pause_as_their_entries_say(table) -> None:
    curves = Curves.read(table, params=["lr", "width"])
    bench = quality.Benchmark(curves, metric="accuracy", budget=300, replace=True)
    for entry in registry.schedulers():
        if entry.within is None or entry.name == registry.FULL_BUDGET:
            continue
        assert bench.scheduler(f"{entry.name}/random", 0).pauses_trials is entry.pauses, entry.name


def test_registry_refuses_a_second_entry_of_one_name() -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register_scheduler(registry.SchedulerEntry("asha", "again"))
