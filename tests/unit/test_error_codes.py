"""The error table is derived from the errors themselves: a new aggregate's refusals need no
edit in interfaces/api/errors.py (docs/architecture.md, "Adding an aggregate")."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator

import pytest

import application
import domain
from domain.error import Conflict, DomainError, Forbidden, InvalidValue, NotFound
from interfaces.api.errors import status_of

for package in (domain, application):
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


EVERY_ERROR = sorted(set(_subclasses(DomainError)), key=lambda c: f"{c.__module__}.{c.__name__}")


def test_a_new_aggregates_errors_need_no_table_entry() -> None:
    class Frozen(Conflict):
        code = "FROZEN"

    class NotTheOwner(Forbidden):
        code = "NOT_THE_OWNER"

    class GadgetNotFound(NotFound):
        kind = "gadget"
        code = "GADGET_NOT_FOUND"

    assert status_of(Frozen("it is frozen")) == (409, "FROZEN")
    assert status_of(NotTheOwner("no")) == (403, "NOT_THE_OWNER")
    assert status_of(GadgetNotFound("x")) == (404, "GADGET_NOT_FOUND")
    assert status_of(InvalidValue("name", "empty")) == (422, "INVALID_VALUE")


@pytest.mark.parametrize("cls", EVERY_ERROR, ids=lambda c: c.__name__)
def test_every_refusal_has_a_client_status_and_a_machine_code(cls: type[DomainError]) -> None:
    status, code = status_of(cls.__new__(cls))
    assert status in {400, 401, 403, 404, 409, 412, 422}
    assert re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", code), code


def test_the_seeds_fixed_statuses_and_the_kinds_codes_hold() -> None:
    by_name = {cls.__name__: status_of(cls.__new__(cls)) for cls in EVERY_ERROR}
    assert by_name["ProgressOutOfRange"] == (400, "PROGRESS_OUT_OF_RANGE")  # DevFlow
    assert by_name["UsernameTaken"] == (400, "USERNAME_TAKEN")  # Behflow
    assert by_name["SelfApproval"] == (403, "SELF_APPROVAL")
    assert by_name["AmbiguousApproval"] == (409, "AMBIGUOUS_APPROVAL")
    assert by_name["StaleVersion"] == (412, "STALE_VERSION")
    assert by_name["MfaRequired"] == (401, "MFA_REQUIRED")
    assert by_name["InvalidToken"] == (401, "NOT_AUTHENTICATED")
    assert by_name["FlowNotFound"] == (404, "FLOW_NOT_FOUND")
    assert by_name["TaskNotQueued"] == (409, "CONFLICT")  # a kind's code when it names none
