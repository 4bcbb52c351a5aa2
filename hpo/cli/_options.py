"""The options of the ``hpo`` commands, each declared once.

A setting's option (``--max-epochs`` for ``max_epochs``) is built from the setting's own
declaration, :class:`~hpo.settings.SearchSettings`: its name, its choices when it has a fixed
set, and the default its help shows (read from the dataclass, never supplied by click, so a
YAML file's value stands). ``hpo run`` takes every setting with an option, ``hpo submit``
the same declarations less the local-only ones, ``hpo compare`` a few; ``hpo.search`` takes
the same settings as keywords (:mod:`hpo.api`). The options that are not settings (where the
studies are, how to reach a server) are here too, shared by the commands that take them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from hpo import registry
from hpo.settings import EXECUTORS, MIN_RESOURCES_RULES, MODES, RESOURCES, TASKS, shown_default
from hpo.store import DEFAULT_STORAGE

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


class Registered(click.Choice):
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


class LazyHelp(click.Option):
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


class _MinResources(click.ParamType):
    """An integer >= 1, or one of scikit-learn's rules: smallest, exhaust."""

    name = "|".join(("INTEGER", *MIN_RESOURCES_RULES))

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if value in MIN_RESOURCES_RULES or isinstance(value, int):
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            rules = " or ".join(MIN_RESOURCES_RULES)
            self.fail(f"{value!r} is not an integer >= 1, {rules}", param, ctx)
        return number


# -- the settings' options: one declaration each, their defaults read from SearchSettings ------

#: Settings with a fixed set of values: their options are choices of them (the registry's
#: names as it holds them when the command runs).
_CHOICES: dict[str, Callable[[], click.ParamType]] = {
    "scheduler": lambda: Registered(registry.scheduler_names),
    "sampler": lambda: Registered(registry.sampler_names),
    "resource": lambda: click.Choice(RESOURCES),
    "mode": lambda: click.Choice(MODES),
    "task": lambda: click.Choice(TASKS),
    "executor": lambda: click.Choice(EXECUTORS),
}


def flag_of(name: str) -> str:
    """The flag of setting ``name``: ``--max-epochs`` for ``max_epochs``."""
    return f"--{name.replace('_', '-')}"


def setting_option(name: str, *decls: str, help: str = "", **kwargs: Any) -> Callable[[Any], Any]:
    """The option of the setting ``name`` (``--max-epochs`` for ``max_epochs``): its help ends
    with the setting's default read from :class:`SearchSettings`, its type is the setting's
    choices when it has a fixed set. Click passes None when it is not given, so only the
    options given override a value in the YAML file (the default is shown, never supplied)."""
    if name in _CHOICES:
        kwargs.setdefault("type", _CHOICES[name]())
    shown = f"[default: {shown_default(name)}]"
    return click.option(*(decls or (flag_of(name),)), name,
                        help=f"{help} {shown}" if help else shown, **kwargs)  # fmt: skip


#: The options of ``hpo run``'s settings, in the order ``--help`` lists them; ``hpo submit``
#: takes the same ones, less those that only a local search reads (``SUBMIT_SETTINGS``).
SETTING_OPTIONS = {
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
SUBMIT_SETTINGS = [n for n in SETTING_OPTIONS if n not in ("stop_only", "resource", "max_resources",
                    "min_resources", "working_dir", "wait_for_workers")]  # fmt: skip
ON_THE_SERVER = {
    "workers": setting_option(
        "workers", type=click.IntRange(min=1), help="The server's workers for it."
    ),
    "dataset": setting_option("dataset", help="Dataset name, or a file on the server."),
    "trainer": setting_option("trainer", help="module:Class importable on the server."),
    "ray_address": setting_option("ray_address", help="A Ray cluster the server joins for it."),
}


def setting_options(names: list[str], replaced: dict[str, Any] | None = None) -> Callable[[Any], Any]:  # fmt: skip
    """Apply the options of these settings (``replaced`` ones instead of the shared ones)."""
    chosen = [{**SETTING_OPTIONS, **(replaced or {})}[n] for n in names]

    def apply(f: Any) -> Any:
        for option in reversed(chosen):  # click lists options in the order they are applied
            f = option(f)
        return f

    return apply


study_option = click.option("--study", "study_name", help="Study name. [default: SPACE-SCHEDULER-TIME]")  # fmt: skip


def has_option(name: str) -> bool:
    """Whether setting ``name`` has an option (``hpo run``'s); others live only in the file."""
    return name in SETTING_OPTIONS


def json_object(text: str, flag: str, what: str = "a JSON object") -> dict[str, Any]:
    """The JSON object option ``flag`` was given as ``text``; anything else is a UsageError."""
    from hpo.cli._errors import UsageError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be {what}")
    return value


def reading_options(f: Any) -> Any:
    """Where ``list``, ``status``, ``best`` and ``export`` read: ``--storage``, or ``--server``
    with its ``--token`` and ``--ca``."""
    for option in (ca_option, token_option, server_option, storage_option):
        f = option(f)
    return f
