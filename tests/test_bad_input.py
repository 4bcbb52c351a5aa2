"""Bad input, tried systematically: any malformed space file or command line gives exit code 2
and one line on stderr, never a traceback and never a half-made study."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hpo.cli import main

KEYS = ["space", "fixed", "scheduler", "sampler", "max_epochs", "min_epochs", "eta", "budget", "n_configs",
        "iterations", "stopping", "seed", "metric", "mode", "trainer", "trainer_options", "dataset", "target",
        "executor", "workers", "max_failures", "trial_timeout", "name", "bogus"]  # fmt: skip
PARAM_KEYS = ["type", "low", "high", "log", "values", "grid", "step"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["float", "int", "categorical", "relu", "tanh", "adam", "sgd", "abc", "1e-3", "", "<b>"]),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from([*PARAM_KEYS, "x", "rule"]), inner, max_size=4), max_leaves=12)  # fmt: skip
params = st.dictionaries(
    st.sampled_from(["hidden_layer_sizes", "activation", "alpha", "learning_rate_init", "solver", "x"]),
    st.one_of(values, st.fixed_dictionaries(
        {"type": st.sampled_from(["float", "int", "categorical", "nope"]), "low": scalars, "high": scalars},
        optional={"log": scalars, "values": values})),
    max_size=4,
)  # fmt: skip
documents = st.one_of(
    st.fixed_dictionaries(
        {"space": st.one_of(params, values)}, optional={k: values for k in KEYS if k != "space"}
    ),
    values,
)

CHECKS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)  # an exception escaping here fails the test: that would be a traceback
    event(f"exit code {code}")
    return code, capsys.readouterr().err


def one_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("hpo: ") and "Traceback" not in err


@CHECKS
@given(doc=documents)
def test_any_space_file_is_planned_or_refused_in_one_line(doc, tmp_path_factory, capsys) -> None:
    path = tmp_path_factory.mktemp("doc") / "space.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    db = path.parent / "s.db"
    code, err = run_cli(["run", str(path), "--dry-run", "--storage", str(db)], capsys)
    assert code in (0, 2)
    if code == 2:
        assert one_line(err), err
    assert not db.exists()  # a dry run makes nothing


@CHECKS
@given(text=st.text(max_size=200))
def test_any_text_as_a_space_file_is_refused_in_one_line(text, tmp_path_factory, capsys) -> None:
    path = tmp_path_factory.mktemp("txt") / "space.yaml"
    path.write_text(text)
    code, err = run_cli(["run", str(path), "--dry-run"], capsys)
    assert code in (0, 2) and (code == 0 or one_line(err)), err


OPTIONS = ["--scheduler", "--sampler", "--max-epochs", "--min-epochs", "--eta", "--budget", "--n-configs",
           "--workers", "--seed", "--executor", "--trial-timeout", "--max-failures", "--dataset", "--trainer"]  # fmt: skip
option_values = st.one_of(
    st.integers(-3, 500).map(str), st.sampled_from(["sh", "hyperband", "asha", "random", "grid", "tpe", "ray",
    "serial", "iris", "x", "", "1.5", "nan", "-", "json:loads", "trainers.mlp:MLPTrainer"]), st.text(max_size=8),
)  # fmt: skip


@CHECKS
@given(args=st.lists(st.tuples(st.sampled_from(OPTIONS), option_values), max_size=4))
def test_any_command_line_is_planned_or_refused_in_one_line(args, tmp_path_factory, capsys) -> None:
    path = tmp_path_factory.mktemp("cli") / "space.yaml"
    path.write_text(
        "space:\n  activation: [relu, tanh]\n  alpha: {type: float, low: 1.0e-5, high: 0.1, log: true}\n"
    )
    flat = [part for pair in args for part in pair]
    code, err = run_cli(
        ["run", str(path), *flat, "--dry-run", "--storage", str(path.parent / "s.db")], capsys
    )
    assert code in (0, 2)
    if code == 2:
        assert one_line(err), (flat, err)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    args=st.lists(st.tuples(st.sampled_from(OPTIONS[:8]), option_values), min_size=1, max_size=3)
)
def test_a_refused_search_leaves_no_study(args, tmp_path_factory, capsys) -> None:
    """Without --dry-run: a refused search creates no study in the database."""
    path = tmp_path_factory.mktemp("real") / "space.yaml"
    path.write_text("space:\n  activation: [relu, tanh]\n")
    db = path.parent / "s.db"
    flat = [part for pair in args for part in pair]
    code, err = run_cli(["run", str(path), "--dataset", "iris", "--executor", "serial", "--max-epochs", "2",
                         *flat, "--storage", str(db), "--study", "s"], capsys)  # fmt: skip
    if code == 2:
        assert one_line(err), (flat, err)
        if Path(db).exists():
            assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM studies").fetchone()[0] == 0
