"""The route index answers every path with the route FastAPI's full scan picks
(interfaces/api/route_index.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from starlette.routing import Match

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from interfaces.container import Container
from tests.conftest import make_settings


@pytest.fixture
def built(database_url: str) -> Iterator[Container]:
    container = build(make_settings(database_url))
    yield container
    container.close()


def first_match(routes: list, scope: dict) -> tuple[int, Match]:
    """Starlette's rule: the first full match wins, else the first partial one."""
    partial = None
    for position, route in enumerate(routes):
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return position, match
        if match == Match.PARTIAL and partial is None:
            partial = position
    return (partial, Match.PARTIAL) if partial is not None else (-1, Match.NONE)


def test_every_documented_path_reaches_the_same_route_with_and_without_the_index(built):
    app = create_app(built)
    routes = app.router.routes
    guards = {id(r): vars(r)["matches"] for r in routes if "matches" in vars(r)}
    guarded = [r for r in routes if id(r) in guards]
    assert len(guarded) >= 20  # the feature routers are indexed
    paths = [p for p in app.openapi()["paths"] if not p.startswith("/docs")]
    some_id = str(uuid.uuid4())
    tried = 0
    for template in [*paths, "/api/v1/tasks/stats", "/nowhere", "/api/v1/tasks/not-a-uuid"]:
        path = re.sub(r"\{[^}]+\}", some_id, template)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            scope["headers"] = []
            indexed = first_match(routes, scope)
            for route in guarded:  # the same routes, asked without their index
                del route.matches
            unindexed = first_match(routes, scope)
            for route in guarded:
                route.matches = guards[id(route)]
            assert indexed == unindexed, (method, path)
            tried += 1
    assert tried > 500
