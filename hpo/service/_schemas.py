"""What the API takes and answers, for validation and for the OpenAPI document.

Bodies are pydantic models that refuse unknown fields; answers are models that the
document shows (an assignment and the answer to a measurement are made from the service's
dataclasses, whose fields are declared once). ``refusals(...)`` declares the error answers
a route can give, all of them ``{"error": "one sentence"}``. Every integer a route takes
is bounded (SQLite's INTEGER is 64-bit: a larger number would be an OverflowError, not a
4xx). Path parameters (``StudyName``, ``TrialId``) are declared here too.

A study's ``space`` and ``settings`` are checked by :mod:`hpo.space` and
:mod:`hpo.settings` (their messages name the key and the problem); the document shows
their shape here, as strict as JSON Schema can say it. What it cannot say are the rules
between fields (``min_epochs`` ≤ ``max_epochs``, ``low`` < ``high``, a plan the grid can
fill): a document that breaks one is refused with 422 and the rule in the sentence.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Annotated, Any, get_type_hints

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    create_model,
)

from hpo import registry
from hpo.service._leases import Assignment, Told
from hpo.settings import EXECUTORS, MIN_RESOURCES_RULES, RULES

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
CLIENT_PATTERN = r"^[\x21-\x7e]{1,200}$"  # printable ASCII, no spaces
SQL_INT_MAX = 2**63 - 1  # SQLite's INTEGER; Python ints beyond it raise OverflowError
MAX_EPOCH = 1_000_000_000


def _number_or_null(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number or null, not {type(value).__name__} {value!r:.40}")
    return float(value)


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer is any number without a fraction: ``3.0`` is the integer 3."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


Metric = Annotated[float | None, BeforeValidator(_number_or_null)]
# Constraints before the validator, so that the document shows them as minimum and maximum.
Epoch = Annotated[StrictInt, Field(ge=1, le=MAX_EPOCH), BeforeValidator(_whole_number)]

# What the paths of the routes take.
StudyName = Annotated[str, Path(pattern=NAME_PATTERN, description="letters, digits, . _ -")]
AnyStudyName = Annotated[str, Path(description="a study's name")]
TrialId = Annotated[int, Path(ge=0, le=SQL_INT_MAX, description="a trial's number")]
# Bodies that are bytes: a checkpoint, a Parquet export.
BINARY = {"schema": {"type": "string", "format": "binary"}}
CHECKPOINT_BODY = {"required": True, "description": "the trial's state: opaque bytes, not empty",
                   "content": {"application/octet-stream":
                               {"schema": {"type": "string", "format": "binary", "minLength": 1}}}}  # fmt: skip


# -- a study's space and settings, as the document shows them -----------------------------------

_VALUES = {"type": "array", "minItems": 1}
# ``when:`` (conditional hyperparameters): other name -> value, [values] or {op: value}.
_WHEN = {
    "type": "object",
    "minProperties": 1,
    "description": "active only when each named hyperparameter has this value, one of "
    "these values, or passes {eq|ne|lt|le|gt|ge|in: value}",
}
_BOUND = {"type": ["number", "string"], "description": "a number (YAML may give it as text: 1e-4)"}
ENTRY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"title": "range", "type": "object", "additionalProperties": False,
         "required": ["type", "low", "high"],
         "properties": {"type": {"enum": ["float", "int"]}, "low": _BOUND, "high": _BOUND,
                        "log": {"type": "boolean"}, "when": _WHEN}},
        {"title": "categorical", "type": "object", "additionalProperties": False,
         "required": ["type", "values"],
         "properties": {"type": {"const": "categorical"}, "values": _VALUES,
                        "when": _WHEN}},
        {"title": "grid", "type": "object", "additionalProperties": False,
         "required": ["grid"], "properties": {"grid": _VALUES, "when": _WHEN}},
        {"title": "values", "type": "object", "additionalProperties": False,
         "required": ["values"], "properties": {"values": _VALUES, "when": _WHEN}},
        {"title": "choices", **_VALUES},
        {"title": "fixed", "type": ["string", "number", "boolean", "null"]},
    ]
}  # fmt: skip
SPACE_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "propertyNames": {"minLength": 1},
    "additionalProperties": ENTRY_SCHEMA,
    "description": "hyperparameter -> {type: float|int, low, high, log} | {type: categorical, "
    "values} | {grid: [...]} | [choices] | a fixed value; at least one is searched",
}
SPACE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "YAML text of a search file (space: and settings), "
         "or of the hyperparameters alone"},
        SPACE_OBJECT_SCHEMA,
    ]
}  # fmt: skip


def _integer(minimum: int, optional: bool = False) -> dict[str, Any]:
    kind = ["integer", "null"] if optional else "integer"
    return {"type": kind, "minimum": minimum}


def _choice(options: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"enum": list(options)}


# Each setting's shape, as SearchSettings.validate checks it (its messages stay the refusals).
# The scheduler and sampler names are the registry's when this module is imported: the
# document is fixed then, while validation reads the registry each time.
SETTING_SCHEMAS: dict[str, dict[str, Any]] = {
    "space": SPACE_OBJECT_SCHEMA,
    "fixed": {"type": "object"},
    "name": {"description": "ignored: the study's name is the body's name"},
    "scheduler": _choice(registry.scheduler_names()),
    "sampler": _choice(registry.sampler_names()),
    "max_epochs": _integer(1),
    "min_epochs": _integer(1),
    "resource": _choice(("epochs", "samples")),
    "max_resources": _integer(1, optional=True),
    "min_resources": {"anyOf": [_integer(1, optional=True), _choice(MIN_RESOURCES_RULES)]},
    "eta": _integer(2),
    "budget": _integer(1, optional=True),
    "n_configs": _integer(1, optional=True),
    "iterations": _integer(1),
    "stop_only": {"type": "boolean"},
    "stopping": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["rule"],
            "properties": {"rule": _choice(tuple(RULES))},
        },
    },
    "workers": _integer(0),
    "seed": {"type": "integer"},
    "metric": {"type": "string"},
    "mode": _choice(("max", "min")),
    "trainer": {"type": "string", "description": "package.module:ClassName"},
    "trainer_options": {"type": "object"},
    "dataset": {"type": ["string", "null"]},
    "target": {"type": ["string", "null"]},
    "task": _choice(("auto", "classification", "regression")),
    "preprocess": {"type": "boolean"},
    "executor": _choice(EXECUTORS),
    "ray_address": {"type": ["string", "null"]},
    "gpus_per_trial": {"type": "number", "minimum": 0},
    "max_failures": _integer(0),
    "trial_timeout": {"type": ["number", "null"], "exclusiveMinimum": 0},
    "lease_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 86_400},
    "working_dir": {"type": ["string", "null"], "description": "the folder shipped to a cluster"},
    "wait_for_workers": {"type": "number", "minimum": 0, "maximum": 86_400},
}
SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": SETTING_SCHEMAS,
}


# -- bodies ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudyIn(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "name": "example",
            "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
                      "activation": ["relu", "tanh"]},
            "settings": {"scheduler": "asha", "max_epochs": 27, "eta": 3},
        }]},
    )  # fmt: skip

    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, . _ - (≤ 100)")
    space: Annotated[str | dict[str, Any], WithJsonSchema(SPACE_SCHEMA)] = Field(
        description="YAML text of a search file (with space: and any settings), or the "
        "hyperparameters as a JSON object"
    )
    settings: Annotated[dict[str, Any], WithJsonSchema(SETTINGS_SCHEMA)] = Field(
        default_factory=dict,
        description="run settings, as in a search file: scheduler, max_epochs, eta, budget, "
        "sampler, metric, mode, seed, lease_seconds, max_failures, …",
    )
    managed: StrictBool = Field(
        False, description="run the trials on the server's own workers (hpo submit)"
    )


class SuggestIn(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"client_id": "w1"}]})

    client_id: str = Field(
        pattern=CLIENT_PATTERN,
        description="the asking worker; asking again before reporting gives the same assignment",
    )
    wait: float = Field(
        0.0,
        strict=True,  # a number (an integer too), not text
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="seconds to wait for work before answering 204",
    )


class MeasurementIn(_Body):
    lease: str = Field(max_length=64)
    epoch: Epoch
    metrics: dict[Annotated[str, Field(min_length=1, max_length=100)], Metric] = Field(
        max_length=200, description="numbers; null (or NaN) for a value that diverged"
    )
    seconds: float = Field(0.0, strict=True, ge=0, allow_inf_nan=False)


class StopIn(_Body):
    """Nothing to say: a stop may send ``{}`` (or no body, with Content-Type: application/json)."""


class LeaseIn(_Body):
    lease: str = Field(max_length=64)


class FailIn(_Body):
    lease: str = Field(max_length=64)
    reason: str = Field("", max_length=2000)


# -- answers -----------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    """Every refusal: one sentence, never a stack trace."""

    error: str


def _answer(name: str, shape: type, notes: dict[str, str]) -> type[BaseModel]:
    """The model of an answer that is a dataclass of the service (its fields, in order, all
    required: the answer always has them), with the document's words for some fields."""
    hints = get_type_hints(shape)
    return create_model(
        name,
        **{f.name: (hints[f.name], Field(description=notes.get(f.name))) for f in fields(shape)},
    )


