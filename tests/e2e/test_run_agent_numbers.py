"""Runs and agents in the analytics, the exports and /metrics, checked against data built through
the API: four runs (two succeeded, one failed, one cancelled), an agent that completed one task
and failed another for good, a task still queued for another intent, and a worker's heartbeat."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import openpyxl
import pytest

from tests.e2e.conftest import Server, own_server
from tests.e2e.flow_helpers import account, finished, steps_of, until
from tests.e2e.test_observability import eventually, samples

FIGURES = {"cpu_usage_percent": 42.5, "memory_usage_percent": 61.0, "disk_usage_percent": 7.25}


@pytest.fixture(scope="module")
def sampled_often(pg_server_url, tmp_path_factory) -> Iterator[Server]:
    """A server of this module's own that samples its database numbers every 0.2 s."""
    every = {"LEDGERFLOW_METRICS_SAMPLE_SECONDS": "0.2"}
    with own_server(pg_server_url, tmp_path_factory, **every) as running:
        yield running


def run_of(client: httpx.Client, steps: list[dict[str, Any]]) -> str:
    flow = client.post("/api/v1/flows", json={"name": "numbers", "steps": steps})
    assert flow.status_code == 201, flow.text
    started = client.post(f"/api/v1/flows/{flow.json()['flow_id']}/runs", json={"inputs": {}})
    assert started.status_code == 202, started.text
    run_id: str = started.json()["run_id"]
    return run_id


def step(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": key, "type": "task", "config": {"name": key, **extra}}


def build_runs(client: httpx.Client) -> None:
    for _ in range(2):
        assert finished(client, run_of(client, [step("quick")]))["status"] == "succeeded"
    slow = run_of(client, [step("slow", wait_for_completion=True) | {"timeout_seconds": 1}])
    assert finished(client, slow)["status"] == "failed"
    held = run_of(client, [step("held", wait_for_completion=True)])
    until(client, held, lambda run: steps_of(run).get("held") == "waiting")
    assert client.post(f"/api/v1/runs/{held}/cancel").json()["status"] == "cancelled"


def build_agent_work(base_url: str, client: httpx.Client) -> dict[str, Any]:
    worker = client.post("/api/v1/workers/register", json={"name": "box-1", "cpu_cores": 4})
    assert worker.status_code == 201, worker.text
    worker_id = worker.json()["worker_id"]
    assert client.post(f"/api/v1/workers/{worker_id}/heartbeat", json=FIGURES).status_code == 200
    body = {
        "agentId": "numbers-agent",
        "name": "numbers agent",
        "version": "1.0",
        "platform": "linux",
    }
    created = client.post(
        "/api/agents", json=body | {"capabilities": ["fix-bug"], "workerId": worker_id}
    )
    assert created.status_code == 201, created.text
    agent_id, token = created.json()["agent"]["id"], created.json()["token"]
    queued = [
        client.post("/api/v1/tasks", json={"name": n, "intent": "fix-bug", "max_attempts": 1})
        for n in ("done by the agent", "failed by the agent")
    ]
    done_id, failed_id = (answer.json()["task_id"] for answer in queued)
    client.post("/api/v1/tasks", json={"name": "waiting", "intent": "deploy"})
    agent = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=agent, timeout=40) as me:
        commands = me.get(f"/api/agents/{agent_id}/commands", params={"limit": 10}).json()
        assert {c["task_id"] for c in commands["commands"]} == {done_id, failed_id}
        done = me.post(f"/api/tasks/{done_id}/complete", json={"success": True})
        assert done.status_code == 200, done.text
        failed = me.post(f"/api/tasks/{failed_id}/fail", json={"error": "no"})
        assert failed.json()["status"] == "failed"
    return {"agent_id": agent_id, "worker_id": worker_id}


