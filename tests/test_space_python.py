"""Spaces written in Python (``hpo.uniform`` …): each is its YAML twin, nested names
flatten and come back nested, and bad input is one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hpo
from hpo.space import (
    SearchSpace,
    SpaceError,
    flatten,
    nest,
    nested_names,
    parse_yaml,
    read_yaml,
    space_document,
)
from tests.conftest import ROOT


def yaml_space(text: str) -> tuple[dict, dict]:
    doc = parse_yaml(text)
    return doc["space"], doc.get("fixed", {})


def samples(space: dict, fixed: dict, n: int = 50, seed: int = 3) -> list[dict]:
    built = SearchSpace.from_dict(space, fixed)
    rng = np.random.default_rng(seed)
    return [built.sample(rng) for _ in range(n)]


TWINS = [
    (hpo.uniform(0.1, 1.0), "{type: float, low: 0.1, high: 1.0}"),
    (hpo.loguniform(1e-4, 1e-1), "{type: float, low: 1.0e-4, high: 1.0e-1, log: true}"),
    (hpo.randint(1, 5), "{type: int, low: 1, high: 5}"),
    (hpo.randint(16, 256, log=True), "{type: int, low: 16, high: 256, log: true}"),
    (hpo.choice(["relu", "tanh"]), "[relu, tanh]"),
    (hpo.choice([[64], [128, 64]]), "[[64], [128, 64]]"),
    (hpo.grid([0.1, 0.01]), "{grid: [0.1, 0.01]}"),
    (hpo.choice((1, 2, 3)), "[1, 2, 3]"),
]


@pytest.mark.parametrize(("obj", "yaml"), TWINS, ids=[repr(o) for o, _ in TWINS])
def test_python_domain_is_its_yaml_twin(obj, yaml) -> None:
    python = space_document({"x": obj, "other": hpo.uniform(0, 1)})
    twin = yaml_space(f"space:\n  x: {yaml}\n  other: {{type: float, low: 0, high: 1}}\n")
    assert python == twin
    assert SearchSpace.from_dict(*python) == SearchSpace.from_dict(*twin)
    assert samples(*python) == samples(*twin)
    json.dumps(python)  # recorded in the study as JSON


def test_python_conditions_are_the_yaml_when() -> None:
    """search_spaces/mlp_conditional.yaml written in Python: the same document and samples."""
    python = {
        "solver": hpo.choice(["sgd", "adam"]),
        "learning_rate_init": hpo.loguniform(1.0e-4, 0.3),
        "alpha": hpo.loguniform(1.0e-6, 1.0e-1),
        "activation": hpo.choice(["relu", "tanh", "elu", "logistic"]),
        "batch_size": hpo.randint(16, 256, log=True),
        "momentum": hpo.uniform(0.5, 0.99, when={"solver": "sgd"}),
        "nesterovs_momentum": hpo.choice([True, False], when={"solver": "sgd"}),
        "learning_rate": hpo.choice(["constant", "invscaling", "adaptive"], when={"solver": "sgd"}),
        "beta_1": hpo.uniform(0.8, 0.99, when={"solver": "adam"}),
        "beta_2": hpo.uniform(0.99, 0.9999, when={"solver": "adam"}),
        "depth": hpo.randint(1, 3),
        "width_1": hpo.randint(16, 256, log=True),
        "width_2": hpo.randint(16, 256, log=True, when={"depth": {"ge": 2}}),
        "width_3": hpo.randint(16, 256, log=True, when={"depth": {"ge": 3}}),
    }
    path = ROOT / "search_spaces" / "mlp_conditional.yaml"
    want = read_yaml(str(path))["space"]
    assert space_document(python) == (want, {})
    assert space_document(path) == (want, {})
    assert samples(*space_document(python), n=200) == samples(want, {}, n=200)
    assert any("momentum" not in c for c in samples(want, {}, n=200))  # conditions bite


def test_space_document_passes_yaml_mappings_through_and_mixes() -> None:
    yaml_dict = {"lr": {"type": "float", "low": 0.1, "high": 1.0}, "act": ["relu", "tanh"]}
    assert space_document(yaml_dict) == (yaml_dict, {})
    mixed = {"lr": hpo.uniform(0.1, 1.0), "act": {"values": ["relu", "tanh"]}, "batch": 64}
    assert space_document(mixed) == (
        {"lr": {"type": "float", "low": 0.1, "high": 1.0}, "act": {"values": ["relu", "tanh"]},
         "batch": 64},
        {},
    )  # fmt: skip


def test_space_document_fixed_values_as_yaml_writes_them() -> None:
    """A scalar stays under space: (YAML reads it as fixed); a list goes under fixed:, which
    space: would read as a choice."""
    space, fixed = space_document({"lr": hpo.uniform(0.1, 1), "epochs": 5, "hidden": (64, 32)})
    assert (space, fixed) == ({"lr": {"type": "float", "low": 0.1, "high": 1}, "epochs": 5},
                              {"hidden": [64, 32]})  # fmt: skip
    config = SearchSpace.from_dict(space, fixed).sample(np.random.default_rng(0))
    assert config["hidden"] == [64, 32] and config["epochs"] == 5


def test_space_document_reads_a_search_file(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("space:\n  a: [1, 2]\nfixed:\n  b: [3]\nmax_epochs: 9\n")
    assert space_document(str(path)) == ({"a": [1, 2]}, {"b": [3]})


def test_nested_space_flattens_to_dotted_names_and_nests_back() -> None:
    space = {
        "optimizer": {
            "name": hpo.choice(["sgd", "adam"]),
            "lr": hpo.loguniform(1e-4, 1e-1),
            "momentum": hpo.uniform(0.5, 0.99, when={"optimizer.name": "sgd"}),
        },
        "model": {"depth": hpo.randint(1, 3), "head": {"width": 32}},
        "seed.offset": 1,  # written flat: stays flat
    }
    flat, fixed = space_document(space)
    assert list(flat) == ["optimizer.name", "optimizer.lr", "optimizer.momentum", "model.depth",
                          "model.head.width", "seed.offset"]  # fmt: skip
    twin = yaml_space(
        "space:\n"
        "  optimizer.name: [sgd, adam]\n"
        "  optimizer.lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}\n"
        "  optimizer.momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer.name: sgd}}\n"
        "  model.depth: {type: int, low: 1, high: 3}\n"
        "  model.head.width: 32\n"
        "  seed.offset: 1\n"
    )
    assert (flat, fixed) == twin
    names = nested_names(space)
    assert names == {"optimizer.name", "optimizer.lr", "optimizer.momentum", "model.depth",
                     "model.head.width"}  # fmt: skip
    for config in samples(flat, fixed, n=30):
        tree = nest(config, names)
        assert set(tree) == {"optimizer", "model", "seed.offset"}
        assert tree["model"]["head"] == {"width": 32} and tree["seed.offset"] == 1
        assert ("momentum" in tree["optimizer"]) == (tree["optimizer"]["name"] == "sgd")
        assert flatten(tree) == config


def test_nest_of_yaml_space_keeps_flat_names() -> None:
    assert nested_names({"a.b": {"type": "int", "low": 1, "high": 2}}) == frozenset()
    assert nest({"a.b": 1}, nested_names({"a.b": hpo.randint(1, 2)})) == {"a.b": 1}


def test_randint_includes_high() -> None:
    """As the YAML int range: {low, …, high}, both ends drawn."""
    drawn = {c["x"] for c in samples(*space_document({"x": hpo.randint(1, 3)}), n=100)}
    assert drawn == {1, 2, 3}


def test_domains_accept_numpy_numbers() -> None:
    space = space_document({"x": hpo.uniform(np.float64(0.5), np.int64(2))})[0]
    assert space == {"x": {"type": "float", "low": 0.5, "high": 2}}
    assert type(space["x"]["high"]) is int


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hpo.uniform(3, 1), "uniform(3, 1): low=3 must be below high=1"),
        (lambda: hpo.loguniform(0, 1), "loguniform(0, 1): a log scale needs low > 0, got low=0"),
        (lambda: hpo.randint(1.5, 3), "randint(1.5, 3): low=1.5 is not an integer"),
        (lambda: hpo.randint(1, "x"), "randint(1, 'x'): high='x' is not a finite number"),
        (lambda: hpo.choice([]), "choice([]): values must be a non-empty list"),
        (lambda: hpo.choice("abc"), "choice: values='abc' must be a non-empty list"),
        (lambda: hpo.grid([1, 1]), "grid([1, 1]): values has duplicates"),
        (lambda: hpo.uniform(0, 1, when="sgd"), "uniform(0, 1): when='sgd' must be a mapping"),
        (
            lambda: space_document(
                {"m": hpo.uniform(0, 1, when={"solver": "sgd"}), "d": hpo.randint(1, 2)}
            ),
            "space.m.when.solver: 'solver' is not a hyperparameter of the space (it has d)",
        ),
        (
            lambda: space_document(
                {"s": hpo.choice(["a"]), "m": hpo.uniform(0, 1, when={"s": "b"})}
            ),
            "space.m.when.s: the condition (eq 'b') can never hold",
        ),
        (
            lambda: space_document({"a": {"b": hpo.uniform(0, 1)}, "a.b": 2}),
            "space.a.b: given twice (once nested, once dotted)",
        ),
        (lambda: space_document({"a": {}, "b": hpo.uniform(0, 1)}), "space.a: an empty mapping"),
        (lambda: space_document(hpo.uniform(0, 1)), "space: uniform(0, 1) needs a name"),
        (lambda: space_document(42), "space=42 is not a space"),
        (lambda: space_document("nope.yaml"), "nope.yaml: no such file"),
    ],
)
def test_bad_python_space_is_one_line(make, message) -> None:
    with pytest.raises(SpaceError) as info:
        make()
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text
    assert isinstance(info.value, ValueError)


def test_domain_repr_reads_as_written() -> None:
    assert repr(hpo.loguniform(1e-4, 0.1)) == "loguniform(0.0001, 0.1)"
    assert repr(hpo.choice(["a", "b"], when={"d": {"ge": 2}})) == (
        "choice(['a', 'b'], when={'d': {'ge': 2}})"
    )


def test_group_named_like_a_yaml_key_is_a_group() -> None:
    """A mapping holding Python objects is a group even when its keys read as YAML's."""
    assert space_document({"values": {"type": hpo.choice(["a", "b"])}})[0] == {
        "values.type": ["a", "b"]
    }
