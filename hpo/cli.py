"""The ``hpo`` command line: a thin shell over the library.

Each subcommand parses its options, calls the library, prints, and returns an exit code.
Bad input is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hpo import registry
from hpo.settings import (
    EXECUTORS,
    MODES,
    RESOURCES,
    TASKS,
    SearchSettings,
    SettingsError,
    shown_default,
)
from hpo.space import SpaceError
from hpo.store import DEFAULT_STORAGE, StoreError, StudyReader

#: Errors that mean "the input is wrong": one line, exit code 2.
USER_ERRORS = (SettingsError, SpaceError, StoreError)


class UsageError(click.ClickException):
    """A bad input: printed as one line on stderr, exit code 2."""

    exit_code = 2


storage_option = click.option(
    "--storage",
    default=str(DEFAULT_STORAGE),
    show_default=True,
    help="The study database: a file path or sqlite:///PATH.",
)
server_option = click.option(
    "--server", metavar="URL", help="Ask this hpo server (hpo serve) instead of reading --storage."
)
token_option = click.option(
    "--token",
    envvar="HPO_TOKEN",
    help="The server's bearer token. [env: HPO_TOKEN]",
)
ca_option = click.option(
    "--ca",
    envvar="HPO_CA",
    metavar="FILE",
    help="Trust this CA certificate (PEM) for an https server with a private CA. [env: HPO_CA]",
)
tls_cert_option = click.option(
    "--tls-cert",
    metavar="FILE",
    help="Speak HTTPS with this certificate (PEM, its chain after it); needs --tls-key.",
)
tls_key_option = click.option(
    "--tls-key", metavar="FILE", help="The certificate's private key (PEM, unencrypted)."
)


class _Registered(click.Choice):
    """A choice among the names the registry holds when the command runs, not at import:
    a scheduler registered after ``hpo.cli`` is imported is a choice (and in ``--help``)."""

    def __init__(self, names: Callable[[], list[str]]) -> None:
        self._names = names
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ sets it; the registry holds it
        pass


class _LazyHelp(click.Option):
    """An option whose help text is written when it is shown (it lists the registry's methods)."""

    def __init__(self, *args: Any, help_from: Callable[[], str], **kwargs: Any) -> None:
        self._help_from = help_from
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def help(self) -> str:
        return self._help_from()

    @help.setter
    def help(self, value: Any) -> None:
        pass


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


class _MinResources(click.ParamType):
    """An integer >= 1, or one of scikit-learn's rules: smallest, exhaust."""

    name = "INTEGER|smallest|exhaust"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if value in ("smallest", "exhaust") or isinstance(value, int):
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not an integer >= 1, smallest or exhaust", param, ctx)
        return number


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hpo")
def cli() -> None:
    """Hyperparameter search with successive halving, HyperBand and ASHA on Ray."""


# -- the settings' options: one declaration each, their defaults read from SearchSettings ------

#: Settings with a fixed set of values: their options are choices of them (the registry's
#: names as it holds them when the command runs).
_CHOICES: dict[str, Callable[[], click.ParamType]] = {
    "scheduler": lambda: _Registered(registry.scheduler_names),
    "sampler": lambda: _Registered(registry.sampler_names),
    "resource": lambda: click.Choice(RESOURCES),
    "mode": lambda: click.Choice(MODES),
    "task": lambda: click.Choice(TASKS),
    "executor": lambda: click.Choice(EXECUTORS),
}


def setting_option(name: str, *decls: str, help: str = "", **kwargs: Any) -> Callable[[Any], Any]:
    """The option of the setting ``name`` (``--max-epochs`` for ``max_epochs``): its help ends
    with the setting's default read from :class:`SearchSettings`, its type is the setting's
    choices when it has a fixed set. Click passes None when it is not given, so only the
    options given override a value in the YAML file (the default is shown, never supplied)."""
    if name in _CHOICES:
        kwargs.setdefault("type", _CHOICES[name]())
    shown = f"[default: {shown_default(name)}]"
    return click.option(*(decls or (f"--{name.replace('_', '-')}",)), name,
                        help=f"{help} {shown}" if help else shown, **kwargs)  # fmt: skip


#: The options of ``hpo run``'s settings, in the order ``--help`` lists them; ``hpo submit``
#: takes the same ones, less those that only a local search reads (``_SUBMIT_SETTINGS``).
_SETTING_OPTIONS = {
    "scheduler": setting_option("scheduler", help="The algorithm."),
    "sampler": setting_option("sampler", help="How new configurations are chosen."),
    "max_epochs": setting_option(
        "max_epochs",
        type=click.IntRange(min=1),
        help="R: the most epochs any trial gets; the last rung.",
    ),
    "min_epochs": setting_option(
        "min_epochs",
        type=click.IntRange(min=1),
        help="r: epochs before a trial's first judgement. asha, pasha, sh (eta form), random "
        "and grid: the first rung, rungs r, r*eta, r*eta^2, ... and R (r=2, R=81, eta=3: 2, 6, "
        "18, 54, 81); hyperband: the paper's brackets R*eta^-s, s <= log_eta(R/r), so its "
        "first rung is r only when R is r times a power of eta.",
    ),
    "eta": setting_option(
        "eta",
        type=click.IntRange(min=2),
        help="Keep the top 1/eta at each rung (scikit-learn's factor).",
    ),
    "budget": setting_option(
        "budget",
        type=click.IntRange(min=1),
        help="Total epochs (sh: the report's form; asha, random).",
    ),
    "n_configs": setting_option(
        "n_configs",
        type=click.IntRange(min=1),
        help="Configurations to start (sh, asha, random). sh: eta^k for its k+1 rungs; with "
        "samples, scikit-learn's: the grid, or max-resources // min-resources.",
    ),
    "stop_only": setting_option(
        "stop_only",
        is_flag=True,
        default=None,
        help="asha: continue the top 1/eta at each rung at once and stop the rest, never "
        "pausing a trial (a train function that keeps no state needs this, or random).",
    ),
    "resource": setting_option(
        "resource",
        help="What rungs hand out: epochs, or training samples (each rung refits on more, as "
        "scikit-learn's halving).",
    ),
    "max_resources": setting_option(
        "max_resources",
        type=click.IntRange(min=1),
        help="samples: the most a trial gets (scikit-learn's max_resources).",
    ),
    "min_resources": setting_option(
        "min_resources",
        type=_MinResources(),
        help="samples: the first rung (scikit-learn's min_resources): an integer, smallest (2 "
        "per fold and class) or exhaust (sh: the largest first rung whose last rung fits in "
        "--max-resources). sh then runs scikit-learn's halving schedule exactly: the top "
        "ceil(n/eta) go on to eta times the samples, fewer rungs when candidates are few.",
    ),
    "iterations": setting_option(
        "iterations",
        type=click.IntRange(min=1),
        help="Run the brackets this many times (hyperband, sh).",
    ),
    "workers": setting_option("workers", type=click.IntRange(min=1), help="Parallel workers."),
    "seed": setting_option("seed", type=int, help="The study's seed."),
    "metric": setting_option("metric", help="The metric to optimise, as the trainer reports it."),
    "mode": setting_option("mode", help="Maximise or minimise it."),
    "dataset": setting_option(
        "dataset", help="Bundled name (digits, breast_cancer, wine, iris) or CSV/Parquet file."
    ),
    "target": setting_option("target", help="Label column of a dataset file."),
    "task": setting_option("task", help="What the target is (auto: from the target column)."),
    "preprocess": setting_option(
        "preprocess",
        "--preprocess/--no-preprocess",
        default=None,
        help="One-hot encode categorical columns and impute missing values, fitted on the "
        "training part.",
    ),
    "trainer": setting_option(
        "trainer",
        help="module:Class following the trainer contract, or module:function(config, trial).",
    ),
    "executor": setting_option("executor", help="Where trials train."),
    "ray_address": setting_option(
        "ray_address", help="Join this Ray cluster (e.g. auto) instead of starting local Ray."
    ),
    "working_dir": setting_option(
        "working_dir",
        type=click.Path(exists=True, file_okay=False),
        help="With --ray-address: the folder shipped to every node (Ray's runtime_env).",
    ),
    "wait_for_workers": setting_option(
        "wait_for_workers",
        type=click.FloatRange(min=0, max=86_400),
        help="Seconds to wait for --workers free CPUs on the cluster before starting with "
        "fewer (0: start with what is free).",
    ),
    "gpus_per_trial": setting_option(
        "gpus_per_trial",
        type=click.FloatRange(min=0),
        help="GPUs (or a fraction) each Ray worker reserves (0: CPUs only).",
    ),
    "trial_timeout": setting_option(
        "trial_timeout",
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds an assignment may take; past them the trial fails.",
    ),
    "max_failures": setting_option(
        "max_failures",
        type=click.IntRange(min=0),
        help="Retries of an assignment whose worker died.",
    ),
}

#: ``hpo submit``'s settings: the server runs the search, so those read only where the search
#: starts (the resource, Ray's code and free CPUs) are not among them, and some mean the server.
_SUBMIT_SETTINGS = [n for n in _SETTING_OPTIONS if n not in ("stop_only", "resource", "max_resources",
                    "min_resources", "working_dir", "wait_for_workers")]  # fmt: skip
_ON_THE_SERVER = {
    "workers": setting_option(
        "workers", type=click.IntRange(min=1), help="The server's workers for it."
    ),
    "dataset": setting_option("dataset", help="Dataset name, or a file on the server."),
    "trainer": setting_option("trainer", help="module:Class importable on the server."),
    "ray_address": setting_option("ray_address", help="A Ray cluster the server joins for it."),
}


def _setting_options(names: list[str], replaced: dict[str, Any] | None = None) -> Callable[[Any], Any]:  # fmt: skip
    """Apply the options of these settings (``replaced`` ones instead of the shared ones)."""
    chosen = [{**_SETTING_OPTIONS, **(replaced or {})}[n] for n in names]

    def apply(f: Any) -> Any:
        for option in reversed(chosen):  # click lists options in the order they are applied
            f = option(f)
        return f

    return apply


study_option = click.option("--study", "study_name", help="Study name. [default: SPACE-SCHEDULER-TIME]")  # fmt: skip


# -- run and resume -------------------------------------------------------------------------------


@cli.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@study_option
@_setting_options(list(_SETTING_OPTIONS))
@click.option("--dry-run", is_flag=True, help="Print the plan and exit.")
@storage_option
def run(
    space_file: str, study_name: str | None, dry_run: bool, storage: str, **options: Any
) -> None:
    """Run a search over the space in SPACE.yaml (settings may also live in the file)."""
    from hpo.launch import make_plan, prepare

    settings = SearchSettings.from_file(space_file, options)
    if dry_run:
        if settings.resource == "samples":  # the plan depends on the data's size
            plan = prepare(settings)[2]
        else:
            plan = make_plan(settings, settings.build_scheduler())
        for line in plan.lines():
            click.echo(line)
        return
    if settings.resource == "epochs":
        settings.build_scheduler()
    name = study_name or f"{settings.name}-{settings.scheduler}-{time.strftime('%Y%m%d-%H%M%S')}"
    _run(settings, storage, name, resume=False)


@cli.command()
@click.argument("study")
@storage_option
def resume(study: str, storage: str) -> None:
    """Continue an interrupted or killed search where it stopped."""
    with StudyReader(storage) as r:
        info = r.study(study)
    if info["status"] == "finished":
        raise UsageError(f"study {study!r} is already finished; see `hpo best {study}`")
    settings = SearchSettings.from_dict(info["settings"])
    _run(settings, storage, study, resume=True)


def _run(settings: SearchSettings, storage: str, name: str, *, resume: bool) -> None:
    from hpo.launch import run_study
    from hpo.progress import ProgressBar

    bar = ProgressBar()

    def on_start(plan: Any) -> None:
        click.echo(f"{'resuming' if resume else 'study'} {name!r} in {storage}")
        for line in plan.lines():
            click.echo(line)
        bar.start(plan.budget)

    try:
        outcome = run_study(
            settings, storage, name, resume=resume, on_start=on_start, on_progress=bar.update
        )
    except KeyboardInterrupt:
        bar.close()
        click.echo(
            f"\ninterrupted: everything recorded is kept; continue with `hpo resume {name}`",
            err=True,
        )
        sys.exit(130)
    bar.close()
    _summary(outcome, storage)


def _summary(outcome: Any, storage: str) -> None:
    s, plan, name = outcome.scheduler, outcome.plan, outcome.name
    u = plan.unit
    storage_flag = "" if Path(storage) == DEFAULT_STORAGE else f" --storage {storage}"
    click.echo(
        f"finished in {outcome.seconds:.1f} s on {outcome.workers} worker(s), start-up included"
    )
    if s.best_trial is None:
        click.echo("no trial produced a finite value")
        return
    best = s.trials[s.best_trial]
    bracket = (
        s.planned_brackets()[best.bracket].s
        if best.bracket < len(s.planned_brackets())
        else best.bracket
    )
    click.echo(f"best {outcome.metric} {s.best_value:.4f}: trial {best.trial_id} "
               f"(bracket s={bracket}, {best.epochs} {u})")  # fmt: skip
    for key, value in best.config.items():
        click.echo(f"  {key}: {json.dumps(value, default=list)}")
    full = len(s.trials) * s.max_epochs
    click.echo(
        f"{u} spent: {s.epochs_spent}; random search over the same {len(s.trials)} configurations "
        f"at {s.max_epochs} {u}: {full} ({full / max(s.epochs_spent, 1):.1f}x more)"
    )
    if plan.grid_size is not None:
        grid = plan.grid_size * s.max_epochs
        click.echo(
            f"the full grid at {s.max_epochs} {u}: {grid} ({grid / max(s.epochs_spent, 1):.1f}x more)"
        )
    click.echo(f"next: hpo status {name}{storage_flag} | hpo best {name}{storage_flag} | "
               f"hpo export {name} -o {name}.csv{storage_flag}")  # fmt: skip


# -- inspecting studies -----------------------------------------------------------------------


class _Source:
    """Where ``list``, ``status``, ``best`` and ``export`` read: the database, or a server."""

    def __init__(
        self, storage: str, server: str | None, token: str | None, ca: str | None = None
    ) -> None:
        self.storage, self.server, self.token, self.ca = storage, server, token, ca

    def _client(self) -> Any:
        return _connect(self.server, token=self.token, ca=self.ca, retry_for=3.0)

    def studies(self) -> Any:
        import pandas as pd

        if self.server:
            with self._client() as client:
                return pd.DataFrame.from_records(client.studies())
        with StudyReader(self.storage) as r:
            return r.studies()

    def nodes(self, name: str) -> Any:
        """Per-node counts (workers, trials, epochs), from the database only (None via a server)."""
        if self.server:
            return None
        with StudyReader(self.storage) as r:
            return r.nodes(name)

    def study_and_trials(self, name: str) -> tuple[dict[str, Any], Any]:
        import pandas as pd

        if self.server:
            with self._client() as client:
                study = client.study(name)
                info, rows = study.info(), study.trials_table()
            columns = ["trial_id", "status", "bracket", "rung", "epochs", "best_value",
                       "last_value", "reason", "seed", "config"]  # fmt: skip
            return info, pd.DataFrame.from_records(rows, columns=columns)
        with StudyReader(self.storage) as r:
            return r.study(name), r.trials(name)

    def best(self, name: str) -> dict[str, Any]:
        if self.server:
            with self._client() as client:
                return client.study(name).best()
        with StudyReader(self.storage) as r:
            return r.best(name)

    def export(self, name: str, output: Path) -> tuple[int, int]:
        """Write the study's epochs to ``output`` (CSV or Parquet); returns the rows."""
        import pandas as pd

        fmt = output.suffix.lower().lstrip(".")
        output.parent.mkdir(parents=True, exist_ok=True)
        if self.server:
            with self._client() as client:
                output.write_bytes(client.study(name).export(fmt))
            frame = pd.read_csv(output) if fmt == "csv" else pd.read_parquet(output)
            return len(frame), frame["trial_id"].nunique() if len(frame) else 0
        with StudyReader(self.storage) as r:
            frame = r.export_frame(name)
        frame.to_csv(output, index=False) if fmt == "csv" else frame.to_parquet(output, index=False)
        return len(frame), frame["trial_id"].nunique() if len(frame) else 0


@cli.command("list")
@storage_option
@server_option
@token_option
@ca_option
def list_studies(storage: str, server: str | None, token: str | None, ca: str | None) -> None:
    """List the studies in the database."""
    frame = _Source(storage, server, token, ca).studies()
    if frame.empty:
        click.echo(f"no studies in {server or storage}")
        return
    frame["created"] = frame.pop("created_at").map(
        lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t))
    )
    frame = frame.drop(columns=["updated_at"])
    click.echo(frame.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4f}"))


