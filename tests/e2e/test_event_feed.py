"""GET /api/v1/events over HTTP: only the caller's events, in order, filtered, paginated."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.test_tasks_api import account


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def all_events(client: httpx.Client, **params) -> list[dict]:
    events, after = [], 0
    while True:
        page = client.get("/api/v1/events", params={**params, "after": after}).json()
        events += page["events"]
        after = page["next_after"]
        if not page["has_more"]:
            return events


def test_the_feed_holds_my_registration_and_every_change_of_my_task_in_order(client):
    task = client.post("/api/v1/tasks", json={"name": "feed me"}).json()
    client.put(f"/api/v1/tasks/{task['task_id']}", json={"name": "fed", "status": "completed"})
    client.delete(f"/api/v1/tasks/{task['task_id']}")
    events = all_events(client)
    assert events[0]["type"] == "user.registered"
    assert "username.claimed" in {e["type"] for e in events}
    events = [e for e in events if e["aggregate_id"] == task["task_id"]]
    assert [e["type"] for e in events] == [
        "task.created",
        "task.updated",
        "task.status_changed",
        "task.deleted",
    ]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    assert events[1]["data"] == {"changes": {"name": "fed"}}
    assert events[2]["data"] == {"from_status": "not_started", "to_status": "completed"}
    assert "credential" not in json.dumps(all_events(client))


def test_another_users_events_never_appear_in_my_feed(base_url, client):
    mine = client.post("/api/v1/tasks", json={"name": "mine"}).json()
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        stranger.post("/api/v1/tasks", json={"name": "theirs"})
        theirs = all_events(stranger)
    ids = {e["aggregate_id"] for e in all_events(client)}
    assert mine["task_id"] in ids
    assert not ids & {e["aggregate_id"] for e in theirs}


def test_type_patterns_select_events_like_fnmatch(client):
    task = client.post("/api/v1/tasks", json={"name": "pattern"}).json()
    client.put(f"/api/v1/tasks/{task['task_id']}", json={"status": "in_progress"})
    assert {e["type"] for e in all_events(client, types="task.*")} == {
        "task.created",
        "task.status_changed",
    }
    both = all_events(client, types="user.*,*.status_changed")
    assert [e["type"] for e in both] == ["user.registered", "task.status_changed"]


def test_pages_follow_next_after_without_gap_or_repeat(client):
    for i in range(7):
        client.post("/api/v1/tasks", json={"name": f"page {i}"})
    pages, after = [], 0
    while True:
        page = client.get(
            "/api/v1/events", params={"after": after, "limit": 3, "types": "task.created"}
        ).json()
        pages.append(page["events"])
        after = page["next_after"]
        if not page["has_more"]:
            break
    flat = [e["data"]["name"] for page in pages for e in page]
    assert flat == [f"page {i}" for i in range(7)]
    assert [len(p) for p in pages] == [3, 3, 1]
    rest = client.get("/api/v1/events", params={"after": after}).json()
    assert rest["events"] == [] and rest["next_after"] == after


def test_the_feed_needs_a_token(base_url):
    assert httpx.get(f"{base_url}/api/v1/events").status_code == 401
