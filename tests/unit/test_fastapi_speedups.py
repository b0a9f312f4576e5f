"""The remembered FastAPI functions answer as FastAPI's own do, on every route of the app
(interfaces/api/fastapi_speedups.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi
import pytest
from fastapi.dependencies import utils
from fastapi.routing import APIRoute

from interfaces.api import fastapi_speedups
from interfaces.api.routes import audit, events, exports, health, readiness
from interfaces.features import FEATURES

PLATFORM = (audit.router, events.router, exports.router, health.router, readiness.router)


def dependants() -> Iterator[Any]:
    """Every dependant of every route of every feature (and the platform's routes)."""
    routers = [r for feature in FEATURES for r in feature.routers] + list(PLATFORM)
    todo = [
        route.dependant
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    while todo:
        dependant = todo.pop()
        yield dependant
        todo.extend(dependant.dependencies)


def fields(dependant: Any) -> list[Any]:
    kinds = ("path_params", "query_params", "header_params", "cookie_params", "body_params")
    return [field for kind in kinds for field in getattr(dependant, kind)]


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    assert fastapi_speedups.install(), f"FastAPI {fastapi.__version__} was not checked"


def test_every_parameter_gets_the_same_answers_as_from_fastapi_twice():
    checked = 0
    for dependant in dependants():
        for field in fields(dependant):
            for name in ("_get_param_model", "_is_json_field"):
                own = fastapi_speedups.original(name)(field)
                assert getattr(utils, name)(field) == own == getattr(utils, name)(field)
            annotation = field.field_info.annotation
            own = fastapi_speedups.original("field_annotation_is_sequence")(annotation)
            assert utils.field_annotation_is_sequence(annotation) == own
            for convert in (False, True):
                own = fastapi_speedups.original("_get_param_aliases")(
                    field, convert_underscores=convert
                )
                for _ in range(2):
                    assert utils._get_param_aliases(field, convert_underscores=convert) == own
            checked += 1
    assert checked > 300  # every route's parameters, not a handful


def test_every_dependency_gets_the_same_cache_key_as_from_fastapi():
    checked = 0
    for dependant in dependants():
        own = fastapi_speedups.original("_get_cache_key")(dependant=dependant)
        assert utils._get_cache_key(dependant=dependant) == own
        assert utils._get_cache_key(dependant=dependant) == own
        checked += 1
    assert checked > 300


def test_another_fastapi_version_is_left_as_it_is(monkeypatch):
    monkeypatch.setattr(fastapi, "__version__", "0.999.0")
    assert fastapi_speedups.install() is False
