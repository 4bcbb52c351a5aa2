"""Inspecting studies: ``hpo list``, ``status``, ``best`` and ``export``.

Each reads the study database or a server (:class:`~hpo.cli._source.Source`) and prints;
none writes anything but ``export``'s file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from hpo.cli._errors import UsageError, plural, with_flags
from hpo.cli._options import reading_options
from hpo.cli._source import Source


@click.command("list")
@reading_options
def list_studies(storage: str, server: str | None, token: str | None, ca: str | None) -> None:
    """List the studies in the database."""
    frame = Source(storage, server, token, ca).studies()
    if frame.empty:
        click.echo(f"no studies in {server or storage}")
        return
    frame["created"] = frame.pop("created_at").map(
        lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t))
    )
    frame = frame.drop(columns=["updated_at"])
    click.echo(frame.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4f}"))


@click.command()
@click.argument("study")
@click.option("--sort", default="best_value", show_default=True, help="Column to sort by.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@reading_options
def status(study: str, sort: str, limit: int, storage: str, server: str | None,
           token: str | None, ca: str | None) -> None:  # fmt: skip
    """Show a study's progress and a table of its trials."""
    info, trials = Source(storage, server, token, ca).study_and_trials(study)
    click.echo(
        f"{study}: {info['status']}, {info['scheduler']}, {len(trials)} trials, "
        f"{info['epochs_spent']} of {info['planned_budget']} planned epochs"
    )
    if info.get("error"):
        click.echo(f"  error: {with_flags(info['error'])}")
    if trials.empty:
        return
    counts = trials["status"].value_counts()
    click.echo("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    nodes = Source(storage, server, token).nodes(study)
    if nodes is not None and len(nodes) and not (len(nodes) == 1 and nodes["node"][0] == "local"):
        click.echo(f"  by node: {_by_node(nodes)}")
    if sort not in trials.columns:
        raise UsageError(
            f"--sort {sort!r} is not a column; expected one of {', '.join(trials.columns)}"
        )
    click.echo(_trials_table(trials, sort, limit, info["mode"]))


def _by_node(nodes: Any) -> str:
    """``node-a 2 workers, 5 trials, 40 epochs; node-b …``: what each node of a cluster did."""
    return "; ".join(
        f"{r.node} {plural(r.workers, 'worker')}, {plural(r.trials, 'trial')}, "
        f"{plural(r.epochs, 'epoch')}"
        for r in nodes.itertuples()
    )


def _trials_table(trials: Any, sort: str, limit: int, mode: str) -> str:
    """The first ``limit`` trials by ``sort`` (the best first for ``best_value``), as text."""
    ascending = sort != "best_value" or mode == "min"
    table = trials.sort_values(sort, ascending=ascending, na_position="last").head(limit)
    table = table.assign(config=table["config"].map(lambda c: json.dumps(c, separators=(",", ":"))))
    cols = ["trial_id", "status", "bracket", "rung", "epochs", "best_value", "last_value", "config"]
    return table[cols].to_string(
        index=False, na_rep="-", float_format=lambda v: f"{v:.4f}", max_colwidth=70
    )


@click.command()
@click.argument("study")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@reading_options
def best(study: str, as_json: bool, storage: str, server: str | None, token: str | None,
         ca: str | None) -> None:  # fmt: skip
    """Print the best trial of a study: its value, epochs and configuration."""
    result = Source(storage, server, token, ca).best(study)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"best {result['metric']} {result['value']:.4f}: trial {result['trial_id']} "
               f"({result['epochs']} epochs, {result['status']})")  # fmt: skip
    for key, value in result["config"].items():
        click.echo(f"  {key}: {json.dumps(value)}")


@click.command()
@click.argument("study")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="FILE.csv or FILE.parquet.")  # fmt: skip
@reading_options
def export(study: str, output: Path, storage: str, server: str | None, token: str | None,
           ca: str | None) -> None:  # fmt: skip
    """Export every epoch of a study, with its trial's configuration, to CSV or Parquet."""
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"-o {output}: expected a .csv or .parquet file name")
    rows, trials = Source(storage, server, token, ca).export(study, output)
    click.echo(f"wrote {rows} epochs of {trials} trials to {output}")


COMMANDS = [list_studies, status, best, export]