@cli.command()
@click.argument("study")
@click.option("--sort", default="best_value", show_default=True, help="Column to sort by.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@storage_option
@server_option
@token_option
@ca_option
def status(study: str, sort: str, limit: int, storage: str, server: str | None,
           token: str | None, ca: str | None) -> None:  # fmt: skip
    """Show a study's progress and a table of its trials."""
    info, trials = _Source(storage, server, token, ca).study_and_trials(study)
    click.echo(
        f"{study}: {info['status']}, {info['scheduler']}, {len(trials)} trials, "
        f"{info['epochs_spent']} of {info['planned_budget']} planned epochs"
    )
    if info.get("error"):
        click.echo(f"  error: {info['error']}")
    if trials.empty:
        return
    counts = trials["status"].value_counts()
    click.echo("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    nodes = _Source(storage, server, token).nodes(study)
    if nodes is not None and len(nodes) and not (len(nodes) == 1 and nodes["node"][0] == "local"):
        click.echo(
            "  by node: "
            + "; ".join(
                f"{r.node} {_plural(r.workers, 'worker')}, {_plural(r.trials, 'trial')}, "
                f"{_plural(r.epochs, 'epoch')}"
                for r in nodes.itertuples()
            )
        )
    if sort not in trials.columns:
        raise UsageError(
            f"--sort {sort!r} is not a column; expected one of {', '.join(trials.columns)}"
        )
    ascending = sort != "best_value" or info["mode"] == "min"
    table = trials.sort_values(sort, ascending=ascending, na_position="last").head(limit)
    table = table.assign(config=table["config"].map(lambda c: json.dumps(c, separators=(",", ":"))))
    cols = ["trial_id", "status", "bracket", "rung", "epochs", "best_value", "last_value", "config"]
    click.echo(
        table[cols].to_string(
            index=False, na_rep="-", float_format=lambda v: f"{v:.4f}", max_colwidth=70
        )
    )


@cli.command()
@click.argument("study")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@storage_option
@server_option
@token_option
@ca_option
def best(study: str, as_json: bool, storage: str, server: str | None, token: str | None,
         ca: str | None) -> None:  # fmt: skip
    """Print the best trial of a study: its value, epochs and configuration."""
    result = _Source(storage, server, token, ca).best(study)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"best {result['metric']} {result['value']:.4f}: trial {result['trial_id']} "
               f"({result['epochs']} epochs, {result['status']})")  # fmt: skip
    for key, value in result["config"].items():
        click.echo(f"  {key}: {json.dumps(value)}")


@cli.command()
@click.argument("study")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="FILE.csv or FILE.parquet.")  # fmt: skip
@storage_option
@server_option
@token_option
@ca_option
def export(study: str, output: Path, storage: str, server: str | None, token: str | None,
           ca: str | None) -> None:  # fmt: skip
    """Export every epoch of a study, with its trial's configuration, to CSV or Parquet."""
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"-o {output}: expected a .csv or .parquet file name")
    rows, trials = _Source(storage, server, token, ca).export(study, output)
    click.echo(f"wrote {rows} epochs of {trials} trials to {output}")


