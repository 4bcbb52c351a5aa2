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


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [(Gone("study 's' is over"), 410, "study 's' is over"),
     (StudyNotFound("no study named 'x' in /srv/s.db; studies here: a", public="no study named 'x'"),
      404, "no study named 'x'"),
     (StoreError("cannot write to /srv/s.db: disk full", public="the database cannot be written"),
      409, "the database cannot be written"),
     (SettingsError("max_epochs=0 is invalid;\n  expected an integer ≥ 1"), 422,
      "max_epochs=0 is invalid; expected an integer ≥ 1")],
)  # fmt: skip
def test_the_service_answers_an_error_by_its_type_with_its_public_text(error, status, text) -> None:
    from hpo.service._errors import public_text, status_of

    assert (status_of(error), public_text(error)) == (status, text)
