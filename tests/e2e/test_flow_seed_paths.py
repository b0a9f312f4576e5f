"""Every seed's spelling of flows and runs through a real server: 002's /api/v1/workflows/,
flow8's /api/flows and /api/plays (envelope, zero-based pages, error form), Behflow's
/api/v1/processes and /execute."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.flow_helpers import account, finished, until


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def test_002_workflows_with_trailing_slashes_and_step_type(client):
    created = client.post(
        "/api/v1/workflows/",
        json={"name": "wf", "description": "d", "is_template": True, "config": {"k": 1}},
    )
    assert created.status_code == 201, created.text
    wf = created.json()
    assert wf["id"] == wf["flow_id"]
    step = client.post(
        f"/api/v1/workflows/{wf['id']}/steps",
        json={"name": "Do", "step_type": "task", "order": 0, "config": {"name": "x"}},
    )
    assert step.status_code == 201 and step.json()["type"] == "task"
    got = client.get(f"/api/v1/workflows/{wf['id']}").json()
    assert [s["key"] for s in got["steps"]] == ["do"]
    listed = client.get("/api/v1/workflows/").json()
    assert [w["id"] for w in listed["workflows"]] == [wf["id"]] and listed["total"] == 1
    assert client.get("/api/v1/workflows/not-a-uuid").status_code == 404
    assert client.delete(f"/api/v1/workflows/{wf['id']}").status_code == 204
    assert client.get(f"/api/v1/workflows/{wf['id']}").status_code == 404


def test_flow8_flows_layers_and_plays(client):
    flow = client.post("/api/flows", json={"name": "f8"}).json()
    assert flow["id"] == flow["flow_id"]
    layer = client.post(
        f"/api/flows/{flow['id']}/layers",
        json={"name": "L1", "type": "task", "config": {"name": "t", "wait_for_completion": True}},
    ).json()
    renamed = client.put(f"/api/flows/{flow['id']}/layers/{layer['id']}", json={"name": "Layer 1"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Layer 1"
    layers = client.get(f"/api/flows/{flow['id']}/layers").json()
    assert layers["total"] == 1 and layers["page"] == 0 and layers["data"][0]["id"] == layer["id"]
    assert client.put(f"/api/flows/{flow['id']}", json={"description": "x"}).status_code == 200
    page = client.get("/api/flows", params={"page": 0, "size": 25}).json()
    assert set(page) == {"data", "total", "page", "size", "pages"}
    assert page["total"] == 1 and page["pages"] == 1
    play = client.post(f"/api/flows/{flow['id']}/run")
    assert play.status_code == 202 and play.json()["id"] == play.json()["run_id"]
    play_id = play.json()["id"]
    until(client, play_id, lambda r: r["steps"][0]["status"] == "waiting")
    assert client.get(f"/api/plays/{play_id}").json()["status"] == "waiting"
    layer_results = client.get(f"/api/plays/{play_id}/layers").json()
    assert layer_results["data"][0]["status"] == "waiting"
    approve = client.post(f"/api/plays/{play_id}/approve")
    assert approve.status_code == 409 and approve.json()["statusCode"] == 409
    cancelled = client.delete(f"/api/plays/{play_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get(f"/api/plays/{play_id}").json()["status"] == "cancelled"
    plays = client.get("/api/plays", params={"page": 0, "size": 10}).json()
    assert [p["id"] for p in plays["data"]] == [play_id] and plays["size"] == 10
    assert client.delete(f"/api/flows/{flow['id']}/layers/{layer['id']}").status_code == 204
    assert client.delete(f"/api/flows/{flow['id']}").status_code == 204


def test_flow8_errors_have_its_form(base_url, client):
    missing = client.get("/api/flows/65abc123")
    assert missing.status_code == 404
    assert (
        missing.json().items()
        >= {
            "error": "FLOW_NOT_FOUND",
            "message": "Flow with ID 65abc123 not found",
            "statusCode": 404,
        }.items()
    )
    anonymous = httpx.get(f"{base_url}/api/flows")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "UNAUTHORIZED"
    bad = client.post("/api/flows", json={"name": "x", "steps": [{"name": "a", "type": "nope"}]})
    assert bad.status_code == 422 and bad.json()["error"] == "UNKNOWN_STEP_TYPE"


def test_behflow_processes_list_and_execute_with_its_exact_fields(client):
    flow = client.post(
        "/api/v1/flows",
        json={
            "name": "Morning report",
            "description": "daily",
            "steps": [{"name": "t", "type": "task", "config": {"name": "r"}}],
        },
    ).json()
    listed = client.get("/api/v1/processes").json()
    (process,) = listed["processes"]
    assert set(process) == {
        "process_id", "name", "description", "trigger_type", "schedule", "is_active",
        "last_execution",
    }  # fmt: skip
    assert process["process_id"] == flow["flow_id"] and process["trigger_type"] == "manual"
    assert process["last_execution"] is None
    executed = client.post(f"/api/v1/processes/{flow['flow_id']}/execute")
    assert executed.status_code == 200
    body = executed.json()
    assert set(body) == {
        "execution_id", "process_id", "status", "message", "started_at", "completed_at"
    }  # fmt: skip
    assert body["status"] == "running" and body["completed_at"] is None
    assert finished(client, body["execution_id"])["status"] == "succeeded"
    again = client.get("/api/v1/processes").json()["processes"][0]
    assert again["last_execution"] is not None
    missing = client.post(f"/api/v1/processes/{uuid.uuid4()}/execute")
    assert missing.status_code == 404 and missing.json()["detail"] == "Resource not found"
