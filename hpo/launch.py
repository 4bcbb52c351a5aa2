"""Launching and resuming searches: the library calls behind ``hpo run`` and ``hpo resume``.

The CLI only parses and prints; everything a search does is here, callable from Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo import registry
from hpo.budgets import Bracket
from hpo.schedulers import Scheduler
from hpo.settings import SearchSettings, SettingsError, TrainerSpec
from hpo.space import nest
from hpo.store import StudyWriter
from hpo.tuner import Progress, Tuner


@dataclass(frozen=True)
class Plan:
    """What a search will do, computed before anything runs."""

    scheduler: str
    brackets: tuple[Bracket, ...]
    budget: int
    n_trials: int
    max_epochs: int
    grid_size: int | None
    approximate: bool  # asynchronous rungs (ASHA, PASHA): the sizes if every rung fills
    notes: tuple[str, ...] = ()  # what was done to the data (preprocessing)
    trainer_notes: tuple[str, ...] = ()  # what follows from the trainer (one without state)
    unit: str = "epochs"  # or "samples": each rung refits on that many

    @property
    def full_budget(self) -> int:
        """What a random search with as many configurations would spend at max_epochs."""
        return self.at_max_epochs(self.n_trials)

    @property
    def grid_budget(self) -> int | None:
        """What the full grid costs at max_epochs; None for a space that is not a grid."""
        return None if self.grid_size is None else self.at_max_epochs(self.grid_size)

    def at_max_epochs(self, n_configs: int) -> int:
        """What ``n_configs`` configurations cost, each trained to max_epochs (random search)."""
        return n_configs * self.max_epochs

    def lines(self) -> list[str]:
        about = "about " if self.approximate else ""
        u = self.unit
        out = [
            f"plan: {self.scheduler}, {len(self.brackets)} bracket(s), {about}{self.n_trials} trials"
        ]
        for b in self.brackets[:12]:
            rungs = "  ".join(f"{r.n_trials}@{r.epochs}" for r in b.rungs)
            cost = b.refit_budget if u == "samples" else b.budget
            out.append(f"  bracket s={b.s}: {rungs}   ({cost} {u})")
        if len(self.brackets) > 12:
            out.append(f"  … and {len(self.brackets) - 12} more brackets")
        how = "; each rung refits on that many samples" if u == "samples" else ""
        out.append(f"budget: {about}{self.budget} {u} (trials@{u} at each rung{how})")
        out.append(
            f"random search with {self.n_trials} configurations at {self.max_epochs} {u} each: "
            f"{self.full_budget} {u} ({_times(self.full_budget, self.budget)} this plan)"
        )
        if self.grid_budget is not None:
            out.append(
                f"the full grid ({self.grid_size} configurations) at {self.max_epochs} {u}: "
                f"{self.grid_budget} {u}"
            )
        out += [f"data: {note}" for note in self.notes]
        out += [f"trainer: {note}" for note in self.trainer_notes]
        return out


def _times(cost: int, against: int) -> str:
    """``cost`` as a multiple of ``against`` (at least 1): ``3.0x``."""
    return f"{cost / max(against, 1):.1f}x"


def default_study_name(settings: SearchSettings) -> str:
    """A new study's name unless one is given: ``SPACE-SCHEDULER-TIME`` (``hpo run``, ``hpo
    submit``, ``hpo.search``)."""
    return f"{settings.name}-{settings.scheduler}-{time.strftime('%Y%m%d-%H%M%S')}"


def make_plan(settings: SearchSettings, scheduler: Scheduler) -> Plan:
    brackets = scheduler.planned_brackets()
    space = settings.build_space()
    return Plan(
        scheduler=settings.scheduler,
        brackets=brackets,
        budget=scheduler.planned_budget(),
        n_trials=sum(b.n_trials for b in brackets),
        max_epochs=scheduler.max_epochs,
        grid_size=space.grid_size() if space.is_grid else None,
        approximate=registry.scheduler(settings.scheduler).approximate(settings.budget),
        unit=settings.resource,
    )


def prepare(
    settings: SearchSettings, trainer: Any = None
) -> tuple[SearchSettings, Scheduler, Plan, TrainerSpec, Any]:
    """Everything a search needs before it starts, checked: the trainer and its data, the
    settings resolved from the data (training samples as the resource), the scheduler and
    its plan. Raises SettingsError for anything that cannot run. ``trainer`` is the trainer
    object when one was handed over (``hpo.search``); ``settings.trainer`` then names it."""
    if settings.resource == "epochs":
        settings.build_scheduler()  # a plan that cannot run is refused before data loads
    spec, dataset = check_trainer(settings, trainer)
    settings = settings.resolved_for(dataset)
    scheduler = settings.build_scheduler()
    trainer_notes = ()
    if not spec.keeps_state:
        from hpo.function_trial import no_state_note, scheduler_label

        label = scheduler_label(settings.scheduler, settings.stop_only)
        trainer_notes = (no_state_note(settings.trainer, label),)
    plan = dataclasses.replace(make_plan(settings, scheduler), notes=getattr(dataset, "notes", ()),
                               trainer_notes=trainer_notes)  # fmt: skip
    return settings, scheduler, plan, spec, dataset


def check_trainer(settings: SearchSettings, trainer_obj: Any = None) -> tuple[TrainerSpec, Any]:
    """Load the trainer class and the data, and set up one sampled configuration.

    Catches a trainer path that does not import, a class without the contract, a bad
    dataset, or hyperparameters the trainer rejects, before any study is created.

    A function runs up to its first report and is told to pause. One that returns without
    a checkpoint keeps no state: refused if the scheduler pauses trials, otherwise searched
    as such (the spec returned says ``keeps_state=False``).
    """
    spec = settings.trainer_spec(trainer_obj)
    if settings.working_dir is not None:  # the code shipped to the nodes imports here too
        folder = str(Path(settings.working_dir).resolve())
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec.load_class()
    try:
        dataset = spec.load_dataset()
        trainer = spec.build(dataset)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{settings.trainer}: {exc}") from None
    task = getattr(dataset, "task", None)
    if task == "regression" and settings.metric == "val_accuracy":
        raise SettingsError(
            f"dataset {settings.dataset!r} has a numeric target (a regression): search "
            "`metric=val_r2` (mode max) or `metric=val_loss` `mode=min`, or give `task=classification`"
        )
    if task == "classification" and settings.metric in ("val_r2", "val_mse"):
        raise SettingsError(
            f"`metric={settings.metric}` is a regression's; dataset {settings.dataset!r} has "
            "classes (`task=regression` if its target is a number)"
        )
    import numpy as np

    config = settings.build_space().sample(np.random.default_rng(settings.seed))
    from hpo.function_trial import ContractError, NoStateError, no_state_refusal, scheduler_label
    from hpo.runners._base import describe_error

    function = not isinstance(spec.load_class(), type)
    try:
        trainer.setup(nest(config), settings.seed)
        if function:  # a function's checks run when it starts: up to its first report,
            trainer.step()  # and a pause must give a state to resume from
            trainer.save()
    except NoStateError as exc:
        if settings.build_scheduler().pauses_trials:
            label = scheduler_label(settings.scheduler, settings.stop_only)
            who = f"`trainer={settings.trainer}`"
            raise SettingsError(no_state_refusal(who, exc.what, label)) from None
        spec = dataclasses.replace(spec, keeps_state=False)
    except ContractError as exc:
        raise SettingsError(f"`trainer={settings.trainer}`: {_one_line(exc)}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise SettingsError(f"{settings.trainer} rejects the space: {_one_line(exc)}") from None
    except Exception as exc:
        if not function:
            raise
        raise SettingsError(
            f"{settings.trainer} failed in its first epoch of a sampled configuration: "
            f"{describe_error(exc)}"
        ) from None
    finally:
        close = getattr(trainer, "close", None)
        if close is not None:
            close()
    return spec, dataset


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def make_runner(settings: SearchSettings, spec: TrainerSpec, dataset: Any) -> Any:
    if settings.executor == "serial":
        from hpo.runners import SerialRunner

        return SerialRunner(lambda: spec.build(dataset), trial_timeout=settings.trial_timeout,
                            resource=settings.resource)  # fmt: skip
    from hpo.runners._ray import RayRunner

    try:
        return RayRunner(
            spec, settings.resolved_workers(), dataset=dataset, address=settings.ray_address,
            trial_timeout=settings.trial_timeout, gpus_per_trial=settings.gpus_per_trial,
            working_dir=settings.working_dir, wait_for_workers=settings.wait_for_workers,
        )  # fmt: skip
    except SettingsError:  # the trainer does not import on a node, no free CPU, …
        raise
    except ValueError as exc:  # asked for GPUs the cluster does not have
        raise SettingsError(str(exc)) from None


@dataclass
class Outcome:
    """How a search ended, for the summary."""

    name: str
    scheduler: Scheduler
    plan: Plan
    seconds: float
    workers: int
    metric: str

    def lines(self) -> list[str]:
        """The summary ``hpo run`` prints at the end: how long it took, the best trial, and
        what random search (and the full grid) would have spent on the same configurations."""
        s, plan, u = self.scheduler, self.plan, self.plan.unit
        out = [f"finished in {self.seconds:.1f} s on {self.workers} worker(s), start-up included"]
        if s.best_trial is None:
            return [*out, "no trial produced a finite value"]
        best = s.trials[s.best_trial]
        planned = s.planned_brackets()
        bracket = planned[best.bracket].s if best.bracket < len(planned) else best.bracket
        out.append(f"best {self.metric} {s.best_value:.4f}: trial {best.trial_id} "
                   f"(bracket s={bracket}, {best.epochs} {u})")  # fmt: skip
        out += [f"  {key}: {json.dumps(value, default=list)}" for key, value in best.config.items()]
        full = plan.at_max_epochs(len(s.trials))
        out.append(
            f"{u} spent: {s.epochs_spent}; random search over the same {len(s.trials)} "
            f"configurations at {plan.max_epochs} {u}: {full} ({_times(full, s.epochs_spent)} more)"
        )
        if plan.grid_budget is not None:
            out.append(f"the full grid at {plan.max_epochs} {u}: {plan.grid_budget} "
                       f"({_times(plan.grid_budget, s.epochs_spent)} more)")  # fmt: skip
        return out


@contextlib.contextmanager
def _closing(runner: Any) -> Iterator[Any]:
    try:
        yield runner
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()


def run_study(
    settings: SearchSettings,
    storage: str | Path,
    name: str,
    *,
    resume: bool = False,
    on_start: Callable[[Plan], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_tuner: Callable[[Tuner], None] | None = None,
    driver: str = "cli",
    trainer: Any = None,
) -> Outcome:
    """Create (or resume) study ``name`` in ``storage`` and run it to the end.

    A KeyboardInterrupt stops it cleanly: what was recorded stays, the study is marked
    interrupted, and ``hpo resume`` continues it. ``on_tuner`` receives the tuner before
    it runs (the service keeps it to stop a managed search with :meth:`Tuner.stop`);
    ``driver`` is recorded with the study (``cli`` for ``hpo run`` and ``hpo.search``, or
    ``managed``); ``trainer``
    is the trainer object ``hpo.search`` was handed (``settings.trainer`` names it).
    """
    settings, scheduler, plan, spec, dataset = prepare(settings, trainer)
    writer = StudyWriter(storage, name)
    status = "interrupted"
    try:
        if resume:
            writer.open_existing()
        elif writer.exists():
            writer.create({}, metric="", mode="", scheduler="")  # the one message for it
        if on_start is not None:
            on_start(plan)
        start = time.perf_counter()
        # The runner before the study: workers that cannot start (GPUs the cluster lacks,
        # say) leave nothing half-made behind.
        with _closing(make_runner(settings, spec, dataset)) as runner:
            if not resume:
                writer.create(settings.to_dict(), metric=settings.metric, mode=settings.mode,
                              scheduler=settings.scheduler, driver=driver)  # fmt: skip
            tuner = Tuner(scheduler, runner, writer, metric=settings.metric,
                          max_failures=settings.max_failures, on_progress=on_progress)  # fmt: skip
            if resume:
                tuner.replay(writer.log())
            if on_tuner is not None:
                on_tuner(tuner)
            tuner.run()
        status = tuner.stop_status or "finished"
    finally:
        writer.close(status)
    workers = 1 if settings.executor == "serial" else settings.resolved_workers()
    return Outcome(name, scheduler, plan, time.perf_counter() - start, workers, settings.metric)
