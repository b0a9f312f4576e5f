"""Behflow's documented examples, run as written against a real server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

EXAMPLES = Path(__file__).parent / "behflow"
JOHN = {"username": "johndoe", "password": "securepass123"}


def run_example(name: str, base_url: str, token: str = "") -> str:
    text = (EXAMPLES / name).read_text()
    text = text.replace("http://localhost:8000", base_url).replace("<token>", token)
    if name.endswith(".sh"):
        command = ["bash", "-c", text.replace("curl ", "curl -sS ", 1)]
    elif name.endswith(".py"):
        command = [sys.executable, "-c", text]
    else:
        command = ["node", "--input-type=module", "-e", text]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def john(server) -> dict:
    """johndoe registered with the documented curl example."""
    answer = json.loads(run_example("register.sh", server.base_url))
    return answer


def token_of(base_url: str) -> str:
    return json.loads(run_example("login.sh", base_url))["token"]


def test_the_register_example_creates_john(john):
    assert set(john) == {"user_id", "username", "name", "lastname"}
    assert (john["username"], john["name"], john["lastname"]) == ("johndoe", "John", "Doe")


def test_registering_the_same_username_again_is_a_400(john, base_url):
    again = httpx.post(f"{base_url}/register", json={**JOHN, "name": "J", "lastname": "D"})
    assert again.status_code == 400
    assert again.json()["detail"] == "Username already exists"


def test_the_login_example_returns_a_token_and_the_user(john, base_url):
    answer = json.loads(run_example("login.sh", base_url))
    assert answer["token"] and answer["user"] == john


def test_a_wrong_password_is_a_401(john, base_url):
    answer = httpx.post(f"{base_url}/login", json={"username": "johndoe", "password": "nope"})
    assert answer.status_code == 401 and answer.json()["detail"] == "Invalid credentials"


def test_the_me_example_with_a_bare_token_returns_john(john, base_url):
    assert json.loads(run_example("me.sh", base_url, token_of(base_url))) == john


def test_me_accepts_a_bearer_token_and_refuses_none(john, base_url):
    token = token_of(base_url)
    assert httpx.get(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"}).json() == john
    missing = httpx.get(f"{base_url}/me")
    assert missing.status_code == 401
    assert missing.json()["detail"] == "Authentication required or invalid token"


def created_task_id(output: str) -> str:
    found = re.fullmatch(r"Created task: ([0-9a-f-]{36})\n", output)
    assert found, output
    return found.group(1)


def test_the_python_example_creates_a_task(john, base_url):
    task_id = created_task_id(run_example("example.py", base_url))
    headers = {"Authorization": token_of(base_url)}
    task = httpx.get(f"{base_url}/api/v1/tasks/{task_id}", headers=headers).json()
    assert (task["name"], task["priority"], task["status"]) == (
        "Review documentation",
        "high",
        "not_started",
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_example_creates_a_task(john, base_url):
    task_id = created_task_id(run_example("example.mjs", base_url))
    headers = {"Authorization": token_of(base_url)}
    listed = httpx.get(f"{base_url}/api/v1/tasks", headers=headers).json()
    assert task_id in [t["task_id"] for t in listed["tasks"]]


def test_the_task_contract_create_list_update_delete(john, base_url):
    headers = {"Authorization": token_of(base_url)}
    body = {
        "name": "Ship it",
        "description": "the release",
        "priority": "urgent",
        "due_date": "2025-12-31T23:59:59Z",
        "tags": ["project", "urgent"],
    }
    created = httpx.post(f"{base_url}/api/v1/tasks", json=body, headers=headers)
    assert created.status_code == 201
    task = created.json()
    assert {k: task[k] for k in body} == body and task["status"] == "not_started"
    for key in ("task_id", "created_at", "updated_at"):
        assert task[key]
    url = f"{base_url}/api/v1/tasks/{task['task_id']}"

    updated = httpx.put(url, json={"status": "in_progress", "priority": "high"}, headers=headers)
    assert updated.status_code == 200
    assert (updated.json()["status"], updated.json()["priority"]) == ("in_progress", "high")

    by_status = httpx.get(
        f"{base_url}/api/v1/tasks", params={"status": "in_progress"}, headers=headers
    ).json()["tasks"]
    assert [t["task_id"] for t in by_status] == [task["task_id"]]
    by_priority = httpx.get(
        f"{base_url}/api/v1/tasks", params={"priority": "urgent"}, headers=headers
    ).json()["tasks"]
    assert by_priority == []
    listed = httpx.get(f"{base_url}/api/v1/tasks", headers=headers).json()["tasks"]
    mine = next(t for t in listed if t["task_id"] == task["task_id"])
    assert mine["tags"] == ["project", "urgent"] and mine["due_date"] == "2025-12-31T23:59:59Z"

    assert httpx.delete(url, headers=headers).status_code == 204
    assert httpx.get(url, headers=headers).status_code == 404
    assert httpx.put(url, json={"name": "x"}, headers=headers).status_code == 404
    assert httpx.delete(url, headers=headers).status_code == 404


@pytest.mark.parametrize("query", [{"status": "done"}, {"priority": "critical"}])
def test_an_unknown_filter_value_is_refused(john, base_url, query):
    answer = httpx.get(
        f"{base_url}/api/v1/tasks", params=query, headers={"Authorization": token_of(base_url)}
    )
    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


def test_health_answers_healthy_with_version_and_timestamp(base_url):
    health = httpx.get(f"{base_url}/health").json()
    assert health["status"] == "healthy" and health["version"] and health["timestamp"]
