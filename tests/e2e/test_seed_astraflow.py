"""AstraFlow's document (seed 001): every example of tasks, users, webhooks, OAuth2 and rate limits
against a real server. Its example ids ("123") are the document's placeholders: a real task's id
stands in for them where the example acts on an existing task; as written they answer 404.

Ledgerflow's documented choices (README, "Seed map"): a new task is ``not_started`` (AstraFlow:
``pending``, accepted as input), DELETE answers 204 (Behflow's), and the example password
``secret`` fails the default password policy.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ERROR_FIELDS
from tests.integration.helpers import wait_for
from tests.webhook_receiver import Receiver

ADMIN = {"username": "astra_admin", "email": "a@b.com", "password": "correct-horse-9"}


@pytest.fixture(scope="module")
def client(server) -> httpx.Client:
    """The first account (an admin), signed in through OAuth2's POST /oauth/token by email."""
    assert httpx.post(f"{server.base_url}/register", json=ADMIN).status_code == 200
    form = {"grant_type": "password", "username": ADMIN["email"], "password": ADMIN["password"]}
    token = httpx.post(f"{server.base_url}/oauth/token", data=form)
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def created(client) -> dict:
    """The create example (001:L86), as written."""
    answer = client.post(
        "/api/v1/tasks",
        json={"name": "New", "due_date": "2025-07-01T12:00:00Z", "priority": "high"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_create_example_answers_id_name_status_due_date_priority(created):
    assert created["id"] == created["task_id"]
    assert (created["name"], created["due_date"], created["priority"]) == (
        "New",
        "2025-07-01T12:00:00Z",
        "high",
    )
    assert created["status"] == "not_started"  # documented deviation from "pending"


def test_the_list_example_filters_by_active_and_answers_page_and_total(client, created):
    client.put(f"/api/v1/tasks/{created['id']}", json={"status": "active"})
    # Sent exactly as written: the damaged "page;" and "per;_page" keys are ignored.
    answer = client.get("/api/v1/tasks?status=active&page;=1&per;_page=20")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["page"], body["total"]) == (1, 1)
    assert [(t["id"], t["name"], t["status"]) for t in body["tasks"]] == [
        (created["id"], "New", "in_progress")
    ]


def test_the_sdks_status_active_and_page_per_page_work(client, created):
    body = client.get("/api/v1/tasks", params={"status": "active", "page": 1, "per_page": 20})
    assert body.json()["page"] == 1 and body.json()["per_page"] == 20


def test_the_get_example_answers_the_task_and_its_placeholder_id_is_a_404(client, created):
    assert client.get("/api/v1/tasks/123").status_code == 404
    task = client.get(f"/api/v1/tasks/{created['id']}").json()
    assert {"id", "name", "description", "status", "created_at", "updated_at"} <= set(task)


def test_the_put_example_answers_id_status_and_updated_at(client, created):
    assert client.put("/api/v1/tasks/123", json={"status": "completed"}).status_code == 404
    answer = client.put(f"/api/v1/tasks/{created['id']}", json={"status": "completed"})
    body = answer.json()
    assert (body["id"], body["status"]) == (created["id"], "completed") and body["updated_at"]


def test_the_delete_example_deletes_with_204_instead_of_a_message(client):
    task = client.post("/api/v1/tasks", json={"name": "to delete"}).json()
    assert client.delete("/api/v1/tasks/123").status_code == 404
    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204  # Behflow's answer
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404


def test_the_users_example_answers_ids_emails_page_and_total(client):
    answer = client.get("/api/v1/users?role=admin&active;=true")
    body = answer.json()
    assert (body["page"], body["total"]) == (1, 1)
    assert [(u["email"], u["id"] == u["user_id"]) for u in body["users"]] == [("a@b.com", True)]


def test_the_create_user_example_password_fails_the_default_policy(client):
    example = client.post("/api/v1/users", json={"email": "new@af.com", "password": "secret"})
    assert example.status_code == 422 and example.json()["code"] == "WEAK_PASSWORD"
    strong = client.post("/api/v1/users", json={"email": "new@af.com", "password": "s3cret-enough"})
    assert strong.status_code == 201, strong.text
    body = strong.json()
    assert (body["email"], body["id"]) == ("new@af.com", body["user_id"]) and body["created_at"]


def test_the_new_user_signs_in_with_the_email(client, server):
    form = {"grant_type": "password", "username": "new@af.com", "password": "s3cret-enough"}
    assert httpx.post(f"{server.base_url}/oauth/token", data=form).status_code == 200


def test_a_webhook_on_task_updated_hears_status_changes(client):
    receiver = Receiver().start()
    try:
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url, "event": "task.updated"})
        assert hook.status_code == 201, hook.text
        receiver.secret = hook.json()["secret"]
        task = client.post("/api/v1/tasks", json={"name": "watched"}).json()
        client.put(f"/api/v1/tasks/{task['id']}", json={"status": "completed"})
        wait_for(lambda: len(receiver.received) >= 1)
        payload = receiver.received[0].payload
        assert (payload["type"], payload["event"]) == ("task.status_changed",) * 2
        assert payload["data"]["to_status"] == "completed" and not receiver.rejected
    finally:
        receiver.stop()


def test_every_answer_has_the_rate_limit_headers(client):
    headers = client.get("/api/v1/tasks").headers
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(headers)


def test_a_missing_token_is_a_401_with_every_error_field(server):
    answer = httpx.get(f"{server.base_url}/api/v1/tasks")
    assert answer.status_code == 401 and set(answer.json()) == ERROR_FIELDS
