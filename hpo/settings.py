"""The settings of one search, from a YAML file and the command line, in one dataclass.

Everything needed to rebuild a search lives here, so a study stores its settings as
JSON and ``hpo resume`` rebuilds the same space, scheduler and trainer from them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo import registry
from hpo.budgets import exhaust_min_resources
from hpo.samplers import GridSampler
from hpo.schedulers import CurveExtrapolation, MedianStopping, Patience, Scheduler
from hpo.space import SearchSpace, SpaceError, read_yaml
from hpo.trainer_spec import SettingsError, TrainerSpec

EXECUTORS = ("ray", "serial")
MODES = ("max", "min")
RESOURCES = ("epochs", "samples")
TASKS = ("auto", "classification", "regression")
MIN_RESOURCES_RULES = ("smallest", "exhaust")  # scikit-learn's names for min_resources
RULES = {"median": MedianStopping, "patience": Patience, "extrapolation": CurveExtrapolation}


def _meaning(default: Any, means: str) -> Any:
    """A default that stands for something else (None, or 0 workers): ``means`` says what,
    and ``--help`` and the README show it instead of the bare value (:func:`shown_default`)."""
    return field(default=default, metadata={"means": means})


@dataclass
class SearchSettings:
    """One search: what to search, how to schedule it, what to train, where to run."""

    space: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    name: str = "search"
    scheduler: str = registry.DEFAULT_SCHEDULER  # any of registry.scheduler_names()
    sampler: str = registry.DEFAULT_SAMPLER  # any of registry.sampler_names()
    max_epochs: int = 27
    min_epochs: int = 1
    # What a scheduler hands out: epochs, or training samples (scikit-learn's halving:
    # each rung refits on more samples, from min_resources up to max_resources; both
    # default to what the data allows, as scikit-learn's "smallest" and all samples;
    # min_resources may also be "exhaust", scikit-learn's rule for sh).
    resource: str = "epochs"
    max_resources: int | None = _meaning(None, "every sample")
    min_resources: int | str | None = _meaning(None, "smallest")
    eta: int = 3
    budget: int | None = _meaning(None, "none")
    n_configs: int | None = _meaning(None, "the scheduler's")
    iterations: int = 1
    stop_only: bool = False
    stopping: list[dict[str, Any]] = field(default_factory=list)
    workers: int = _meaning(0, "one per CPU")
    seed: int = 0
    metric: str = "val_accuracy"
    mode: str = "max"
    trainer: str = "trainers.mlp:MLPTrainer"
    trainer_options: dict[str, Any] = field(default_factory=dict)
    dataset: str = "digits"
    target: str | None = _meaning(None, "none")
    task: str = "auto"  # classification, regression, or auto (from the target column)
    preprocess: bool = True  # one-hot encode categorical columns, impute missing values
    executor: str = "ray"
    ray_address: str | None = _meaning(None, "local Ray")
    # What travels to a cluster's nodes (hpo.runners._ray.code_env).
    working_dir: str | None = _meaning(None, "the current folder if the trainer's module is in it")
    wait_for_workers: float = 0.0  # seconds to wait for --workers free CPUs (0: start with fewer)
    gpus_per_trial: float = 0.0  # GPUs each Ray worker reserves (PyTorch trainers use them)
    max_failures: int = 2
    trial_timeout: float | None = _meaning(None, "none")
    lease_seconds: float = 60.0  # the service: how long a client may go silent on a trial

    # -- construction and validation -------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str, overrides: dict[str, Any] | None = None) -> SearchSettings:
        """Read a search file; ``overrides`` (from the command line) win over the file."""
        return cls.from_document(read_yaml(path), overrides, source=path, name=Path(path).stem)

    @classmethod
    def from_document(
        cls,
        doc: Any,
        overrides: dict[str, Any] | None = None,
        *,
        source: str = "settings",
        name: str | None = None,
    ) -> SearchSettings:
        """Settings from a parsed search file (a mapping with ``space:`` and settings)."""
        if not isinstance(doc, dict):
            raise SettingsError(f"{source}: expected a mapping with a 'space' key at the top")
        if "space" not in doc:
            raise SettingsError(
                f"{source}: no 'space' key; expected the hyperparameters under space:"
            )
        doc = {k: v for k, v in doc.items() if k != "description"}
        cls._check_known(doc, f"{source}: ")
        values = {**doc, **{k: v for k, v in (overrides or {}).items() if v is not None}}
        if "name" not in doc and name is not None:
            values.setdefault("name", name)
        cls._check_known(values, f"{source}: ")
        settings = cls(**values)
        settings.validate(source=source)
        return settings

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchSettings:
        cls._check_known(values)
        if "space" not in values:
            raise SettingsError("no 'space'; expected the hyperparameters under space")
        settings = cls(**values)
        settings.validate()
        return settings

    @classmethod
    def _check_known(cls, values: dict[str, Any], prefix: str = "") -> None:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known, key=str)
        if unknown:
            raise SettingsError(
                f"{prefix}unknown setting {unknown[0]!r}; expected some of {', '.join(sorted(known))}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, source: str = "") -> None:
        prefix = f"{source}: " if source else ""

        def choice(name: str, options: tuple[str, ...] | list[str]) -> None:
            value = getattr(self, name)
            if value not in options:
                raise SettingsError(
                    f"{prefix}{name}={value!r} is unknown; expected one of {', '.join(options)}"
                )

        def integer(name: str, minimum: int, optional: bool = False) -> None:
            value = getattr(self, name)
            if optional and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise SettingsError(
                    f"{prefix}{name}={value!r} is invalid; expected an integer >= {minimum}"
                )

        choice("scheduler", registry.scheduler_names())
        choice("sampler", registry.sampler_names())
        choice("executor", EXECUTORS)
        choice("mode", MODES)
        choice("resource", RESOURCES)
        integer("max_resources", 1, optional=True)
        if self.min_resources not in MIN_RESOURCES_RULES:
            try:
                integer("min_resources", 1, optional=True)
            except SettingsError:
                raise SettingsError(
                    f"{prefix}min_resources={self.min_resources!r} is invalid; expected an "
                    f"integer >= 1, {' or '.join(MIN_RESOURCES_RULES)}"
                ) from None
        choice("task", TASKS)
        for key, kinds in (("metric", (str,)), ("trainer", (str,)), ("dataset", (str, type(None))),
                           ("target", (str, type(None))), ("ray_address", (str, type(None)))):  # fmt: skip
            if not isinstance(getattr(self, key), kinds):
                raise SettingsError(
                    f"{prefix}{key}={getattr(self, key)!r} is invalid; expected text"
                )
        if not isinstance(self.stop_only, bool):
            raise SettingsError(
                f"{prefix}stop_only={self.stop_only!r} is invalid; expected true or false"
            )
        if not isinstance(self.preprocess, bool):
            raise SettingsError(
                f"{prefix}preprocess={self.preprocess!r} is invalid; expected true or false"
            )
        integer("max_epochs", 1)
        integer("min_epochs", 1)
        integer("eta", 2)
        integer("iterations", 1)
        integer("workers", 0)
        integer("max_failures", 0)
        integer("budget", 1, optional=True)
        integer("n_configs", 1, optional=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise SettingsError(f"{prefix}seed={self.seed!r} is invalid; expected an integer")
        if (
            isinstance(self.min_resources, int)
            and self.max_resources is not None
            and self.min_resources > self.max_resources
        ):
            raise SettingsError(
                f"{prefix}min_resources={self.min_resources} is larger than "
                f"max_resources={self.max_resources}"
            )
        if not isinstance(self.stop_only, bool):
            raise SettingsError(
                f"{prefix}stop_only={self.stop_only!r} is invalid; expected true or false"
            )
        if self.stop_only and not registry.scheduler(self.scheduler).stop_only:
            forms = " or ".join(e.name for e in registry.schedulers() if e.stop_only and e.build)
            raise SettingsError(
                f"{prefix}stop_only is ASHA's stop-only form; it needs scheduler {forms}, not "
                f"{self.scheduler}"
            )
        if self.min_epochs > self.max_epochs:
            raise SettingsError(
                f"{prefix}min_epochs={self.min_epochs} is larger than max_epochs={self.max_epochs}"
            )
        if self.trial_timeout is not None and (
            isinstance(self.trial_timeout, bool)
            or not isinstance(self.trial_timeout, (int, float))
            or not self.trial_timeout > 0
        ):
            raise SettingsError(
                f"{prefix}trial_timeout={self.trial_timeout!r} must be a positive number of seconds"
            )
        if (
            isinstance(self.wait_for_workers, bool)
            or not isinstance(self.wait_for_workers, (int, float))
            or not 0 <= self.wait_for_workers <= 86_400
        ):
            raise SettingsError(
                f"{prefix}wait_for_workers={self.wait_for_workers!r} is invalid; expected seconds "
                "between 0 and 86400"
            )
        if self.working_dir is not None and (
            not isinstance(self.working_dir, str) or not Path(self.working_dir).is_dir()
        ):
            raise SettingsError(
                f"{prefix}working_dir={self.working_dir!r} is not a folder; expected the folder "
                "whose code the cluster's nodes need"
            )
        if (
            isinstance(self.lease_seconds, bool)
            or not isinstance(self.lease_seconds, (int, float))
            or not 0 < self.lease_seconds <= 86_400
        ):
            raise SettingsError(
                f"{prefix}lease_seconds={self.lease_seconds!r} is invalid; expected seconds "
                "between 0 and 86400"
            )
        if (
            isinstance(self.gpus_per_trial, bool)
            or not isinstance(self.gpus_per_trial, (int, float))
            or self.gpus_per_trial < 0
        ):
            raise SettingsError(
                f"{prefix}gpus_per_trial={self.gpus_per_trial!r} is invalid; expected a number >= 0"
            )
        for key in ("fixed", "trainer_options"):
            if not isinstance(getattr(self, key), dict):
                raise SettingsError(f"{prefix}{key} must be a mapping")
        if not isinstance(self.stopping, list):
            raise SettingsError(
                f"{prefix}stopping must be a list of rules such as - {{rule: median}}"
            )
        for rule in self.stopping:
            name = rule.get("rule") if isinstance(rule, dict) else None
            if not isinstance(name, str) or name not in RULES:  # {} is not a name (nor hashable)
                raise SettingsError(
                    f"{prefix}stopping rule {rule!r} is unknown; expected {{rule: median|patience|extrapolation, ...}}"
                )
        try:
            self.build_space(source)
        except SpaceError as exc:
            raise SettingsError(str(exc)) from None
        if registry.sampler(self.sampler_name).needs_grid:
            space = self.build_space(source)
            if not space.is_grid:
                raise SettingsError(f"{prefix}{space_grid_problem(space)}")

    # -- what the settings build --------------------------------------------------------------------

    def build_space(self, source: str = "") -> SearchSpace:
        return SearchSpace.from_dict(self.space, self.fixed, source=source)

    @property
    def sampler_name(self) -> str:
        """The sampler that runs: the scheduler's own (grid search's grid), else ``sampler``."""
        return registry.scheduler(self.scheduler).sampler or self.sampler

    def resolved_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def build_scheduler(self, sampler: Any = None) -> Scheduler:
        """The scheduler these settings describe; raises SettingsError for a plan that cannot run.

        ``sampler`` replaces the one the settings name (the simulator samples recorded rows).
        """
        space = self.build_space()
        rules = [
            RULES[r["rule"]](**{k: v for k, v in r.items() if k != "rule"}) for r in self.stopping
        ]
        common = {
            "mode": self.mode,
            "seed": self.seed,
            "stopping": rules,
            "resource": self.resource,
        }
        if sampler is None:
            sampler = registry.sampler(self.sampler_name).build(space, self.seed)
        try:
            scheduler = self._make(sampler, common)
        except (ValueError, TypeError) as exc:
            raise SettingsError(str(exc)) from None
        size = getattr(sampler, "size", None)
        if size is not None:
            needed = sum(b.n_trials for b in scheduler.planned_brackets())
            if needed > size:
                if isinstance(sampler, GridSampler):
                    raise SettingsError(
                        f"the grid has {size} configurations but the {self.scheduler} plan starts "
                        f"{needed} trials; lower max_epochs or n_configs, raise eta, or use sampler random"
                    )
                raise SettingsError(
                    f"the table has {size} configurations, each run once, but the {self.scheduler} "
                    f"plan starts {needed} trials; sample its rows with replacement (--replace), or "
                    "lower n_configs or iterations"
                )
        return scheduler

    def _make(self, sampler: Any, common: dict[str, Any]) -> Scheduler:
        R, r = self.max_epochs, self.min_epochs
        if self.resource == "samples":
            if self.max_resources is None or not isinstance(self.min_resources, int):
                raise SettingsError(
                    "resource samples: max_resources and min_resources come from the data; "
                    "give them, or let the search load the data first"
                )
            R, r = self.max_resources, self.min_resources
        build = registry.scheduler(self.scheduler).build
        if build is None:  # validate() admits only schedulers a search can build
            raise SettingsError(f"scheduler {self.scheduler!r} runs only in comparisons")
        return build(self, sampler, R, r, common)

    def _halving_candidates(self) -> int | None:
        """scikit-learn's first-iteration candidates when ``n_configs`` is not given, under
        ``resource: samples``: the grid (``HalvingGridSearchCV``), or ``⌊R / r⌋``
        (``HalvingRandomSearchCV``'s ``n_candidates='exhaust'``). None for epochs."""
        if self.resource != "samples":
            return None
        if registry.sampler(self.sampler_name).needs_grid:
            return self.build_space().grid_size()
        assert isinstance(self.max_resources, int) and isinstance(self.min_resources, int)
        return max(1, self.max_resources // self.min_resources)

    def trainer_spec(self, obj: Any = None) -> TrainerSpec:
        """How to build the trainer anywhere; ``obj`` is the trainer itself when it was handed
        over as a Python object (``hpo.search(train, …)``), ``self.trainer`` then names it."""
        return TrainerSpec(self.trainer, self.dataset, self.target, dict(self.trainer_options),
                           self.task, self.preprocess, self.resource, obj=obj)  # fmt: skip

    def resolved_for(self, dataset: Any) -> SearchSettings:
        """With ``resource: samples``, the resources the data allows filled in: at most every
        sample a trial can train on (``max_resources``), and ``min_resources`` as
        scikit-learn's halving sets it: "smallest" (the default) is 2 per fold, and per
        class for a classification; "exhaust" (``sh`` only) the largest first rung whose
        last rung still fits in ``max_resources`` (:func:`hpo.budgets.exhaust_min_resources`).
        Anything else: unchanged."""
        if self.resource != "samples" or dataset is None:
            return self
        n = len(dataset.y_train) + len(dataset.y_val)
        folds = int(self.trainer_options.get("cv", 5))
        smallest = min(2 * folds * max(1, getattr(dataset, "n_classes", 0)), n)
        R = self.max_resources or n
        if n < R:
            raise SettingsError(
                f"max_resources={R} is more than the {n} samples the "
                "trials can train on (the training and validation parts)"
            )
        r = self.min_resources
        if r is None or r == "smallest":
            r = smallest
        elif r == "exhaust":
            if not registry.scheduler(self.scheduler).exhaust:
                raise SettingsError(
                    f"min_resources=exhaust is successive halving's rule (scikit-learn's); "
                    f"with scheduler {self.scheduler} give an integer or smallest"
                )
            candidates = self.n_configs or (
                self.build_space().grid_size()
                if registry.sampler(self.sampler).needs_grid
                else None
            )
            if candidates is None:
                raise SettingsError(
                    "min_resources=exhaust sets the first rung from the number of candidates; "
                    "give n_configs (or a grid sampler), as scikit-learn refuses "
                    "n_candidates and min_resources both 'exhaust'"
                )
            r = exhaust_min_resources(candidates, R, self.eta, smallest)
        resolved = dataclasses.replace(self, max_resources=R, min_resources=r)
        resolved.validate()
        return resolved


def shown_default(name: str) -> str:
    """The default of setting ``name`` as ``--help`` and the README state it: what it stands
    for when it is a placeholder (None, 0 workers), else the value as YAML writes it."""
    (f,) = [f for f in dataclasses.fields(SearchSettings) if f.name == name]
    if "means" in f.metadata:
        return str(f.metadata["means"])
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        raise ValueError(f"setting {name!r} has no default; it must be given")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"  # 60.0 as 60
    return str(value)


def space_grid_problem(space: SearchSpace) -> str:
    ranges = [n for n, p in space.params.items() if type(p).__name__ != "Categorical"]
    return (
        f"a grid needs finite values for every hyperparameter; {', '.join(ranges)} "
        f"{'is a range' if len(ranges) == 1 else 'are ranges'} (use values: or grid: lists)"
    )
