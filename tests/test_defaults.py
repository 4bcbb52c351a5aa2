"""Every default is stated where it lives: ``SearchSettings``. ``hpo run --help``, ``hpo submit
--help`` (and ``hpo compare --help``) show it from there, and the README's table of settings and
its prose ("`lease_seconds` (default 60", "`--scheduler …` | … (default `hyperband`)") agree.
"""

from __future__ import annotations

import dataclasses
import re

import click
import pytest
from click.testing import CliRunner

from hpo.cli import cli
from hpo.settings import SearchSettings, shown_default
from tests.readme_console import README

FIELDS = {f.name: f for f in dataclasses.fields(SearchSettings)}


def _setting_params(command: str) -> dict[str, click.Parameter]:
    """The options of ``hpo COMMAND`` that are settings, by setting name (``hpo compare
    --name`` names the comparison, not a setting)."""
    params = cli.commands[command].params
    return {p.name: p for p in params if p.name in FIELDS and (command, p.name) != ("compare", "name")}  # fmt: skip


def _help_entries(command: str) -> dict[str, str]:
    """``hpo COMMAND --help`` as printed, one text per option (its wrapped lines joined), by
    the option's first flag."""
    shown = CliRunner().invoke(cli, [command, "--help"])
    assert shown.exit_code == 0, shown.output
    entries: dict[str, str] = {}
    flag = None
    for line in shown.output.split("Options:\n", 1)[1].splitlines():
        start = re.match(r"  (?:-\w, )?(--[\w-]+)", line)
        if start:
            flag = start.group(1)
            entries[flag] = line.strip()
        elif flag is not None and line.strip():
            previous = entries[flag]
            # click wraps at spaces and after hyphens ("scikit-" / "learn's")
            glue = "" if previous.endswith("-") and not previous.endswith(" -") else " "
            entries[flag] = previous + glue + line.strip()
    return entries


def _shown_default(entry: str) -> str | None:
    found = re.search(r"\[default: ([^\]]*)\]", entry)
    return None if found is None else found.group(1)


def _readme_table() -> list[tuple[str, str, str]]:
    """The rows (setting, option, default) of the README's table of settings."""
    lines = README.read_text().splitlines()
    header = lines.index("| setting | option | default |")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 3, line
        rows.append((cells[0], cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("command", ["run", "submit", "compare"])
def test_defaults_help_shows_each_settings_default_from_search_settings(command) -> None:
    entries = _help_entries(command)
    params = _setting_params(command)
    assert params, f"hpo {command} has no option of a setting"
    for name, param in params.items():
        entry = entries[param.opts[0]]
        assert _shown_default(entry) == shown_default(name), (command, name, entry)
        assert entry.count("[default:") == 1, entry  # none pasted by hand besides


def test_defaults_run_exposes_every_setting_but_those_of_the_file_and_python() -> None:
    # What only a YAML file or hpo.search can give: a list, a mapping, a name, the service's lease.
    only_there = {"space", "fixed", "name", "stopping", "trainer_options", "lease_seconds"}
    assert set(_setting_params("run")) == set(FIELDS) - only_there


@pytest.mark.parametrize(
    ("command", "args"), [("run", ["s.yaml"]), ("submit", ["s.yaml", "--server", "http://x"])]
)
def test_defaults_options_show_a_default_but_never_supply_it(command, args) -> None:
    # Not given, an option is None, so the YAML file's value (else the dataclass's) stands.
    ctx = cli.commands[command].make_context(command, list(args))
    assert {n: ctx.params[n] for n in _setting_params(command)} == dict.fromkeys(
        _setting_params(command)
    )


def test_defaults_placeholders_say_what_they_stand_for() -> None:
    for name, f in FIELDS.items():
        if "means" in f.metadata:
            assert f.default in (None, 0), f"{name}: a meaning stands only for None or 0"
            assert "]" not in f.metadata["means"], name  # it ends a [default: …] in --help
        elif f.default is None:
            raise AssertionError(f"{name} defaults to None; say what that means (_meaning)")


def test_defaults_readme_table_agrees_with_search_settings_and_run() -> None:
    rows = _readme_table()
    params = _setting_params("run")
    assert [r[0].strip("`") for r in rows] == list(params), "one row per option, as --help"
    for setting, option, default in rows:
        name = setting.strip("`")
        param = params[name]
        assert option == f"`{'/'.join(param.opts + param.secondary_opts)}`", setting
        # A value as YAML writes it is code; what a placeholder stands for is words.
        stated = default.strip("`") if "means" not in FIELDS[name].metadata else default
        assert stated == shown_default(name), setting
        assert default.startswith("`") != ("means" in FIELDS[name].metadata), setting


def test_defaults_readme_names_what_submit_leaves_out() -> None:
    text = " ".join(README.read_text().split())
    said = re.search(r"`hpo submit` takes them all but the \w+ only a local search reads \(([^)]*)\)", text)  # fmt: skip
    assert said, "the README says which settings hpo submit lacks"
    left_out = set(re.findall(r"`(\w+)`", said.group(1)))
    assert left_out == set(_setting_params("run")) - set(_setting_params("submit"))


def test_defaults_readme_prose_agrees_with_search_settings() -> None:
    # "`lease_seconds` (default 60;" and "| `--scheduler sh\|…` | the algorithm (default `hyperband`)"
    options = {o: n for n, p in _setting_params("run").items() for o in p.opts}
    stated = re.findall(
        r"`(--[a-z][\w-]*|[a-z_]+)(?: [^`]*)?`[^`(\n]*\(default (`[^`]+`|[^;,)]+)",
        README.read_text(),
    )
    checked = 0
    for who, value in stated:
        name = options.get(who, who)
        if name in FIELDS:
            assert value.strip("`") == shown_default(name), (who, value)
            checked += 1
    assert checked >= 2, stated


def test_readme_options_table_lists_the_registry_choices() -> None:
    """The README's `--scheduler a|b|…` and `--sampler …` rows name what the registry holds."""
    from hpo import registry

    text = README.read_text()
    for option, names in (("scheduler", registry.scheduler_names()),
                          ("sampler", registry.sampler_names())):  # fmt: skip
        shown = re.search(rf"`--{option} ([a-z|\\-]+)`", text)
        assert shown, f"the README's options table has no --{option} row"
        assert shown.group(1).replace("\\", "").split("|") == names
