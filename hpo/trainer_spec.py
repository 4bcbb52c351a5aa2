"""How to build a trainer anywhere, a Ray worker included: an import path and options.

Kept free of heavy imports: Ray workers unpickle it before they train anything.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from hpo.errors import HpoError

CONTRACT = ("setup", "step", "save", "restore")
#: The contract of a trainer whose resource is training samples: refit on ``n`` of them.
SAMPLES_CONTRACT = ("setup", "fit", "save", "restore")


class SettingsError(HpoError, ValueError):
    """Settings that cannot run: one line naming the setting and what was expected."""


def object_path(obj: Any) -> str:
    """The import path that names a trainer object: ``module:qualname``.

    >>> object_path(object_path)
    'hpo.trainer_spec:object_path'
    """
    module = getattr(obj, "__module__", None) or "__main__"
    name = (
        getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    )
    return f"{module}:{name}"


def importable(path: str) -> bool:
    """Whether ``path`` names an object a later process can import by it (not one defined
    in ``__main__``, a notebook cell, or inside a function)."""
    from trainers._imports import import_object

    if path.startswith("__main__:") or "<locals>" in path:
        return False
    try:
        import_object(path)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TrainerSpec:
    """How to build a trainer anywhere (a Ray worker included): import path and options."""

    path: str
    dataset: str | None = "digits"
    target: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    task: str = "auto"  # classification, regression, or auto (from the target)
    preprocess: bool = True  # one-hot encode categories and impute missing values
    resource: str = "epochs"  # or "samples": the trainer refits on a subsample per rung
    # A train(config, trial) function that never checkpoints, under a scheduler that never
    # pauses: its call runs on from one assignment to the next (see hpo.function_trial).
    keeps_state: bool = True
    # The trainer itself, when ``hpo.search`` was handed a function or class rather than an
    # import path (``path`` then only names it: ``__main__:train``). Ray pickles the spec
    # with cloudpickle, which sends an object defined in ``__main__``, a notebook cell or a
    # closure by value, as it does Ray's own remote functions.
    obj: Any = field(default=None, compare=False, repr=False)

    def load_class(self) -> Any:
        """The trainer class, or a ``train(config, trial)`` function (see
        :mod:`hpo.function_trial`); a SettingsError if it is neither."""
        from hpo.function_trial import ContractError, check_train_function, is_train_function
        from trainers._imports import import_object

        if self.obj is not None:
            cls = self.obj
        else:
            try:
                cls = import_object(self.path)
            except ValueError as exc:
                raise SettingsError(f"--trainer {self.path}: {exc}") from None
        if is_train_function(cls):
            if self.resource == "samples":
                raise SettingsError(
                    f"--trainer {self.path} is a function that trains epochs; --resource samples "
                    "needs a class with setup(config, seed), fit(n_samples), save() and restore(state)"
                )
            try:
                check_train_function(cls, self.path)
            except ContractError as exc:
                raise SettingsError(str(exc)) from None
            return cls
        if not isinstance(cls, type):
            raise SettingsError(
                f"--trainer {self.path} is neither a class with the trainer contract nor a "
                "function train(config, trial)"
            )
        if self.resource == "samples":
            needs = "setup(config, seed), fit(n_samples) (a refit on that many), save() and restore(state)"
            self._check_methods(cls, SAMPLES_CONTRACT, "", f"--resource samples needs {needs}")
            return cls
        if not callable(getattr(cls, "step", None)) and callable(getattr(cls, "fit", None)):
            raise SettingsError(
                f"--trainer {self.path} refits on a number of samples (fit) and trains no epochs "
                "(step): search it with --resource samples"
            )
        needs = "setup(config, seed), step(), save() and restore(state)"
        self._check_methods(cls, CONTRACT, "the trainer contract's ", f"expected {needs}")
        return cls

    def _check_methods(self, cls: type, methods: tuple[str, ...], whose: str, needs: str) -> None:
        """A SettingsError naming the ``methods`` that ``cls`` lacks (``whose`` they are) and
        what ``needs`` them."""
        missing = [m for m in methods if not callable(getattr(cls, m, None))]
        if missing:
            raise SettingsError(f"--trainer {self.path} lacks {whose}{', '.join(missing)}; {needs}")

    def kwargs(self, cls: Any, dataset: Any = None) -> dict[str, Any]:
        """Constructor arguments: dataset and target when the class takes them, plus options."""
        if not isinstance(cls, type):  # a function loads its own data
            return {}
        params = inspect.signature(cls).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        kwargs = dict(self.options)
        if self.dataset is not None and ("dataset" in params or takes_any):
            kwargs["dataset"] = dataset if dataset is not None else self.dataset
        if self.target is not None and ("target" in params or takes_any):
            kwargs["target"] = self.target
        return kwargs

    def load_dataset(self) -> Any:
        """The split dataset, loaded once in the driver (Ray ships it to each worker)."""
        if self.dataset is None:
            return None
        cls = self.load_class()
        if not isinstance(cls, type) or "dataset" not in inspect.signature(cls).parameters:
            return None
        from trainers.data import load_dataset

        split = {
            k: self.options[k]
            for k in ("val_fraction", "test_fraction", "split_seed")
            if k in self.options
        }
        return load_dataset(
            self.dataset, self.target, task=self.task, preprocess=self.preprocess, **split
        )

    def build(self, dataset: Any = None) -> Any:
        cls = self.load_class()
        if not isinstance(cls, type):
            from hpo.function_trial import FunctionTrainer

            return FunctionTrainer(cls, keeps_state=self.keeps_state)
        return cls(**self.kwargs(cls, dataset))
