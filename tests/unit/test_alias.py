"""The alias and presenter mechanism and the path rules, on a small app (no servers)."""

from __future__ import annotations

import warnings
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict

from domain.error import NotFound
from domain.task import TaskNotFound
from interfaces.api import alias, errors
from interfaces.api.alias import Alias, Exchange, Presenter, not_found_for
from interfaces.api.presenters import (
    DEVFLOW,
    FLOW8_LIST,
    devflow_error,
    devflow_list,
    flow8_error,
    flow8_list,
    rekeyed,
    renamed_query,
    snake,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    agent_key: str | None = None
    context: dict[str, Any] = {}


router = APIRouter(prefix="/api/v1/things")
STORE: dict[UUID, dict[str, Any]] = {}


@router.get("")
def list_things(status: str = "any", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    rows = list(STORE.values())
    page = rows[offset : offset + limit]
    return {"things": page, "total": len(rows), "limit": limit, "offset": offset, "status": status}


@router.post("", status_code=201)
def create_thing(body: ThingIn) -> dict[str, Any]:
    thing = {"thing_id": str(uuid4()), **body.model_dump()}
    STORE[UUID(thing["thing_id"])] = thing
    return thing


@router.get("/stats")
def stats() -> dict[str, int]:
    return {"count": len(STORE)}


@router.get("/{task_id}")
def get_thing(task_id: UUID) -> dict[str, Any]:
    if task_id not in STORE:
        raise TaskNotFound(task_id)
    return STORE[task_id]


def make_app(*aliases: Alias) -> TestClient:
    app = FastAPI()
    errors.install(app)
    alias.install(app, [router], list(aliases))
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client() -> TestClient:
    STORE.clear()
    return make_app(
        Alias("GET", "/api/things", "/api/v1/things", FLOW8_LIST),
        Alias("POST", "/api/things", "/api/v1/things", DEVFLOW),
        Alias("GET", "/api/things/{task_id}", "/api/v1/things/{task_id}", DEVFLOW),
        Alias(
            "GET",
            "/api/v1/things/",
            "/api/v1/things",
            Presenter(query=renamed_query({"status_filter": "status"})),
        ),
    )


def test_a_trailing_slash_is_served_not_redirected(client):
    created = client.post("/api/v1/things/", json={"name": "a"})
    assert created.status_code == 201 and created.json()["name"] == "a"


def test_an_id_that_is_not_a_uuid_is_a_404_with_the_resources_code_not_a_422(client):
    answer = client.get("/api/v1/things/123")
    assert answer.status_code == 404
    assert (answer.json()["detail"], answer.json()["code"]) == ("Task not found", "NOT_FOUND")


def test_a_static_segment_is_never_taken_for_an_id(client):
    assert client.get("/api/v1/things/stats").json() == {"count": 0}


def test_a_prefixed_uuid_reaches_the_same_resource(client):
    thing = client.post("/api/v1/things", json={"name": "a"}).json()
    assert client.get(f"/api/v1/things/task-{thing['thing_id']}").json() == thing


def test_an_alias_runs_the_canonical_route_through_its_presenter(client):
    created = client.post(
        "/api/things", json={"name": "a", "agentKey": "k", "context": {"issueId": "1"}}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["agentKey"] == "k" and body["thingId"]
    assert body["context"] == {"issueId": "1"}  # a free-form object keeps its keys


def test_a_flow8_list_is_zero_based_with_data_total_page_size_pages(client):
    for n in range(3):
        client.post("/api/v1/things", json={"name": str(n)})
    page = client.get("/api/things", params={"page": 1, "size": 2}).json()
    assert {k: v for k, v in page.items() if k != "data"} == {
        "total": 3,
        "page": 1,
        "size": 2,
        "pages": 2,
    }
    assert [t["name"] for t in page["data"]] == ["2"]


def test_a_query_presenter_renames_parameters(client):
    assert client.get("/api/v1/things/", params={"status_filter": "done"}).json()["status"] == (
        "done"
    )


def test_an_alias_presents_errors_in_its_seeds_words(client):
    missing = client.get(f"/api/things/{uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "Task not found"
    invalid = client.post("/api/things", json={"agentKey": "k"})
    assert invalid.status_code == 400
    assert (invalid.json()["error"], invalid.json()["details"]) == (
        "Missing required fields",
        ["name"],
    )


def test_an_alias_of_one_method_does_not_answer_405_to_another(client):
    assert client.post("/api/v1/things/", json={"name": "b"}).status_code == 201


def test_every_error_carries_the_seeds_fields(client):
    body = client.get("/api/v1/things/123").json()
    assert body["message"] == body["detail"] and body["error"] == body["code"]
    assert body["statusCode"] == 404 and body["timestamp"].endswith("Z")


def test_an_alias_must_not_point_at_itself():
    with pytest.raises(ValueError, match="itself"):
        Alias("GET", "/x", "/x").route()


def test_the_not_found_error_of_a_parameter_names_its_resource():
    assert isinstance(not_found_for("task_id", "x"), TaskNotFound)
    assert type(not_found_for("nothing_id", "x")) is NotFound


def test_free_form_objects_are_never_rekeyed():
    body = {"resultFiles": {"commitSha": "a"}, "prUrl": "u", "nested": {"someKey": 1}}
    assert rekeyed(body, snake) == {
        "result_files": {"commitSha": "a"},
        "pr_url": "u",
        "nested": {"some_key": 1},
    }


def test_flow8_spells_401_unauthorized_and_devflow_titles_it():
    exchange = Exchange({}, {})
    body = {"detail": "Authentication required", "code": "NOT_AUTHENTICATED"}
    assert flow8_error(401, body, exchange)[1]["error"] == "UNAUTHORIZED"
    assert devflow_error(401, body, exchange)[1]["error"] == "Invalid or expired token"


def test_a_flow8_list_pages_a_list_that_does_not_page_itself():
    answer = {"api_keys": [1, 2, 3], "total": 3}
    page = flow8_list(answer, Exchange({}, {"page": "1", "size": "2"}))
    assert page == {"data": [3], "total": 3, "page": 1, "size": 2, "pages": 2}


def test_no_route_of_the_product_is_shadowed_by_an_earlier_one():
    """Static segments win over ``{id}`` (``/tasks/stats``): no path of a route is taken by a
    route registered before it, for the same method."""
    from fastapi.routing import APIRoute

    from interfaces.api.app import PLATFORM_ROUTERS
    from interfaces.features import FEATURES

    routers = [r for feature in FEATURES for r in feature.routers] + list(PLATFORM_ROUTERS)
    alias.install(FastAPI(), routers, [])
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    for later_index, later in enumerate(routes):
        if "{" in later.path:
            continue
        for earlier in routes[:later_index]:
            same_method = earlier.methods & later.methods
            assert not (same_method and earlier.path_regex.match(later.path)), (
                f"{later.path} is shadowed by {earlier.path}"
            )


def test_every_alias_of_the_product_points_at_a_route_that_exists():
    from interfaces.api.app import PLATFORM_ALIASES, PLATFORM_ROUTERS
    from interfaces.features import FEATURES

    routers = [r for feature in FEATURES for r in feature.routers] + list(PLATFORM_ROUTERS)
    paths = {
        (m, route.path_format)
        for r in routers
        for route in r.routes
        for m in getattr(route, "methods", None) or {"WS"}
    }
    aliases = [a for feature in FEATURES for a in feature.aliases] + list(PLATFORM_ALIASES)
    missing = [a for a in aliases if (a.canonical_method, a.to) not in paths]
    assert missing == []


class GizmoNotFound(NotFound):
    """A resource with its own not-found code, as flows will have (FLOW_NOT_FOUND)."""

    kind = "gizmo"
    code = "GIZMO_NOT_FOUND"


def test_a_resource_names_its_own_not_found_code():
    gizmos = APIRouter(prefix="/api/v1/gizmos")

    @gizmos.get("/{gizmo_id}")
    def get_gizmo(gizmo_id: UUID) -> dict[str, str]:
        raise GizmoNotFound(gizmo_id)

    app = FastAPI()
    errors.install(app)
    alias.install(app, [gizmos], [])
    client = TestClient(app, raise_server_exceptions=False)
    for path in (f"/api/v1/gizmos/{uuid4()}", "/api/v1/gizmos/65abc123"):
        answer = client.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, "GIZMO_NOT_FOUND")
        assert answer.json()["error"] == "GIZMO_NOT_FOUND"


def test_a_devflow_list_adds_has_more_in_camel_case():
    answer = {"agents": [{"agent_id": "a", "last_heartbeat": None}], "total": 3, "has_more": True}
    page = devflow_list({**answer, "limit": 1, "offset": 0}, Exchange({}, {}))
    assert page["hasMore"] is True and page["agents"] == [{"agentId": "a", "lastHeartbeat": None}]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 0)
