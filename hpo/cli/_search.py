"""Searching: ``hpo run`` and ``hpo resume`` (a search here), ``hpo submit`` (a search a
server runs) and ``hpo worker`` (training a served study's trials here).

Each parses its options, calls the library (:mod:`hpo.launch`, :mod:`hpo.client`,
:mod:`hpo.worker`) and prints what it returns: the plan, a progress bar, the summary.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hpo.cli._errors import UsageError, connect, refused
from hpo.cli._options import (
    ON_THE_SERVER,
    SETTING_OPTIONS,
    SUBMIT_SETTINGS,
    ca_option,
    json_object,
    setting_options,
    storage_option,
    study_option,
    token_option,
)
from hpo.settings import SearchSettings
from hpo.store import DEFAULT_STORAGE, StudyReader

if TYPE_CHECKING:
    from hpo.client import Study
    from hpo.trainer_spec import TrainerSpec


@click.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@study_option
@setting_options(list(SETTING_OPTIONS))
@click.option("--dry-run", is_flag=True, help="Print the plan and exit.")
@storage_option
def run(
    space_file: str, study_name: str | None, dry_run: bool, storage: str, **options: Any
) -> None:
    """Run a search over the space in SPACE.yaml (settings may also live in the file)."""
    from hpo.launch import default_study_name, make_plan, prepare

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
    _run(settings, storage, study_name or default_study_name(settings), resume=False)


@click.command()
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
    """Run (or resume) the search, printing its plan, a progress bar and its summary."""
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
    for line in outcome.lines():
        click.echo(line)
    if outcome.scheduler.best_trial is not None:
        flag = "" if Path(storage) == DEFAULT_STORAGE else f" --storage {storage}"
        click.echo(f"next: hpo status {name}{flag} | hpo best {name}{flag} | "
                   f"hpo export {name} -o {name}.csv{flag}")  # fmt: skip


@click.command()
@click.argument("space_file", metavar="SPACE.yaml", type=click.Path(dir_okay=False))
@click.option("--server", required=True, metavar="URL", help="The hpo server to run it.")
@token_option
@ca_option
@study_option
@setting_options(SUBMIT_SETTINGS, ON_THE_SERVER)
def submit(space_file: str, server: str, token: str | None, ca: str | None,
           study_name: str | None, **options: Any) -> None:  # fmt: skip
    """Hand a search to a server (hpo serve), which runs it on its own workers."""
    from hpo.launch import default_study_name

    settings = SearchSettings.from_file(space_file, options)
    settings.build_scheduler()  # a plan that cannot run is refused here, not on the server
    name = study_name or default_study_name(settings)
    values = settings.to_dict()
    space = values.pop("space")
    values.pop("name")
    with connect(server, token=token, ca=ca, retry_for=3.0) as client:
        info = client.create_study(name, space, managed=True, **values).info()
    click.echo(f"submitted {name!r} to {server}: {info['status']}, {info['scheduler']}")
    for line in info["plan"]:
        click.echo(line)
    click.echo(f"watch: {server.rstrip('/')}/studies/{name} | hpo status {name} --server {server}")


@click.command()
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

    options = json_object(trainer_options, "--trainer-options")
    client_id = client_id or default_client_id()
    with connect(url, token=token, ca=ca) as client:
        study = client.study(study_name)
        info = study.info()  # an unknown study or a wrong token: one line now
        spec = TrainerSpec(trainer, dataset or None, target, options,
                           resource=info.get("resource", "epochs"))  # fmt: skip
        function, data = _load_trainer(study, spec)
        click.echo(f"worker {client_id} on study {study_name!r} at {url}")
        n = run_worker(study, lambda: spec.build(data), function=function, client_id=client_id,
                       max_trials=max_trials, wait=wait,
                       on_assignment=lambda line: click.echo(f"  {line}"))  # fmt: skip
    click.echo(f"worker {client_id}: {n} assignments; the study is finished" if max_trials is None
               or n < max_trials else f"worker {client_id}: {n} assignments (--max-trials)")  # fmt: skip


def _load_trainer(study: Study, spec: TrainerSpec) -> tuple[Any, Any]:
    """The trainer's ``train(config, trial)`` function (None for a class) and its data;
    a function that keeps no state is refused now if the study pauses trials."""
    loaded = spec.load_class()
    function = None if isinstance(loaded, type) else loaded
    if function is not None:
        from hpo.function_trial import ContractError

        with refused(ContractError):
            note = study.check_function(function, spec.path)
        if note is not None:
            click.echo(f"trainer: {note}")
    with refused(ValueError, TypeError, prefix=f"{spec.path}: "):
        return function, spec.load_dataset()


COMMANDS = [run, resume, submit, worker]
