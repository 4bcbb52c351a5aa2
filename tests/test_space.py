"""Search spaces: YAML forms, validation messages, seeded sampling, grids."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.space import Categorical, Float, Int, SearchSpace, SpaceError, read_yaml

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_report_grid_is_the_reports_2520_configurations() -> None:
    doc = read_yaml(str(ROOT / "search_spaces" / "report_grid.yaml"))
    space = SearchSpace.from_dict(doc["space"])
    assert space.grid_size() == 10 * 4 * 3 * 7 * 3 == 2520
    configs = list(space.grid())
    assert len({repr(sorted(c.items())) for c in configs}) == 2520
    assert configs[0]["hidden_layer_sizes"] == (10, 10, 10, 10, 10)
    assert {c["solver"] for c in configs} == {"adam", "lbfgs", "sgd"}
    assert sorted({c["alpha"] for c in configs}) == [1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100]


def test_every_shipped_space_loads() -> None:
    for path in (ROOT / "search_spaces").glob("*.yaml"):
        SearchSpace.from_dict(read_yaml(str(path))["space"], source=path.name)


def test_forms_of_parameters() -> None:
    space = SearchSpace.from_dict(
        {
            "lr": {"type": "float", "low": "1e-4", "high": 0.1, "log": True},
            "units": {"type": "int", "low": 8, "high": 256, "log": True},
            "act": ["relu", "tanh"],
            "layers": {"values": [[10], [10, 10]]},
            "solver": {"grid": ["adam", "sgd"]},
            "batch_size": 32,
        }
    )
    assert space.params["lr"] == Float(1e-4, 0.1, True)
    assert space.params["units"] == Int(8, 256, True)
    assert space.params["layers"] == Categorical(((10,), (10, 10)))
    assert space.fixed == {"batch_size": 32}
    assert not space.is_grid


def test_sampling_is_seeded_and_in_range() -> None:
    space = SearchSpace.from_dict(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "units": {"type": "int", "low": 8, "high": 256, "log": True},
            "n": {"type": "int", "low": 1, "high": 3},
        }
    )
    a = [space.sample(np.random.default_rng(5)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(5)) for _ in range(3)]
    assert a == b
    draws = [space.sample(rng) for rng in [np.random.default_rng(0)] for _ in range(2000)]
    assert all(1e-4 <= d["lr"] <= 0.1 and 8 <= d["units"] <= 256 for d in draws)
    assert {d["n"] for d in draws} == {1, 2, 3}
    assert {d["units"] for d in draws} >= {8, 256}
    # log-uniform: about half the draws below the geometric mean
    below = np.mean([d["lr"] < np.sqrt(1e-4 * 0.1) for d in draws])
    assert 0.45 < below < 0.55


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"lr": {"type": "float", "low": 1, "high": 0}}, "^space.lr: low=1 must be below high=0$"),
        ({"lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "log scale needs low > 0"),
        ({"lr": {"type": "floaty", "low": 0, "high": 1}}, "type='floaty' is unknown"),
        ({"lr": {"type": "float", "low": 0}}, "needs 'high'"),
        ({"lr": {"type": "float", "low": 0, "high": 1, "step": 2}}, "unexpected key 'step'"),
        ({"lr": {"type": "int", "low": 0.5, "high": 3}}, "low=0.5 is not an integer"),
        ({"lr": {"type": "float", "low": "abc", "high": 3}}, "low='abc' is not a finite number"),
        ({"act": []}, "values must be a non-empty list"),
        ({"act": ["relu", "relu"]}, "values has duplicates"),
        ({"act": {"values": ["a"], "log": True}}, "unexpected key 'log' next to 'values'"),
        ({}, "'space' must be a non-empty mapping"),
        ({"batch_size": 3}, "no hyperparameter to search"),
    ],
)
def test_malformed_space_names_the_key_and_problem(spec, message) -> None:
    with pytest.raises(SpaceError, match=message):
        SearchSpace.from_dict(spec)


def test_grid_of_a_continuous_space_is_refused() -> None:
    space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.1, "high": 1}, "a": [1, 2]})
    with pytest.raises(SpaceError, match="lr is a range"):
        space.grid_size()


def test_yaml_errors_name_the_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("space:\n  lr: [1, 2\n")
    with pytest.raises(SpaceError, match=r"bad.yaml: malformed YAML \(line"):
        read_yaml(str(bad))
    with pytest.raises(SpaceError, match="no such file"):
        read_yaml(str(tmp_path / "missing.yaml"))


def test_yaml_reads_exponent_floats(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("space:\n  alpha: [1e-4, 1.0e-3, 5]\n")
    space = SearchSpace.from_dict(read_yaml(str(path))["space"])
    assert space.params["alpha"] == Categorical((1e-4, 1e-3, 5))