# -- dashboards and reports ------------------------------------------------------------------


@cli.command()
@click.argument("study", required=False)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="0: any free port.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; any but loopback needs the token (made once, kept beside the database).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    help="Write one offline HTML file instead of serving.",
)
@tls_cert_option
@tls_key_option
@storage_option
def dashboard(study: str | None, port: int, host: str, html_file: str | None, tls_cert: str | None,
              tls_key: str | None, storage: str) -> None:  # fmt: skip
    """Serve a live dashboard of STUDY (or of every study), read-only, or export it as HTML."""
    from hpo.dashboard import DashboardData, study_url, write_html
    from hpo.service import create_app

    if html_file:
        if not study:
            raise UsageError("--html needs a STUDY to export")
        path = write_html(storage, study, html_file)
        click.echo(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB, works offline)")
        return
    if study is not None:
        DashboardData(storage).study(study)  # an unknown study is an error now, not a 404 later
    tls = _server_tls(tls_cert, tls_key)
    token = _server_token(host, storage, required=None)
    _warn_clear_token(host, token, tls)
    app = create_app(storage, token=token, readonly=True)
    path = study_url(study) if study else "/"
    _serve(
        app, host, port, f"dashboard of {study or 'every study'} at {{url}}{path} (Ctrl-C to stop)",
        tls=tls,
    )  # fmt: skip
    click.echo("dashboard stopped")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; any but loopback needs the token.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0: any free port.")  # fmt: skip
