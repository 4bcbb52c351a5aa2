"""Every error hpo raises on purpose is an ``hpo.HpoError`` and keeps its builtin base."""

from __future__ import annotations

import pytest

import hpo
from hpo.client import ClientError, StudyOver
from hpo.function_trial import ContractError, NoStateError
from hpo.service import Conflict, Gone, Invalid, NotFound, ServiceError
from hpo.settings import SettingsError
from hpo.space import SpaceError
from hpo.store import StoreError, StudyNotFound
from hpo.tuner import ReplayError

FAMILIES = [SettingsError, SpaceError, ContractError, NoStateError, StoreError, StudyNotFound,
            ReplayError, ServiceError, NotFound, Conflict, Gone, Invalid, ClientError, StudyOver]  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_every_family_is_an_hpo_error(family: type) -> None:
    assert issubclass(family, hpo.HpoError)


@pytest.mark.parametrize("family", [SettingsError, SpaceError, ContractError, StoreError])
def test_bad_values_are_still_value_errors(family: type) -> None:
    assert issubclass(family, ValueError)


def test_a_bad_setting_from_the_front_door_is_caught_as_hpo_error() -> None:
    with pytest.raises(hpo.HpoError, match="unknown setting"):
        hpo.search("trainers.toy:ToyTrainer", {"q": hpo.uniform(0, 1)}, shceduler="asha")
