"""Idempotency-Key through a real server: a retried POST creates one task, answered twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.live_client import register


@pytest.fixture
def client(base_url) -> httpx.Client:
    _, headers = register(base_url)
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def test_a_retried_create_answers_the_first_task_and_creates_one(client):
    key = {"Idempotency-Key": "create-report-1"}
    first = client.post("/api/v1/tasks", json={"name": "report"}, headers=key)
    again = client.post("/api/v1/tasks", json={"name": "report"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get("/api/v1/tasks").json()["total"] == 1


def test_the_same_key_with_another_body_is_a_422(client):
    key = {"Idempotency-Key": "k"}
    client.post("/api/v1/tasks", json={"name": "a"}, headers=key)
    other = client.post("/api/v1/tasks", json={"name": "b"}, headers=key)
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_another_user_with_the_same_key_gets_their_own_answer(client, base_url):
    _, stranger = register(base_url)
    key = {"Idempotency-Key": "shared"}
    mine = client.post("/api/v1/tasks", json={"name": "x"}, headers=key).json()
    theirs = httpx.post(
        f"{base_url}/api/v1/tasks", json={"name": "x"}, headers={**stranger, **key}
    ).json()
    assert mine["task_id"] != theirs["task_id"]


def test_concurrent_duplicates_create_one_task(client):
    """Sent at once: one runs; the others answer its answer, or 409 while it still runs."""
    key = {"Idempotency-Key": "at-once"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/api/v1/tasks", json={"name": "once"}, headers=key),
                range(4),
            )
        )
    created = {a.json()["task_id"] for a in answers if a.status_code == 201}
    busy = [a.json()["code"] for a in answers if a.status_code == 409]
    assert len(created) == 1 and set(busy) <= {"IDEMPOTENCY_KEY_IN_USE"}
    assert len(busy) + sum(a.status_code == 201 for a in answers) == 4
    assert client.get("/api/v1/tasks").json()["total"] == 1