AssignmentOut = _answer("AssignmentOut", Assignment, {
    "from_epoch": "restore the checkpoint saved after this epoch (0: none)",
    "until_epoch": "train and report epochs from_epoch+1 … until_epoch",
    "resource": "epochs, or samples: refit on until_epoch samples, report once",
})  # fmt: skip
ToldOut = _answer("ToldOut", Told, {
    "action": "continue | pause | stop",
    "checkpoint_wanted": "upload the trial's state now (a paused trial resumes from it)",
})  # fmt: skip


REFUSALS = {
    400: "the request cannot be carried out as sent (an empty checkpoint, a search that could "
    "not start)",
    401: "a bearer token is required (only when the server has one)",
    403: "refused as cross-site: a foreign Host without a token, a write without "
    "Content-Type: application/json, or with a foreign Origin",
    404: "no such study, trial, checkpoint or comparison",
    409: "conflicts with the study's state (other settings, another lease, out of turn, run "
    "elsewhere)",
    410: "the study or the trial is over; it takes no more work",
    413: "the body is larger than the server's limit",
    422: "the request is invalid: the sentence names the field and the problem",
    503: "the study database cannot be written",
}
# What any route may answer: the guard in front of every route, and validation.
ALWAYS = (401, 403, 422)


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses (and those every route can give)."""
    return {
        code: {"model": ErrorOut, "description": REFUSALS[code]}
        for code in sorted({*ALWAYS, *codes})
    }
