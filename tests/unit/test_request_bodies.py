"""Request bodies refuse coercions that change meaning, for every field of every body (issue 11)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import AwareDatetime, ValidationError

import interfaces.api.app  # noqa: F401 - imports every route module, hence every body
from interfaces.api.schemas import StrictIn, TaskIn, annotation_kinds
from interfaces.api.schemas_users import UserPatchIn


def bodies() -> list[type[StrictIn]]:
    found, pending = [], [StrictIn]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def fields_of_kind(*kinds: object) -> list[tuple[type[StrictIn], str]]:
    return [
        (model, name)
        for model in bodies()
        for name, field in model.model_fields.items()
        if annotation_kinds(field.annotation) & set(kinds)
    ]


def refuses(model: type[StrictIn], name: str, value: object) -> bool:
    try:
        model.model_validate({name: value})
    except ValidationError as error:
        return any(e["loc"] == (name,) for e in error.errors())
    return False


def test_every_request_body_is_strict():
    assert len(bodies()) >= 10


@pytest.mark.parametrize(("model", "name"), fields_of_kind(bool))
@pytest.mark.parametrize("value", [0, 1, "false", "true", "no"])
def test_no_boolean_field_takes_a_number_or_a_string(model, name, value):
    assert refuses(model, name, value)


@pytest.mark.parametrize(("model", "name"), fields_of_kind(datetime, AwareDatetime))
@pytest.mark.parametrize("value", [0, 1700000000, 1.5, True])
def test_no_date_field_takes_a_number(model, name, value):
    assert refuses(model, name, value)


def test_the_meant_values_still_pass():
    assert UserPatchIn.model_validate({"active": False}).active is False
    task = TaskIn.model_validate({"name": "x", "due_date": "2026-12-01T10:00:00Z"})
    assert task.due_date is not None and task.due_date.year == 2026