@click.option("--auth/--no-auth", default=None,
              help="Require the bearer token. [default: only off loopback]")  # fmt: skip
@click.option("--max-checkpoint-mb", type=click.FloatRange(min=0, min_open=True), default=64.0,
              show_default=True, help="The largest checkpoint a client may upload.")  # fmt: skip
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", show_default=True)  # fmt: skip
@tls_cert_option
@tls_key_option
@storage_option
def serve(host: str, port: int, auth: bool | None, max_checkpoint_mb: float, log_level: str,
          tls_cert: str | None, tls_key: str | None, storage: str) -> None:  # fmt: skip
    """Serve the search as a service: the API for clients and workers, and the dashboard."""
    from hpo.service import create_app

    tls = _server_tls(tls_cert, tls_key)
    token = _server_token(host, storage, required=auth)
    _warn_clear_token(host, token, tls)
    app = create_app(storage, token=token, max_checkpoint_bytes=int(max_checkpoint_mb * 2**20))
    _serve(app, host, port, f"hpo service at {{url}} (API: {{url}}/docs, dashboard: {{url}}/), "
           f"studies in {storage}; Ctrl-C to stop", log_level=log_level, tls=tls)  # fmt: skip
    click.echo("server stopped")


def _server_token(host: str, storage: str, *, required: bool | None) -> str | None:
    """The token a server on ``host`` requires (None on loopback unless asked for)."""
    from hpo.service import is_loopback, load_or_create_token, token_path

    if required is False and not is_loopback(host):
        raise UsageError(f"--host {host} is reachable from other machines; it needs the token "
                         "(drop --no-auth)")  # fmt: skip
    if not required and is_loopback(host):
        return None
    token, created = load_or_create_token(storage)
    if created:
        click.echo(f"token (shown once; kept in {token_path(storage)}, mode 0600): {token}")
    else:
        click.echo(f"token: in {token_path(storage)} (clients: --token or HPO_TOKEN)")
    return token


