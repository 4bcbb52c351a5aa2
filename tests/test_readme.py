"""The README's console examples are what the commands print today (tests/readme_console.py)."""

from __future__ import annotations

from tests import readme_console


def test_readme_console_examples_are_not_stale() -> None:
    lines = readme_console.README.read_text().split("\n")
    checked = [c for b in readme_console.blocks(lines) for c in b.commands if b.exact]
    assert checked, "the README marks no exact console example"
    stale = readme_console.stale(lines)
    assert not stale, "stale README examples (run `make readme`): " + "; ".join(
        f"line {cmd.line + 1}: $ {cmd.text}" for cmd, _ in stale
    )


def test_readme_console_rewrite_replaces_only_the_stale_output() -> None:
    lines = [
        "text",
        "<!-- console: exact -->",
        "```console",
        "$ hpo x",
        "old",
        "old2",
        "```",
        "end",
    ]
    (block,) = readme_console.blocks(lines)
    assert block.exact and block.commands[0].output == ["old", "old2"]
    fixed = readme_console.rewrite(lines, [(block.commands[0], ["new"])])
    assert fixed == [
        "text",
        "<!-- console: exact -->",
        "```console",
        "$ hpo x",
        "new",
        "```",
        "end",
    ]


def test_readme_console_real_runs_are_checked_by_their_plan() -> None:
    shown = ["study 's' in r.db", "plan: old", "  bracket s=0: 1@1", "budget: 1 epochs", "finished"]
    assert readme_console._with_plan(shown, ["plan: new", "budget: 2 epochs"]) == [
        "study 's' in r.db", "plan: new", "budget: 2 epochs", "finished",
    ]  # fmt: skip
    assert readme_console._dry_run("hpo run a.yaml --max-epochs 9") == (
        "hpo run a.yaml --max-epochs 9 --dry-run"
    )
    assert readme_console._dry_run("hpo status x") is None