@pytest.fixture(scope="module")
def world(sampled_often) -> Iterator[dict[str, Any]]:
    url = sampled_often.base_url
    admin = account(url)  # the first user: an admin
    headers = account(url)
    with httpx.Client(base_url=url, headers=headers, timeout=40) as client:
        build_runs(client)
        ids = build_agent_work(url, client)
        yield {"client": client, "admin": admin, "url": url, **ids}


def test_the_overview_counts_the_windows_runs_and_the_agents_online(world):
    overview = world["client"].get("/api/v1/analytics/overview", params={"days": 7}).json()
    assert overview["runs"] == {
        "started": 4,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 1,
        "success_rate": 0.5,
    }
    assert overview["agents"] == {"total": 1, "online": 1}


def test_another_user_sees_no_runs_and_no_agents(world):
    with httpx.Client(base_url=world["url"], headers=account(world["url"])) as stranger:
        overview = stranger.get("/api/v1/analytics/overview").json()
        assert overview["runs"]["started"] == 0 and overview["agents"]["total"] == 0
        assert stranger.get("/api/v1/analytics/agents").json() == {"agents": []}
        assert stranger.get("/api/v1/analytics/workers/utilization").json() == {"workers": []}


def test_per_agent_numbers_count_its_completed_and_failed_tasks(world):
    agents = world["client"].get("/api/v1/analytics/agents").json()["agents"]
    assert len(agents) == 1
    agent = agents[0]
    assert agent["agent_id"] == world["agent_id"] and agent["name"] == "numbers agent"
    assert (agent["tasks_completed"], agent["tasks_failed"], agent["success_rate"]) == (1, 1, 0.5)
    assert agent["avg_duration_seconds"] >= 0 and agent["last_heartbeat_at"]


def test_worker_utilization_shows_the_last_heartbeats_figures_and_its_agents(world):
    workers = world["client"].get("/api/v1/analytics/workers/utilization").json()["workers"]
    assert [w["worker_id"] for w in workers] == [world["worker_id"]]
    worker = workers[0]
    assert {k: worker[k] for k in FIGURES} == FIGURES
    assert worker["agents"] == 1 and worker["name"] == "box-1" and worker["last_heartbeat_at"]


def test_runs_export_as_csv_and_json(world):
    client = world["client"]
    answer = client.get("/api/v1/exports/csv", params={"type": "runs"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == "attachment; filename=runs.csv"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(r["status"] for r in rows) == ["cancelled", "failed", "succeeded", "succeeded"]
    assert all(r["flow_name"] == "numbers" for r in rows)
    as_json = client.get("/api/v1/exports/json", params={"type": "runs"}).json()
    assert sorted(r["run_id"] for r in as_json) == sorted(r["run_id"] for r in rows)


def test_agents_export_as_xlsx(world):
    answer = world["client"].get("/api/v1/exports/xlsx", params={"type": "agents"})
    assert answer.status_code == 200, answer.text
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    found = dict(zip(header, rows[0], strict=True))
    assert len(rows) == 1 and found["agent_id"] == world["agent_id"]
    assert (found["name"], found["capabilities"]) == ("numbers agent", "fix-bug")


def test_metrics_show_runs_and_agents_by_status_and_queued_tasks_by_intent(world):
    url = world["url"]
    expected = {
        ("ledgerflow_runs", (("status", "succeeded"),)): 2,
        ("ledgerflow_runs", (("status", "failed"),)): 1,
        ("ledgerflow_runs", (("status", "cancelled"),)): 1,
        ("ledgerflow_agents", (("status", "idle"),)): 1,
        ("ledgerflow_tasks_queued", (("intent", "deploy"),)): 1,
    }

    taken = ("ledgerflow_tasks_queued", (("intent", "fix-bug"),))  # leased, then ended

    def sampled() -> dict[tuple, float] | None:
        # One sample with every expected count and without the taken task: a sample read while
        # the read model had the task created but not yet leased shows it queued for a moment.
        found = samples(url)
        done = all(found.get(k) == v for k, v in expected.items()) and taken not in found
        return found if done else None

    found = eventually(sampled)
    assert found, samples(url)
