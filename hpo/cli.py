"""The ``hpo`` command line: a thin shell over the library.

Each subcommand parses its options, calls the library, prints, and returns an exit code.
Bad input is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click


class UsageError(click.ClickException):
    """A bad input: printed as one line (``Error: …``) on stderr, exit code 2."""

    exit_code = 2


def _fail(message: str) -> None:
    raise UsageError(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hpo")
def main() -> None:
    """Hyperparameter search with successive halving, HyperBand and ASHA."""


@main.command()
@click.option(
    "--dataset", default="digits", show_default=True, help="Bundled name or CSV/Parquet file."
)
@click.option("--target", default=None, help="Label column of a dataset file.")
@click.option("--config", "config_json", default="{}", help="Hyperparameters as JSON.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--dtype", default="float32", show_default=True, type=click.Choice(["float32", "float64"])
)
def train(
    dataset: str, target: str | None, config_json: str, epochs: int, seed: int, dtype: str
) -> None:
    """Train one MLP configuration and print its learning curve."""
    from trainers.mlp import MLPTrainer

    try:
        config: dict[str, Any] = json.loads(config_json)
    except json.JSONDecodeError as exc:
        _fail(f"--config is not valid JSON: {exc}")
    if not isinstance(config, dict):
        _fail("--config must be a JSON object of hyperparameters")
    try:
        trainer = MLPTrainer(dataset, target, dtype=dtype)
        trainer.setup(config, seed)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"{'epoch':>5} {'train_loss':>10} {'val_loss':>9} {'val_accuracy':>12}")
    for epoch in range(1, epochs + 1):
        m = trainer.step()
        click.echo(
            f"{epoch:>5} {m['train_loss']:>10.4f} {m['val_loss']:>9.4f} {m['val_accuracy']:>12.4f}"
        )
    acc = float((trainer.predict(trainer.data.X_test) == trainer.data.y_test).mean())
    click.echo(f"test accuracy after {epochs} epochs: {acc:.4f}")


def run() -> None:  # pragma: no cover - console entry for `python -m hpo`
    sys.exit(main())