def _server_tls(cert: str | None, key: str | None) -> Any:
    """The server's certificate and key (a ``TLSFiles``), None for plain HTTP; checked now."""
    from hpo.service import TLSFiles

    try:
        return TLSFiles.from_options(cert, key, names=("--tls-cert", "--tls-key"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _warn_clear_token(host: str, token: str | None, tls: Any) -> None:
    """One line when a token would cross the network in clear (off loopback, no TLS)."""
    from hpo.service import is_loopback

    if token is not None and tls is None and not is_loopback(host):
        click.echo(f"warning: --host {host} without --tls-cert/--tls-key: the token crosses the "
                   "network in clear (anyone on the path can read it and use it)", err=True)  # fmt: skip


def _serve(app: Any, host: str, port: int, banner: str, log_level: str = "warning",
           tls: Any = None) -> None:  # fmt: skip
    from hpo.service._server import bind, serve, url_of

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(banner.format(url=url_of(sock, tls=tls is not None)))
    try:
        serve(app, sock, log_level=log_level, tls=tls)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


@cli.command()
@click.argument("url")
@click.option("--study", "study_name", required=True, help="The study to work for.")
@click.option("--trainer", default="trainers.mlp:MLPTrainer", show_default=True,
              help="module:Class following the trainer contract, or module:function(config, trial).")  # fmt: skip
@click.option("--dataset", default="digits", show_default=True,
              help="Bundled name or CSV/Parquet file, if the trainer takes one ('' for none).")  # fmt: skip
@click.option("--target", help="Label column of a dataset file.")
@click.option("--trainer-options", default="{}", help="The trainer's options as JSON, e.g. "
              '\'{"estimator": "sklearn.svm:SVC"}\'.')  # fmt: skip
@click.option("--client-id", help="This worker's name. [default: HOST-PID-RANDOM]")
@click.option("--max-trials", type=click.IntRange(min=1), help="Stop after this many assignments.")
@click.option("--wait", type=click.FloatRange(min=0, max=60), default=10.0, show_default=True,
              help="Seconds the server may hold an ask for work while nothing can start.")  # fmt: skip
@token_option
@ca_option
def worker(url: str, study_name: str, trainer: str, dataset: str, target: str | None,
           trainer_options: str, client_id: str | None, max_trials: int | None, wait: float,
           token: str | None, ca: str | None) -> None:  # fmt: skip
    """Train trials of a served study with a trainer class, until the study is finished."""
    from hpo.client import default_client_id
    from hpo.trainer_spec import TrainerSpec
    from hpo.worker import run_worker

    try:
        options = json.loads(trainer_options)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--trainer-options is not valid JSON: {exc}") from None
    if not isinstance(options, dict):
        raise UsageError("--trainer-options must be a JSON object")
    client_id = client_id or default_client_id()
    with _connect(url, token=token, ca=ca) as client:
        study = client.study(study_name)
        info = study.info()  # an unknown study or a wrong token: one line now
        spec = TrainerSpec(trainer, dataset or None, target, options,
                           resource=info.get("resource", "epochs"))  # fmt: skip
        loaded = spec.load_class()
        function = None if isinstance(loaded, type) else loaded
        if function is not None:  # one that keeps no state: refused now if the study pauses
            from hpo.function_trial import ContractError

            try:
                note = study.check_function(function, trainer)
            except ContractError as exc:
                raise UsageError(str(exc)) from None
            if note is not None:
                click.echo(f"trainer: {note}")
        try:
            data = spec.load_dataset()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{trainer}: {exc}") from None
        click.echo(f"worker {client_id} on study {study_name!r} at {url}")
        n = run_worker(study, lambda: spec.build(data), function=function, client_id=client_id,
                       max_trials=max_trials, wait=wait,
                       on_assignment=lambda line: click.echo(f"  {line}"))  # fmt: skip
    click.echo(f"worker {client_id}: {n} assignments; the study is finished" if max_trials is None
               or n < max_trials else f"worker {client_id}: {n} assignments (--max-trials)")  # fmt: skip


@cli.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@click.option("--server", required=True, metavar="URL", help="The hpo server to run it.")
@token_option
@ca_option
@study_option
@_setting_options(_SUBMIT_SETTINGS, _ON_THE_SERVER)
def submit(space_file: str, server: str, token: str | None, ca: str | None,
           study_name: str | None, **options: Any) -> None:  # fmt: skip
    """Hand a search to a server (hpo serve), which runs it on its own workers."""
    settings = SearchSettings.from_file(space_file, options)
    settings.build_scheduler()  # a plan that cannot run is refused here, not on the server
    name = study_name or f"{settings.name}-{settings.scheduler}-{time.strftime('%Y%m%d-%H%M%S')}"
    values = settings.to_dict()
    space = values.pop("space")
    values.pop("name")
    with _connect(server, token=token, ca=ca, retry_for=3.0) as client:
        info = client.create_study(name, space, managed=True, **values).info()
    click.echo(f"submitted {name!r} to {server}: {info['status']}, {info['scheduler']}")
    for line in info["plan"]:
        click.echo(line)
    click.echo(f"watch: {server.rstrip('/')}/studies/{name} | hpo status {name} --server {server}")


@cli.command()
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


@cli.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Seeds 0 … N-1 for every method.",
)
@click.option(
    "--methods", cls=_LazyHelp, default="all", show_default=True, help_from=_compare_methods_help
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

    known = registry.compare_methods()
    chosen = (
        tuple(registry.compare_methods(default=True))
        if methods == "all"
        else tuple(m.strip() for m in methods.split(","))
    )
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise UsageError(
            f"--methods {unknown[0]!r} is unknown; expected some of {', '.join(known)}"
        )
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


# -- the simulator and single training runs -----------------------------------------------------


@cli.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option(
    "--scheduler",
    type=_Registered(registry.scheduler_names),
    default=registry.DEFAULT_SCHEDULER,
    show_default=True,
)
@click.option(
    "--sampler",
    type=_Registered(registry.open_ended_samplers),
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
@click.option("--mode", type=click.Choice(["max", "min"]), default="max", show_default=True)
@click.option("--replace", is_flag=True, help="Draw the table's rows with replacement.")
@click.option("--params", help="Hyperparameter columns, when not named config.<name> (a,b,c).")
@click.option("--resource", "resource_column", default="epoch", show_default=True,
              help="The column of epochs (or of another resource, such as a training size).")  # fmt: skip
@click.option("--space", "space_file", type=click.Path(dir_okay=False),
              help="The space the table was recorded from (log scales for model-based samplers).")  # fmt: skip
@click.option("--methods", cls=_LazyHelp, help_from=_table_methods_help)
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

    try:
        worker_counts = [int(w) for w in workers.split(",")]
        if min(worker_counts) < 1:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"--workers {workers!r}: expected positive integers such as 4 or 1,16,64"
        ) from None
    space = None
    if space_file:
        space = SearchSettings.from_file(space_file).build_space()
    try:
        curves = Curves.read(
            table, params=params.split(",") if params else None, resource=resource_column
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if methods is None:
        if len(worker_counts) > 1:
            raise UsageError("several --workers need --methods (a comparison)")
        try:
            result = simulate_table(curves, workers=worker_counts[0], seed=seed, metric=metric, mode=mode,
                                    replace=replace, space=space, **options)  # fmt: skip
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        for line in result.lines():
            click.echo(line)
        return
    _compare_on_table(curves, methods, seeds, worker_counts, metric, mode, replace, space,
                      options, table, json_file, html_file)  # fmt: skip


def _compare_on_table(curves: Any, methods: str, seeds: int, workers: list[int], metric: str, mode: str,
                      replace: bool, space: Any, options: dict[str, Any], table: str,
                      json_file: str | None, html_file: str | None) -> None:  # fmt: skip
    from hpo import quality

    known = quality.known_methods()
    chosen = known if methods == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise UsageError(
            f"--methods {unknown[0]!r} is unknown; expected some of {', '.join(known)}"
        )
    try:
        bench = quality.Benchmark(curves, metric=metric, mode=mode, max_epochs=options.get("max_epochs"),
                                  eta=options["eta"], budget=options.get("budget"), replace=replace,
                                  resume_seconds=options["resume_seconds"], space=space,
                                  name=Path(table).stem)  # fmt: skip
        traces = [bench.run(m, s, w) for m in chosen for s in range(seeds) for w in workers]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    summary = quality.summarise(traces, bench.total, workers, mode)
    for line in quality.lines(summary, bench.total, workers):
        click.echo(line)
    if json_file:
        out = {"table": table, "metric": metric, "mode": mode, "budget": bench.total, "seeds": seeds,
               "workers": workers, "cases": summary["cases"]}  # fmt: skip
        Path(json_file).write_text(json.dumps(out, indent=2))
        click.echo(f"wrote {json_file}")
    if html_file:
        quality.write_html(summary, bench.total, workers, html_file, metric=metric,
                           title=f"{Path(table).stem}: median best {metric} over {seeds} seeds")  # fmt: skip
        click.echo(f"wrote {html_file}")


@cli.command()
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
        config = json.loads(config_json)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--config is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise UsageError("--config must be a JSON object of hyperparameters")
    try:
        trainer = MLPTrainer(dataset, target, dtype=dtype)
        trainer.setup(config, seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"{'epoch':>5} {'train_loss':>10} {'val_loss':>9} {'val_accuracy':>12}")
    for epoch in range(1, epochs + 1):
        m = trainer.step()
        click.echo(
            f"{epoch:>5} {m['train_loss']:>10.4f} {m['val_loss']:>9.4f} {m['val_accuracy']:>12.4f}"
        )
    acc = float((trainer.predict(trainer.data.X_test) == trainer.data.y_test).mean())
    click.echo(f"test accuracy after {epochs} epochs: {acc:.4f}")


# -- the entry point -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input becomes one line on stderr and exit code 2."""
    try:
        result = cli.main(args=argv, prog_name="hpo", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:  # bare `hpo`: the help, as for --help
        click.echo(cli.get_help(click.Context(cli, info_name="hpo")))
        return 0
    except click.UsageError as exc:
        click.echo(f"hpo: {_one_line(exc.format_message())}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"hpo: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("hpo: aborted", err=True)
        return 130
    except USER_ERRORS as exc:
        click.echo(f"hpo: {_one_line(str(exc))}", err=True)
        return 2
    except _client_error() as exc:  # the server refused, or could not be reached
        click.echo(f"hpo: {_one_line(exc.message)}", err=True)
        return 2 if exc.status else 1
    except KeyboardInterrupt:
        click.echo("hpo: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


def _connect(url: str, **kwargs: Any) -> Any:
    """A client of the server at ``url``; a bad ``--ca`` is one line (UsageError)."""
    from hpo.client import connect

    try:
        return connect(url, **kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _client_error() -> type[Exception]:
    from hpo.client import ClientError

    return ClientError


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
