"""The product's OpenAPI schema: built without FastAPI's warnings (each operation its own id),
and every seed alias documented at the seed's path (issue 13)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

from interfaces.api.alias_openapi import TAG, operation_id
from interfaces.api.app import PLATFORM_ALIASES, create_app
from interfaces.bootstrap import build
from interfaces.container import Container
from tests.conftest import make_settings


@pytest.fixture
def built(database_url: str) -> Iterator[Container]:
    """The composition root over a fresh database (nothing started: the schema needs no run)."""
    container = build(make_settings(database_url))
    yield container
    container.close()


@pytest.fixture
def schema(built: Container) -> dict:
    gc.collect()  # what earlier tests left to the collector warns now, not inside the block
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        document = create_app(built).openapi()
    # FastAPI's warnings about the schema (e.g. "Duplicate Operation ID ..."); a ResourceWarning
    # is the garbage collector finding another test's object, whenever it happens to run.
    schema_warnings = [str(w.message) for w in seen if not issubclass(w.category, ResourceWarning)]
    assert schema_warnings == []
    return document


def test_the_schema_builds_without_a_duplicate_operation_id(schema):
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    flow = schema["paths"]["/api/v1/flows/{flow_id}"]
    assert flow["put"]["operationId"] != flow["patch"]["operationId"]


def test_every_seed_alias_is_documented_at_its_own_path(built, schema):
    aliases = [a for f in built.features for a in f.aliases] + list(PLATFORM_ALIASES)
    http = [a for a in aliases if a.method != "WS"]
    assert len(http) >= 40
    for alias in http:
        operation = schema["paths"][alias.path][alias.method.lower()]
        assert operation["operationId"] == operation_id(alias)
        assert operation["tags"] == [TAG]


def test_a_seed_path_is_documented_in_the_seeds_words(schema):
    flow8 = schema["paths"]["/api/flows"]["get"]
    assert {p["name"] for p in flow8["parameters"]} >= {"page", "size"}
    assert not {p["name"] for p in flow8["parameters"]} & {"limit", "offset", "per_page"}
    layer = schema["paths"]["/api/flows/{id}/layers/{layer_id}"]["put"]
    assert [p["name"] for p in layer["parameters"] if p["in"] == "path"] == ["id", "layer_id"]
    assert "200" in schema["paths"]["/api/v1/processes/{process_id}/execute"]["post"]["responses"]
    assert "400" in schema["paths"]["/api/agents"]["post"]["responses"]  # DevFlow's bad input
