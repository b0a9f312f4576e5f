"""DevFlow's document (seed 003): a task read with a user token, webhook payloads, errors and
rate-limit headers against a real server. Its agent examples (register, list, commands,
heartbeat, progress/complete/fail, workflow execution) run in ``test_devflow_agents.py`` and its
JS example verbatim in ``test_devflow_js.py``; PIN login is pending (README's seed map).
``task-id`` in the document's JS example is a placeholder.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.live_client import register
from tests.integration.helpers import wait_for
from tests.webhook_receiver import Receiver

NULLS = ("agentId", "intent", "repo", "branch", "progress", "currentStep", "startedAt")


@pytest.fixture(scope="module")
def user(server) -> httpx.Client:
    _, headers = register(server.base_url)
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def task(user) -> dict:
    answer = user.post("/api/v1/tasks", json={"name": "Fix null pointer exception"})
    assert answer.status_code == 201
    return answer.json()


def test_get_task_answers_devflows_shape_with_nulls_written_out(user, task):
    answer = user.get(f"/api/tasks/{task['id']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["id"], body["status"]) == (task["id"], "not_started")
    assert body["userId"] and body["createdAt"] == task["created_at"]
    assert all(body[name] is None for name in NULLS)
    assert body["completedAt"] is None and body["error"] is None


def test_a_task_prefixed_id_is_the_same_task(user, task):
    assert user.get(f"/api/tasks/task-{task['id']}").json()["id"] == task["id"]


def test_a_placeholder_id_is_devflows_task_not_found(user):
    answer = user.get("/api/tasks/task-id")
    assert answer.status_code == 404
    body = answer.json()
    assert (body["error"], body["statusCode"]) == ("Task not found", 404)
    assert body["message"] and body["timestamp"].endswith("Z")


def test_a_bad_token_is_devflows_invalid_or_expired_token(server, task):
    answer = httpx.get(
        f"{server.base_url}/api/tasks/{task['id']}", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "Invalid or expired token"


def test_a_devflow_webhook_receives_event_and_camel_case_data(user):
    receiver = Receiver().start()
    try:
        hook = user.post(
            "/api/v1/webhooks",
            json={
                "url": receiver.url,
                "events": ["task.created", "task.completed"],
                "format": "devflow",
            },
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["format"] == "devflow"
        receiver.secret = hook.json()["secret"]
        task = user.post("/api/v1/tasks", json={"name": "hooked"}).json()
        user.put(f"/api/v1/tasks/{task['id']}", json={"status": "completed"})
        wait_for(lambda: len(receiver.received) >= 2)
        # Deliveries run concurrently: they may arrive in either order.
        by_event = {r.payload["event"]: r.payload for r in receiver.received}
        assert set(by_event) == {"task.created", "task.completed"}
        created, completed = by_event["task.created"], by_event["task.completed"]
        assert created["event"] == "task.created"
        assert (created["data"]["taskId"], created["data"]["name"]) == (task["id"], "hooked")
        assert created["data"]["userId"]
        assert completed["event"] == "task.completed"
        assert (completed["data"]["taskId"], completed["data"]["status"]) == (
            task["id"],
            "completed",
        )
        assert completed["data"]["completedAt"] and not receiver.rejected
    finally:
        receiver.stop()


def test_answers_carry_the_rate_limit_headers(user, task):
    headers = user.get(f"/api/tasks/{task['id']}").headers
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(headers)
