"""Measuring: ``hpo compare`` (this project's methods against Optuna's on one problem),
``hpo simulate`` (a recorded table replayed on a virtual clock), ``hpo report`` (the best
configuration retrained and cross-validated) and ``hpo train`` (one configuration).

Each parses its options, calls the library (:mod:`hpo.compare`, :mod:`hpo.table_compare`,
:mod:`hpo.runners._simulator`, :mod:`hpo.report`) and prints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from hpo import registry
from hpo.cli._errors import UsageError, refused
from hpo.cli._options import LazyHelp, Registered, json_object, setting_option, storage_option
from hpo.settings import MODES, SearchSettings


def _compare_methods_help() -> str:
    default = ", ".join(registry.compare_methods(default=True))
    return f"Comma-separated: all ({default}), or any of {', '.join(registry.compare_methods())}."


def _table_methods_help() -> str:
    full = registry.FULL_BUDGET
    kinds = [e.name for e in registry.schedulers() if e.within is not None and e.name != full]
    return (
        "Compare methods (e.g. random,hyperband/tpe,asha/random,optuna-tpe-hyperband): median "
        f"anytime curves over --seeds. Any of {', '.join(registry.sampler_names())}; "
        f"SCHEDULER/SAMPLER of {', '.join(kinds)} and {', '.join(registry.open_ended_samplers())}; "
        f"{', '.join(e.name for e in registry.optuna_methods())}; or all."
    )


@click.command()
@click.argument("study")
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="k of the repeated k-fold.",
)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@storage_option
def report(study: str, folds: int, repeats: int, storage: str) -> None:
    """Retrain the best configuration and evaluate it on the test split and by 5x5 CV."""
    from hpo.report import best_model_report, report_lines, save_report

    result = best_model_report(storage, study, n_splits=folds, n_repeats=repeats)
    save_report(storage, result)
    for line in report_lines(result):
        click.echo(line)
    click.echo(
        f"saved in the study database; see it with `hpo dashboard {study}` (best-model report)"
    )


@click.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Seeds 0 … N-1 for every method.",
)
@click.option(
    "--methods", cls=LazyHelp, default="all", show_default=True, help_from=_compare_methods_help
)
@setting_option("max_epochs", type=click.IntRange(min=1), help="R.")
@setting_option("min_epochs", type=click.IntRange(min=1), help="r.")
@setting_option("eta", type=click.IntRange(min=2), help="η.")
@setting_option("dataset", help="Bundled name or CSV/Parquet file.")
@setting_option("target", help="Label column of a dataset file.")
@setting_option("trainer", help="module:Class following the trainer contract.")
@click.option("--name", help="Name of the comparison. [default: compare-SPACE-TIME]")
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False), help="[default: results/NAME.html]"
)
@storage_option
def compare(space_file: str, seeds: int, methods: str, name: str | None, html_file: str | None, storage: str,
            **options: Any) -> None:  # fmt: skip
    """Run this project's SH, HyperBand, ASHA and random search against Optuna's on one problem."""
    from hpo import compare as cmp
    from hpo.dashboard import write_comparison_html
    from hpo.launch import check_trainer

    chosen = tuple(_methods(methods, registry.compare_methods(),
                            all_=registry.compare_methods(default=True)))  # fmt: skip
    settings = SearchSettings.from_file(space_file, options)
    check_trainer(settings)
    name = name or f"compare-{settings.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    budget = cmp.budget_for(settings)
    click.echo(f"{name}: {len(chosen)} methods x {seeds} seeds, {budget} epochs each (HyperBand's budget "
               f"for R={settings.max_epochs}, eta={settings.eta}), trained serially")  # fmt: skip
    result = cmp.compare(
        settings, list(range(seeds)), chosen, name=name,
        on_run=lambda r: click.echo(f"  {r.method:<22} seed {r.seed}: best {r.best_value:.4f}, "
                                    f"{r.epochs} epochs, {r.seconds:.1f} s"),
    )  # fmt: skip
    for line in cmp.table_lines(result):
        click.echo(line)
    cmp.save_comparison(storage, result)
    path = write_comparison_html(result, html_file or Path("results") / f"{name}.html")
    click.echo(f"wrote {path}; also in the dashboard: hpo dashboard, then {name}")


@click.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option(
    "--scheduler",
    type=Registered(registry.scheduler_names),
    default=registry.DEFAULT_SCHEDULER,
    show_default=True,
)
@click.option(
    "--sampler",
    type=Registered(registry.open_ended_samplers),
    default=registry.DEFAULT_SAMPLER,
    show_default=True,
    help="How new configurations are drawn from the table's rows.",
)
@click.option(
    "--max-epochs",
    type=click.IntRange(min=1),
    default=None,
    help="R; the plan may not go beyond it. [default: the table's longest curve]",
)
@click.option("--min-epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--eta", type=click.IntRange(min=2), default=3, show_default=True)
@click.option("--budget", type=click.IntRange(min=1))
@click.option("--n-configs", type=click.IntRange(min=1))
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Repeat the brackets (hyperband, sh).",
)
@click.option(
    "--workers",
    default="4",
    show_default=True,
    help="Simulated workers; several (1,16,64) with --methods.",
)
@click.option(
    "--resume-seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="What resuming a paused trial on another worker costs.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--metric", default="val_accuracy", show_default=True)
@click.option("--mode", type=click.Choice(MODES), default="max", show_default=True)
@click.option("--replace", is_flag=True, help="Draw the table's rows with replacement.")
@click.option("--params", help="Hyperparameter columns, when not named config.<name> (a,b,c).")
@click.option("--resource", "resource_column", default="epoch", show_default=True,
              help="The column of epochs (or of another resource, such as a training size).")  # fmt: skip
@click.option("--space", "space_file", type=click.Path(dir_okay=False),
              help="The space the table was recorded from (log scales for model-based samplers).")  # fmt: skip
@click.option("--methods", cls=LazyHelp, help_from=_table_methods_help)
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Seeds per method, with --methods.")  # fmt: skip
@click.option(
    "--json", "json_file", type=click.Path(dir_okay=False), help="With --methods: the figures."
)
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False), help="With --methods: the curves."
)
def simulate(table: str, workers: str, seed: int, metric: str, mode: str, replace: bool,
             params: str | None, resource_column: str, space_file: str | None, methods: str | None,
             seeds: int, json_file: str | None, html_file: str | None, **options: Any) -> None:  # fmt: skip
    """Replay a table of learning curves (CSV or Parquet) on a virtual clock: one scheduler,
    or several methods side by side (--methods) with their median anytime curves."""
    from hpo.simulate import simulate_table
    from hpo.tables import Curves

    worker_counts = _worker_counts(workers)
    space = SearchSettings.from_file(space_file).build_space() if space_file else None
    with refused():
        curves = Curves.read(
            table, params=params.split(",") if params else None, resource=resource_column
        )
    if methods is None:
        if len(worker_counts) > 1:
            raise UsageError("several --workers need --methods (a comparison)")
        with refused():
            result = simulate_table(curves, workers=worker_counts[0], seed=seed, metric=metric, mode=mode,
                                    replace=replace, space=space, **options)  # fmt: skip
        for line in result.lines():
            click.echo(line)
        return
    from hpo import quality
    from hpo.table_compare import compare_on_table

    known = quality.known_methods()
    chosen = _methods(methods, known, all_=known, skip_empty=True)
    with refused():
        result = compare_on_table(curves, chosen, seeds, worker_counts, table=table, metric=metric,
                                  mode=mode, eta=options["eta"], max_epochs=options.get("max_epochs"),
                                  budget=options.get("budget"), replace=replace,
                                  resume_seconds=options["resume_seconds"], space=space)  # fmt: skip
    for line in result.lines():
        click.echo(line)
    if json_file:
        result.write_json(json_file)
        click.echo(f"wrote {json_file}")
    if html_file:
        result.write_html(html_file)
        click.echo(f"wrote {html_file}")


def _worker_counts(text: str) -> list[int]:
    """``--workers``: one count of simulated workers, or several (``1,16,64``)."""
    try:
        counts = [int(w) for w in text.split(",")]
        if min(counts) < 1:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"--workers {text!r}: expected positive integers such as 4 or 1,16,64"
        ) from None
    return counts


def _methods(
    text: str, known: list[str], *, all_: list[str], skip_empty: bool = False
) -> list[str]:
    """The methods ``--methods`` names: ``all`` for ``all_``, else comma-separated, each one
    of ``known`` (``skip_empty``: ``a,,b`` is ``a,b``; otherwise the empty one is unknown)."""
    if text == "all":
        return list(all_)
    chosen = [m.strip() for m in text.split(",") if m.strip() or not skip_empty]
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise UsageError(
            f"--methods {unknown[0]!r} is unknown; expected some of {', '.join(known)}"
        )
    return chosen


@click.command()
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

    config = json_object(config_json, "--config", "a JSON object of hyperparameters")
    with refused():
        trainer = MLPTrainer(dataset, target, dtype=dtype)
        trainer.setup(config, seed)
    click.echo(f"{'epoch':>5} {'train_loss':>10} {'val_loss':>9} {'val_accuracy':>12}")
    for epoch in range(1, epochs + 1):
        m = trainer.step()
        click.echo(
            f"{epoch:>5} {m['train_loss']:>10.4f} {m['val_loss']:>9.4f} {m['val_accuracy']:>12.4f}"
        )
    acc = float((trainer.predict(trainer.data.X_test) == trainer.data.y_test).mean())
    click.echo(f"test accuracy after {epochs} epochs: {acc:.4f}")


COMMANDS = [compare, report, simulate, train]
