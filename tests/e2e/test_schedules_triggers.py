"""Schedules and triggers through a real server, at every seed spelling: /api/v1/schedules,
flow8's /api/schedules, Behflow's processes, 002's triggers with toggle and history, and a
trigger chain (a task completed starts a run)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.flow_helpers import account

STEPS = [{"key": "t", "name": "t", "type": "task", "config": {"name": "from a trigger"}}]


@pytest.fixture
def client(base_url: str):
    with httpx.Client(base_url=base_url, headers=account(base_url), timeout=30) as c:
        yield c


def flow(client: httpx.Client) -> str:
    made = client.post("/api/v1/flows", json={"name": "triggered", "steps": STEPS})
    assert made.status_code == 201, made.text
    return str(made.json()["flow_id"])


def eventually(probe: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_schedule_is_created_listed_changed_and_deleted_with_its_next_fire_time(client):
    flow_id = flow(client)
    bad = client.post("/api/v1/schedules", json={"flow_id": flow_id, "cron": "99 * * *"})
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_CRON"
    zone = client.post(
        "/api/v1/schedules", json={"flow_id": flow_id, "cron": "0 9 * * *", "timezone": "X/Y"}
    )
    assert zone.status_code == 422 and zone.json()["code"] == "UNKNOWN_TIMEZONE"
    made = client.post(
        "/api/v1/schedules",
        json={"flow_id": flow_id, "cron": "30 2 * * *", "timezone": "America/New_York"},
    )
    assert made.status_code == 201, made.text
    schedule = made.json()
    assert schedule["next_fire_at"] and schedule["last_run_id"] is None
    assert schedule["overlap_policy"] == "skip" and schedule["catchup_policy"] == "latest"
    sid = schedule["schedule_id"]
    listed = client.get("/api/v1/schedules", params={"flow_id": flow_id}).json()
    assert [s["schedule_id"] for s in listed["schedules"]] == [sid]
    changed = client.put(f"/api/v1/schedules/{sid}", json={"enabled": False})
    assert changed.status_code == 200 and changed.json()["next_fire_at"] is None
    assert client.delete(f"/api/v1/schedules/{sid}").status_code == 204
    assert client.get(f"/api/v1/schedules/{sid}").json()["code"] == "SCHEDULE_NOT_FOUND"


def test_flow8_schedules_and_behflow_processes_show_the_same_schedule(client):
    flow_id = flow(client)
    made = client.post("/api/schedules", json={"flow_id": flow_id, "schedule": "0 9 * * *"})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    page = client.get("/api/schedules").json()
    assert page["page"] == 0 and [s["id"] for s in page["data"]] == [sid]
    assert client.put(f"/api/schedules/{sid}", json={"cron": "0 10 * * *"}).status_code == 200
    processes = client.get("/api/v1/processes").json()["processes"]
    (process,) = [p for p in processes if p["process_id"] == flow_id]
    assert process["trigger_type"] == "time_based" and process["schedule"] == "0 10 * * *"
    assert client.delete(f"/api/schedules/{sid}").status_code == 204
    processes = client.get("/api/v1/processes").json()["processes"]
    (process,) = [p for p in processes if p["process_id"] == flow_id]
    assert process["trigger_type"] == "manual" and process["schedule"] is None


def test_a_completed_task_starts_one_run_through_an_event_trigger(client, base_url):
    flow_id = flow(client)
    body = {
        "name": "on completion",
        "type": "event",
        "config": {"event": "task.*", "filter": {"data.to_status": "completed"}},
        "action": {"type": "run_flow", "flow_id": flow_id, "inputs": {"why": "chain"}},
    }
    made = client.post("/api/v1/triggers", json=body)
    assert made.status_code == 201, made.text
    tid = made.json()["trigger_id"]
    assert made.json()["type"] == "event_based"
    processes = client.get("/api/v1/processes").json()["processes"]
    assert [p["trigger_type"] for p in processes if p["process_id"] == flow_id] == ["event_based"]
    task = client.post("/api/v1/tasks", json={"name": "chain me"}).json()
    client.put(f"/api/v1/tasks/{task['task_id']}", json={"status": "in_progress"})
    client.put(f"/api/v1/tasks/{task['task_id']}", json={"status": "completed"})
    runs = eventually(
        lambda: client.get("/api/v1/runs", params={"flow_id": flow_id}).json()["runs"]
    )
    assert len(runs) == 1 and runs[0]["inputs"] == {"why": "chain"}
    history = eventually(
        lambda: [
            h
            for h in client.get(f"/api/v1/triggers/{tid}/history").json()["history"]
            if h["outcome"] == "started"
        ]
    )
    assert [h["run_id"] for h in history] == [runs[0]["run_id"]]
    outcomes = {
        h["outcome"] for h in client.get(f"/api/v1/triggers/{tid}/history").json()["history"]
    }
    assert outcomes == {"started", "filtered"}  # task.created, in_progress: filtered (once)
    other = httpx.Client(base_url=base_url, headers=account(base_url))
    theirs = other.post("/api/v1/tasks", json={"name": "not yours"}).json()
    other.put(f"/api/v1/tasks/{theirs['task_id']}", json={"status": "completed"})
    mine = client.post("/api/v1/tasks", json={"name": "mine again"}).json()
    client.put(f"/api/v1/tasks/{mine['task_id']}", json={"status": "completed"})

    # The matcher follows the log in order: once the run of my second completion exists, the
    # other user's completion (recorded before it) has been looked at and started nothing.
    def runs_of_flow() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = client.get(
            "/api/v1/runs", params={"flow_id": flow_id}
        ).json()["runs"]
        return found if len(found) > 1 else []

    assert len(eventually(runs_of_flow)) == 2
    toggled = client.post(f"/api/v1/triggers/{tid}/toggle")
    assert toggled.status_code == 200 and toggled.json()["enabled"] is False
    again = client.post(f"/api/v1/triggers/{tid}/toggle", json={"enabled": True})
    assert again.json()["enabled"] is True


def test_a_time_based_trigger_is_also_a_schedule(client):
    flow_id = flow(client)
    body = {
        "name": "nightly",
        "type": "cron",
        "config": {"cron": "0 3 * * *", "timezone": "Europe/Paris"},
        "action": {"flow_id": flow_id},
    }
    made = client.post("/api/v1/triggers", json=body)
    assert made.status_code == 201 and made.json()["type"] == "time_based", made.text
    assert made.json()["next_fire_at"]
    schedules = client.get("/api/v1/schedules", params={"flow_id": flow_id}).json()["schedules"]
    assert [(s["schedule_id"], s["timezone"]) for s in schedules] == [
        (made.json()["trigger_id"], "Europe/Paris")
    ]


def test_a_trigger_of_another_user_or_an_unknown_id_is_404(client, base_url):
    flow_id = flow(client)
    body = {
        "name": "n",
        "type": "event_based",
        "config": {"event": "task.created"},
        "action": {"flow_id": flow_id},
    }
    tid = client.post("/api/v1/triggers", json=body).json()["trigger_id"]
    other = httpx.Client(base_url=base_url, headers=account(base_url))
    assert other.get(f"/api/v1/triggers/{tid}").status_code == 404
    assert client.get(f"/api/v1/triggers/{uuid.uuid4()}").json()["code"] == "TRIGGER_NOT_FOUND"
    assert other.post("/api/v1/triggers", json=body).status_code == 404  # not their flow
