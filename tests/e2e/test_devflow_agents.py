"""DevFlow's agent API (003) through a real server: registration with an agent token, polling,
heartbeat, progress, completion, failure, DevFlow's error bodies and isolation between users."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from tests.e2e.test_tasks_api import account

HEARTBEAT = {
    "status": "ready",
    "uptime": 3600,
    "taskCount": 5,
    "memoryUsage": 256,
    "cpuUsage": 12.5,
}
COMPLETE = {
    "success": True,
    "summary": "Fixed null pointer exception in auth service",
    "output": "Created PR #456 with fix and tests",
    "prUrl": "https://github.com/user/repo/pull/456",
    "resultFiles": {"commit": "abc123def456", "files": ["src/auth/login.ts", "tests/auth.test.ts"]},
}


@pytest.fixture
def user(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url), timeout=40) as c:
        yield c


def register(user: httpx.Client, key: str = "agent-uuid", caps: list[str] | None = None) -> dict:
    body = {"agentId": key, "name": "my-agent", "version": "0.2.0", "platform": "linux"}
    answer = user.post("/api/agents", json={**body, "capabilities": caps or ["fix-bug"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def agent_client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=40)


def test_registration_answers_devflows_shape_and_a_token_that_works_only_on_agent_paths(
    base_url, user
):
    created = register(user)
    agent = created["agent"]
    assert created["success"] is True and created["token"].startswith("eyJ")
    assert agent["status"] == "active" and agent["version"] == "0.2.0"
    assert set(agent) >= {"id", "userId", "name", "platform", "capabilities", "lastHeartbeat"}
    assert {"createdAt", "updatedAt"} <= set(agent)
    with agent_client(base_url, created["token"]) as me:
        assert me.get(f"/api/agents/{agent['id']}/commands").json() == {"commands": []}
        assert me.get(f"/api/v1/agents/{agent['id']}").json()["agent_version"] == "0.2.0"
        refused = me.get("/api/v1/tasks")
        assert refused.status_code == 401
    listed = user.get("/api/agents", params={"status": "active", "capability": "fix-bug"}).json()
    assert listed["total"] == 1 and listed["hasMore"] is False
    assert listed["agents"][0]["id"] == agent["id"]
    assert user.get("/api/agents", params={"status": "inactive"}).json()["total"] == 0


def test_devflow_errors_carry_devflows_titles(base_url, user):
    missing = user.post("/api/agents", json={"name": "x"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "Missing required fields"
    assert missing.json()["details"] == ["agentId", "version"]
    register(user, "dup")
    again = user.post("/api/agents", json={"agentId": "dup", "name": "n", "version": "1"})
    assert again.status_code == 409
    assert again.json()["error"] == "Agent with this ID already exists for user"
    assert again.json()["statusCode"] == 409 and "timestamp" in again.json()
    unknown = user.get(f"/api/agents/{uuid.uuid4()}/commands")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Agent not found")
    bad = httpx.get(f"{base_url}/api/agents/x/commands", headers={"Authorization": "Bearer x"})
    assert (bad.status_code, bad.json()["error"]) == (401, "Agent token expired or invalid")
    no_task = user.post(f"/api/tasks/{uuid.uuid4()}/progress", json={"progress": 0.1})
    assert (no_task.status_code, no_task.json()["error"]) == (404, "Task not found")
    execute = user.post("/api/workflows/execute", json={})
    assert execute.status_code == 400
    assert execute.json()["details"] == ["taskId", "intent", "repo", "naturalLanguage"]


def test_an_agent_polls_reports_progress_and_completes_a_task(base_url, user):
    created = register(user)
    agent_id, token = created["agent"]["id"], created["token"]
    task = user.post(
        "/api/v1/tasks",
        json={
            "name": "Fix login",
            "intent": "fix-bug",
            "repo": "https://github.com/u/r",
            "context": {"issueId": "123", "prId": "456"},
        },
    ).json()
    with agent_client(base_url, token) as me:
        beat = me.post(f"/api/agents/{agent_id}/heartbeat", json=HEARTBEAT)
        assert beat.json() == {"success": True, "nextPollInterval": 5000}
        commands = me.get(f"/api/agents/{agent_id}/commands", params={"limit": 10}).json()
        assert [c["task_id"] for c in commands["commands"]] == [task["task_id"]]
        command = commands["commands"][0]
        assert command["context"] == {"issueId": "123", "prId": "456"}  # keys untouched
        again = me.get(f"/api/agents/{agent_id}/commands").json()["commands"]
        assert [c["task_id"] for c in again] == [task["task_id"]]  # a retried poll is harmless
        out_of_range = me.post(f"/api/tasks/{task['task_id']}/progress", json={"progress": 1.5})
        assert out_of_range.status_code == 400
        assert out_of_range.json()["error"] == "Progress must be between 0 and 1"
        progress = {
            "status": "in_progress",
            "step": "Running test suite",
            "progress": 0.65,
            "details": "Executed 45/65 tests",
        }
        moved = me.post(f"/api/tasks/task-{task['task_id']}/progress", json=progress)
        assert moved.json() == {
            "success": True,
            "taskId": task["task_id"],
            "message": "Progress updated",
        }
        shown = user.get(f"/api/tasks/{task['task_id']}").json()
        assert (shown["status"], shown["progress"], shown["currentStep"]) == (
            "in_progress",
            0.65,
            "Running test suite",
        )
        assert shown["agentId"] == agent_id and shown["startedAt"] and shown["completedAt"] is None
        done = me.post(f"/api/tasks/{task['task_id']}/complete", json=COMPLETE)
        assert done.json() == {"success": True, "taskId": task["task_id"], "status": "completed"}
        late = me.post(f"/api/tasks/{task['task_id']}/progress", json={"progress": 0.9})
        assert late.status_code == 409
    result = user.get(f"/api/v1/tasks/{task['task_id']}").json()["result"]
    assert result["result_files"] == COMPLETE["resultFiles"] and result["pr_url"].endswith("/456")


def test_a_long_poll_answers_when_work_arrives(base_url, user):
    created = register(user, "waiter")
    agent_id = created["agent"]["id"]
    got: dict = {}

    def wait() -> None:
        with agent_client(base_url, created["token"]) as me:
            got["answer"] = me.get(f"/api/agents/{agent_id}/commands", params={"wait": 20}).json()

    poller = threading.Thread(target=wait)
    poller.start()
    task = user.post("/api/v1/tasks", json={"name": "late", "agent_id": agent_id}).json()
    poller.join(30)
    assert [c["task_id"] for c in got["answer"]["commands"]] == [task["task_id"]]


def test_a_failure_is_retried_then_dead_lettered_and_execute_queues_a_task(base_url, user):
    created = register(user, "failer")
    agent_id = created["agent"]["id"]
    body = {
        "taskId": f"task-{uuid.uuid4()}",
        "intent": "fix-bug",
        "repo": "https://x/r",
        "branch": "main",
        "naturalLanguage": "Fix the null pointer exception in login flow",
    }
    accepted = user.post("/api/workflows/execute", json=body)
    assert accepted.status_code == 202 and accepted.json()["accepted"] is True
    task_id = accepted.json()["taskId"]
    assert task_id == body["taskId"].removeprefix("task-")
    user.patch(f"/api/v1/tasks/{task_id}", json={"description": "kept"})
    with agent_client(base_url, created["token"]) as me:
        for attempt in range(1, 4):
            commands = me.get(f"/api/agents/{agent_id}/commands").json()["commands"]
            assert [(c["task_id"], c["attempt"]) for c in commands] == [(task_id, attempt)]
            failed = me.post(
                f"/api/tasks/{task_id}/fail",
                json={"error": "Repository clone failed", "logs": "x" * 70_000},
            )
            assert failed.json()["status"] == "failed"
        assert me.get(f"/api/agents/{agent_id}/commands").json()["commands"] == []
    shown = user.get(f"/api/tasks/{task_id}").json()
    assert (shown["status"], shown["error"]) == ("failed", "Repository clone failed")


def test_another_users_agents_and_tasks_are_404(base_url, user):
    created = register(user, "mine")
    agent_id = created["agent"]["id"]
    task = user.post("/api/v1/tasks", json={"name": "t", "agent_id": agent_id}).json()
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        assert stranger.get(f"/api/v1/agents/{agent_id}").status_code == 404
        assert stranger.get(f"/api/agents/{agent_id}/commands").status_code == 404
        assert stranger.get(f"/api/tasks/{task['task_id']}").status_code == 404
        assert stranger.post(f"/api/tasks/{task['task_id']}/complete", json={}).status_code == 404


def test_heartbeats_past_devflows_limit_get_429_with_retry_after(base_url, user):
    created = register(user, "chatty")
    agent_id = created["agent"]["id"]
    with agent_client(base_url, created["token"]) as me:
        answers = [me.post(f"/api/agents/{agent_id}/heartbeat", json=HEARTBEAT) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_agent_and_lease_events_reach_the_owners_feed_only(base_url, user):
    created = register(user, "feed")
    agent_id = created["agent"]["id"]
    task = user.post("/api/v1/tasks", json={"name": "t", "agent_id": agent_id}).json()
    pinned = user.get("/api/v1/tasks", params={"agent_id": agent_id}).json()
    assert [t["task_id"] for t in pinned["tasks"]] == [task["task_id"]]
    with agent_client(base_url, created["token"]) as me:
        me.get(f"/api/agents/{agent_id}/commands")
    feed = user.get("/api/v1/events", params={"types": "agent.*,task.*", "limit": 500}).json()
    types = [e["type"] for e in feed["events"]]
    assert {"agent.registered", "task.assigned", "task.leased"} <= set(types)
    assert created["token"] not in str(feed)
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        theirs = stranger.get("/api/v1/events", params={"types": "agent.*"}).json()
        assert theirs["events"] == []
