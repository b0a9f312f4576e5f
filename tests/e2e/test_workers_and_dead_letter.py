"""002's workers and the tasks' dead-letter queue through a real server."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_tasks_api import account


@pytest.fixture(scope="module")
def admin(server):
    url = server.base_url
    with httpx.Client(base_url=url, headers=account(url)) as c:  # the first user: an admin
        yield c


@pytest.fixture
def member(base_url, admin):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def test_a_worker_is_approved_then_serves_its_agents_tasks_and_reports_figures(admin, member):
    body = {"name": "box-1", "hostname": "box", "cpu_cores": 8, "memory_total_mb": 16384}
    worker = member.post("/api/v1/workers/register", json=body)
    assert worker.status_code == 201
    worker_id = worker.json()["worker_id"]
    assert (worker.json()["status"], worker.json()["is_approved"]) == ("pending_approval", False)
    assert member.get("/api/v1/admin/workers").status_code == 403
    approved = admin.patch(
        f"/api/v1/admin/workers/{worker_id}/approve", json={"is_approved": True, "group": "gpu"}
    )
    assert (approved.json()["is_approved"], approved.json()["group"]) == (True, "gpu")
    figures = {"cpu_usage_percent": 40.0, "memory_usage_percent": 50.0, "disk_usage_percent": 5}
    beat = member.post(f"/api/v1/workers/{worker_id}/heartbeat", json=figures).json()
    assert beat["success"] is True and beat["status"] == "online"
    agent = member.post(
        "/api/v1/agents", json={"agent_key": "on-box", "name": "a", "worker_id": worker_id}
    ).json()["agent"]
    task = member.post("/api/v1/tasks", json={"name": "t", "agent_id": agent["agent_id"]}).json()
    tasks = member.get(f"/api/v1/workers/{worker_id}/tasks").json()["tasks"]
    assert [t["task_id"] for t in tasks] == [task["task_id"]]
    overview = member.get("/api/v1/workers/overview").json()
    assert (overview["total"], overview["online"], overview["agents_total"]) == (1, 1, 1)
    assert overview["cpu_avg"] == 40.0
    listed = admin.get("/api/v1/admin/workers").json()
    mine = next(w for w in listed["workers"] if w["worker_id"] == worker_id)
    assert mine["metrics"]["memory_usage_percent"] == 50.0


def test_the_dead_letter_queue_lists_retries_and_drops_tasks(admin, member):
    task = member.post("/api/v1/tasks", json={"name": "doomed", "intent": "x"}).json()
    added = admin.post("/api/v1/dead-letter", json={"task_id": task["task_id"], "reason": "poison"})
    assert added.status_code == 201 and added.json()["reason"] == "poison"
    items = admin.get("/api/v1/dead-letter").json()
    assert task["task_id"] in [i["task_id"] for i in items["items"]]
    stats = admin.get("/api/v1/dead-letter/stats").json()
    assert stats["by_reason"]["poison"] >= 1 and stats["by_intent"]["x"] >= 1
    assert member.get("/api/v1/dead-letter").status_code == 403
    retried = admin.post(f"/api/v1/dead-letter/{task['task_id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "not_started"
    seen = {"X-Ledgerflow-Min-Position": str(retried.json()["position"])}
    shown = member.get(f"/api/v1/tasks/{task['task_id']}", headers=seen).json()
    assert shown["status"] == "not_started"
    admin.post("/api/v1/dead-letter", json={"task_id": task["task_id"], "reason": "again"})
    assert admin.post("/api/v1/dead-letter/retry-all").json()["queued"] >= 1
    admin.post("/api/v1/dead-letter", json={"task_id": task["task_id"], "reason": "third"})
    dropped = admin.delete(f"/api/v1/dead-letter/{task['task_id']}")
    assert dropped.status_code == 204
    seen = {"X-Ledgerflow-Min-Position": dropped.headers["X-Ledgerflow-Position"]}
    shown = member.get(f"/api/v1/tasks/{task['task_id']}", headers=seen).json()
    assert shown["status"] == "failed"
    ids = [i["task_id"] for i in admin.get("/api/v1/dead-letter").json()["items"]]
    assert task["task_id"] not in ids
