"""A task's history and its past states over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.test_tasks_api import account


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def live_states(client):
    """A scenario on one task: the state the API answered and the time after each command."""
    created = client.post("/api/v1/tasks", json={"name": "draft", "priority": "low"}).json()
    url = f"/api/v1/tasks/{created['task_id']}"
    states = [(datetime.now(UTC), created)]
    for body in ({"name": "final"}, {"status": "in_progress"}, {"priority": "high"}):
        answered = client.put(url, json=body).json()
        states.append((datetime.now(UTC), answered))
    return url, states


FIELDS = ("name", "status", "priority", "description", "tags", "version")


def test_time_travel_over_http_returns_each_state_the_api_answered_at_that_moment(client):
    url, states = live_states(client)
    for moment, live in states:
        past = client.get(url, params={"as_of": moment.isoformat()})
        assert past.status_code == 200
        assert {k: past.json()[k] for k in FIELDS} == {k: live[k] for k in FIELDS}
        by_version = client.get(url, params={"version": live["version"]}).json()
        assert {k: by_version[k] for k in FIELDS} == {k: live[k] for k in FIELDS}
    before = states[0][0] - timedelta(hours=1)
    assert client.get(url, params={"as_of": before.isoformat()}).status_code == 404


def test_the_history_gives_envelopes_in_order_with_positions_actor_and_correlation(client):
    url, states = live_states(client)
    history = client.get(f"{url}/history", headers={"X-Request-ID": "trace-1"})
    assert history.status_code == 200
    events = history.json()["events"]
    assert [e["type"] for e in events] == [
        "task.created",
        "task.updated",
        "task.status_changed",
        "task.updated",
    ]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and positions[-1] == states[-1][1]["position"]
    assert events[0]["actor"].startswith("user:")
    assert events[0]["data"]["name"] == "draft" and events[1]["data"]["changes"] == {
        "name": "final"
    }
    assert all(e["correlation_id"] and e["occurred_at"] for e in events)


def test_another_users_history_is_404_and_a_deleted_tasks_stays_readable(base_url, client):
    url, _ = live_states(client)
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        assert stranger.get(f"{url}/history").status_code == 404
        assert stranger.get(url, params={"version": 1}).status_code == 404
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    history = client.get(f"{url}/history").json()["events"]
    assert history[-1]["type"] == "task.deleted"
    assert client.get(url, params={"version": 4}).json()["priority"] == "high"
    assert client.get(url, params={"version": 5}).status_code == 404
