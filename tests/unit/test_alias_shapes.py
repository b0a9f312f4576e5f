"""What an alias may change beyond paths and bodies, on a small app (no servers): the method,
the success status, the Location header, the seed's own parameter names, a body the seed
refuses; and how aliases are documented in OpenAPI (each its own operation id)."""

from __future__ import annotations

import warnings
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import APIRouter, FastAPI, Response

from domain.task import TaskNotFound
from interfaces.api import alias, errors
from interfaces.api.alias import Alias, Presenter, Refused
from interfaces.api.alias_openapi import operation_id, with_aliases
from interfaces.api.presenters import DEVFLOW, devflow_error

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

router = APIRouter(prefix="/api/v1/jobs")
JOBS: dict[UUID, dict[str, Any]] = {}


@router.post("", status_code=202)
def start_job(response: Response, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start a job."""
    job = {"job_id": str(uuid4()), "state": "running", **(body or {})}
    JOBS[UUID(job["job_id"])] = job
    response.headers["Location"] = f"/api/v1/jobs/{job['job_id']}"
    return job


@router.get("/{task_id}")
def get_job(task_id: UUID) -> dict[str, Any]:
    """One job."""
    if task_id not in JOBS:
        raise TaskNotFound(task_id)
    return JOBS[task_id]


@router.post("/{task_id}/stop")
def stop_job(task_id: UUID) -> dict[str, Any]:
    """Stop a job."""
    job = get_job(task_id)
    job["state"] = "stopped"
    return job


def needs_owner(document: Any, _: Any) -> Any:
    if isinstance(document, dict) and "owner" not in document:
        raise Refused([{"type": "missing", "loc": ["body", "owner"], "msg": "required"}])
    return document


ALIASES = [
    Alias(
        "POST",
        "/seed/jobs",
        "/api/v1/jobs",
        Presenter(status=200, location=("/api/v1/jobs/", "/seed/jobs/"), error=devflow_error),
    ),
    Alias(
        "POST", "/checked/jobs", "/api/v1/jobs", Presenter(body=needs_owner, error=devflow_error)
    ),
    Alias("GET", "/seed/jobs/{id}", "/api/v1/jobs/{task_id}", DEVFLOW),
    Alias("DELETE", "/seed/jobs/{id}", "/api/v1/jobs/{task_id}/stop", to_method="POST"),
]


@pytest.fixture
def app() -> FastAPI:
    JOBS.clear()
    built = FastAPI()
    errors.install(built)
    alias.install(built, [router], ALIASES)
    built.openapi = with_aliases(built.openapi, ALIASES)  # type: ignore[method-assign]
    return built


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def test_an_alias_answers_the_seeds_status_and_location(client):
    started = client.post("/seed/jobs", json={})
    assert started.status_code == 200
    assert started.headers["location"] == f"/seed/jobs/{started.json()['job_id']}"
    assert client.post("/api/v1/jobs").status_code == 202  # the canonical route is unchanged


def test_an_alias_names_its_parameters_its_own_way(client):
    job = client.post("/api/v1/jobs").json()
    assert client.get(f"/seed/jobs/{job['job_id']}").json()["jobId"] == job["job_id"]
    missing = client.get("/seed/jobs/not-a-uuid")
    assert (missing.status_code, missing.json()["error"]) == (404, "Task not found")


def test_an_alias_may_be_served_by_a_route_of_another_method(client):
    job = client.post("/api/v1/jobs").json()
    stopped = client.delete(f"/seed/jobs/{job['job_id']}")
    assert (stopped.status_code, stopped.json()["state"]) == (200, "stopped")


def test_a_body_the_seed_refuses_is_answered_in_the_seeds_words(client):
    refused = client.post("/checked/jobs", json={"name": "x"})
    assert refused.status_code == 400
    assert (refused.json()["error"], refused.json()["details"]) == (
        "Missing required fields",
        ["owner"],
    )
    assert client.post("/checked/jobs", json={"owner": "me"}).status_code == 202


def test_params_of_an_alias_are_matched_by_name_or_by_position():
    assert Alias("GET", "/a/{task_id}", "/b/{task_id}").names() == {"task_id": "task_id"}
    assert Alias("GET", "/a/{id}/x/{y}", "/b/{flow_id}/{step_id}").names() == {
        "id": "flow_id",
        "y": "step_id",
    }
    with pytest.raises(ValueError, match="other parameters"):
        Alias("GET", "/a/{id}", "/b").names()


def test_every_alias_is_documented_with_its_own_operation_id_and_parameter_names(app):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        schema = app.openapi()
    seed = schema["paths"]["/seed/jobs/{id}"]
    operation = seed["get"]
    assert operation["operationId"] == "seed_get_seed_jobs_id"
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["id"]
    assert "400" in operation["responses"]  # DevFlow's invalid body
    assert "/api/v1/jobs/{task_id}" in operation["description"]
    assert seed["delete"]["operationId"] == operation_id(ALIASES[3])
    assert "200" in schema["paths"]["/seed/jobs"]["post"]["responses"]
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == 7


def test_an_alias_that_is_also_a_route_is_refused_when_documented():
    built = FastAPI()
    twice = [
        Alias("GET", "/api/v1/jobs/{task_id}", "/api/v1/jobs/{task_id}/stop", to_method="POST")
    ]
    alias.install(built, [router], [])
    with pytest.raises(ValueError, match="both a route and an alias"):
        with_aliases(built.openapi, twice)()
