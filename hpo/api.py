"""The front door: ``hpo.search(train, space)`` in a script or a notebook.

What ``hpo run SPACE.yaml --trainer module:train`` does, from Python, with Python objects::

    import hpo

    def train(config, trial):
        state = trial.restore() or fresh(config)      # a promoted trial continues
        for epoch in trial.epochs():                  # as far as the scheduler says
            acc = train_one_epoch(state)
            if trial.report(epoch, {"val_accuracy": acc}, checkpoint=state) != "continue":
                break

    result = hpo.search(train, {"lr": hpo.loguniform(1e-4, 1e-1), "solver": hpo.choice(["sgd", "adam"]),
                                "momentum": hpo.uniform(0.0, 0.99, when={"solver": "sgd"})},
                        scheduler="asha", max_epochs=27, executor="ray")
    result.best, result.trials, result.plot()

Every keyword is a setting of :class:`~hpo.settings.SearchSettings`, with the same name and
default as ``hpo run``'s option (the one declaration both read); ``help(hpo.search)`` lists
them. The search itself is :func:`hpo.launch.run_study`, the function below ``hpo run``,
``hpo resume`` and the service's managed searches, so a search started here and one started
from the command line with the same seed record the same study.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

from hpo.launch import Plan, default_study_name, run_study
from hpo.settings import SearchSettings, SettingsError
from hpo.store import DEFAULT_STORAGE, StudyReader
from hpo.trainer_spec import importable, object_path

#: What ``search`` takes besides the settings.
_OWN = ("trainer", "space", "study", "storage", "resume", "progress")


def search(
    trainer: Any = None,
    space: Any = None,
    *,
    study: str | None = None,
    storage: str | Path = DEFAULT_STORAGE,
    resume: bool = False,
    progress: bool = True,
    **settings: Any,
) -> Any:
    """Run a search and return its :class:`~hpo.result.Result`.

    Args:
        trainer: a function ``train(config, trial)`` (:mod:`hpo.function_trial`), a class
            with the trainer contract (``setup/step/save/restore``), or an import path
            ``"module:name"``; None for the settings' default (the numpy MLP). A function or
            class defined in ``__main__``, a notebook cell or a closure runs on Ray workers
            too: Ray's cloudpickle sends it by value.
        space: a YAML file (which may hold settings too, as for ``hpo run``), a dict as the
            YAML parses, or Python objects (``hpo.uniform``, ``hpo.loguniform``,
            ``hpo.randint``, ``hpo.choice``, ``hpo.grid``, plain values for fixed ones; nested
            dicts flatten to dotted names). Not needed with ``resume=True``.
        study: the study's name (default: ``SPACE-SCHEDULER-TIME``, as ``hpo run``).
        storage: the study database, as ``--storage``.
        resume: continue the recorded study ``study`` where it stopped (interrupted,
            killed); its recorded settings are used and the trainer is asked for again when
            it was a Python object.
        progress: print the plan and show a progress bar.
        **settings: any setting of ``hpo run``, by its name (``scheduler``, ``sampler``,
            ``max_epochs``, ``eta``, ``metric``, ``mode``, ``executor``, ``workers``, …).
            ``scheduler`` also takes a scheduler object built without a sampler,
            ``hpo.ASHA(max_epochs=81, eta=3)`` (the classes :mod:`hpo.schedulers` drives by
            hand): the settings it stands for (:func:`hpo.registry.settings_of`) are used.

    Ctrl-C (a notebook's interrupt) stops the search cleanly: what was recorded stays, and
    the result so far is returned; ``resume=True`` continues it.
    """
    obj = None if trainer is None or isinstance(trainer, str) else trainer
    if resume:
        if study is None:
            raise SettingsError("resume=True continues a recorded study; give its name: study=...")
        if space is not None or settings:
            given = "space" if space is not None else next(iter(settings))
            raise SettingsError(
                f"resume=True continues study {study!r} with its recorded settings; "
                f"{given} cannot change (start a new study to search differently)"
            )
        chosen = _recorded(study, storage, trainer)
    else:
        chosen = _settings(trainer, space, settings)
    name = study or default_study_name(chosen)
    interrupted = _launch(chosen, storage, name, resume=resume, obj=obj, progress=progress)
    from hpo.result import load

    result = load(name, storage=storage)
    if interrupted:
        again = "hpo.search(train, " if obj is not None else "hpo.search("
        print(
            f"interrupted: everything recorded is kept; continue with "
            f"{again}study={name!r}, resume=True)"
        )
    return result


def _settings(trainer: Any, space: Any, given: dict[str, Any]) -> SearchSettings:
    """The settings of a new search: the space's document, then the keywords over it."""
    from hpo.space import space_document

    if space is None:
        raise SettingsError("no space: give hpo.search(train, space) a dict or a YAML file")
    overrides = dict(given)
    declared = overrides.get("scheduler")
    if declared is not None and not isinstance(declared, str):
        from hpo.registry import settings_of

        stands_for = settings_of(declared)
        twice = sorted(set(stands_for) & set(overrides) - {"scheduler"})
        if twice:
            raise SettingsError(
                f"{', '.join(twice)} given twice: by the {type(declared).__name__} object and as "
                "a keyword; give it once"
            )
        overrides.update(stands_for)
    if trainer is not None:
        overrides["trainer"] = trainer if isinstance(trainer, str) else object_path(trainer)
    SearchSettings._check_known(overrides)
    if isinstance(space, (str, Path)) and Path(space).suffix in (".yaml", ".yml"):
        return SearchSettings.from_file(str(space), overrides)
    if isinstance(space, dict) and "space" in space:  # a whole search document
        return SearchSettings.from_document(space, overrides)
    values, fixed = space_document(space)
    return SearchSettings.from_document({"space": values, "fixed": fixed}, overrides)


def _recorded(study: str, storage: str | Path, trainer: Any) -> SearchSettings:
    """The recorded settings of ``study``, with the trainer handed over again if given."""
    with StudyReader(storage) as r:
        info = r.study(study)
    if info["status"] == "finished":
        raise SettingsError(f"study {study!r} is already finished; hpo.load({study!r}) reads it")
    recorded = SearchSettings.from_dict(info["settings"])
    if trainer is None:
        if not importable(recorded.trainer):
            raise SettingsError(
                f"study {study!r} was searched with {recorded.trainer}, defined in a script or "
                f"notebook; hand it over again: hpo.search(train, study={study!r}, resume=True)"
            )
        return recorded
    path = trainer if isinstance(trainer, str) else object_path(trainer)
    if path.rpartition(":")[2] != recorded.trainer.rpartition(":")[2]:
        raise SettingsError(
            f"study {study!r} was searched with {recorded.trainer}, not {path}; resume it with "
            "the same trainer"
        )
    return recorded


def _launch(
    settings: SearchSettings,
    storage: str | Path,
    name: str,
    *,
    resume: bool,
    obj: Any,
    progress: bool,
) -> bool:
    """Run the study to its end; True if Ctrl-C stopped it (the study is then interrupted)."""
    from hpo.progress import ProgressBar

    bar = ProgressBar()

    def on_start(plan: Plan) -> None:
        if progress:
            print(f"{'resuming' if resume else 'study'} {name!r} in {storage}")
            for line in plan.lines():
                print(line)
            bar.start(plan.budget)

    try:
        run_study(settings, storage, name, resume=resume, on_start=on_start,
                  on_progress=bar.update if progress else None, trainer=obj)  # fmt: skip
    except KeyboardInterrupt:
        return True
    finally:
        bar.close()
    return False


def _signature() -> inspect.Signature:
    """``search``'s signature with every setting as a keyword and its default, so that
    ``help(hpo.search)``, Jupyter's ``?`` and editors show them (read from the one
    declaration, :class:`~hpo.settings.SearchSettings`)."""
    own = [p for p in inspect.signature(search).parameters.values() if p.kind != p.VAR_KEYWORD]
    fields = [f for f in dataclasses.fields(SearchSettings) if f.name not in _OWN]
    extra = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default if f.default is not dataclasses.MISSING else f.default_factory(),  # type: ignore[misc]
            annotation=f.type,
        )
        for f in fields
        if f.name not in ("space", "fixed")
    ]
    return inspect.Signature(own + extra, return_annotation="Result")


search.__signature__ = _signature()  # type: ignore[attr-defined]
