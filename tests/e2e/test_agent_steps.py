"""A flow's agent step through a real server: the run dispatches a task, a polling agent (an HTTP
client with its agent token) leases it and reports, and the run goes on; a failure fails the run,
a retry dispatches a new task, and cancelling the run tells the agent to stop (409)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.flow_helpers import account, finished, steps_of, until


@pytest.fixture
def owner(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url), timeout=40) as c:
        yield c


@pytest.fixture
def agent(base_url, owner):
    """A registered agent with the capability ``fix-bug``: (its id, a client with its token)."""
    body = {"agent_key": "laptop", "name": "laptop", "capabilities": ["fix-bug"]}
    created = owner.post("/api/v1/agents", json=body)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=40) as c:
        yield created.json()["agent"]["agent_id"], c


def fix_step(**extra):
    config = {"capability": "fix-bug", "repo": "{{ inputs.repo }}", "context": {"issueId": 7}}
    return {"key": "fix", "name": "Fix the bug", "type": "agent", "config": config, **extra}


AFTER = {"key": "after", "name": "after", "type": "task", "config": {"name": "after"}}


def start(owner, steps, inputs=None):
    flow = owner.post("/api/v1/flows", json={"name": "with an agent", "steps": steps})
    assert flow.status_code == 201, flow.text
    run = owner.post(f"/api/v1/flows/{flow.json()['flow_id']}/runs", json={"inputs": inputs or {}})
    assert run.status_code == 202, run.text
    return run.json()["run_id"]


def poll(agent, n=1):
    """Long-poll DevFlow's path until ``n`` commands are leased to the agent."""
    agent_id, client = agent
    for _ in range(10):
        answer = client.get(f"/api/agents/{agent_id}/commands", params={"limit": n, "wait": 10})
        assert answer.status_code == 200, answer.text
        if len(answer.json()["commands"]) >= n:
            return answer.json()["commands"]
    raise AssertionError("no command arrived")


def test_a_polling_agent_completes_the_step_and_the_run_succeeds(owner, agent):
    run_id = start(owner, [fix_step(), AFTER], {"repo": "https://github.com/u/r"})
    waiting = until(owner, run_id, lambda r: steps_of(r)["fix"] == "waiting")
    assert waiting["status"] == "waiting"
    (command,) = poll(agent)
    fix = {s["key"]: s for s in waiting["steps"]}["fix"]
    assert command["task_id"] == fix["task_id"]
    assert (command["run_id"], command["step_id"]) == (run_id, fix["step_id"])
    assert (command["intent"], command["repo"]) == ("fix-bug", "https://github.com/u/r")
    assert command["context"] == {"issueId": 7}
    _, client = agent
    task = f"/api/tasks/{command['task_id']}"
    assert (
        client.post(f"{task}/progress", json={"progress": 0.5, "step": "tests"}).status_code == 200
    )
    report = {"summary": "Fixed", "prUrl": "https://github.com/u/r/pull/1", "resultFiles": {"n": 1}}
    assert client.post(f"{task}/complete", json=report).status_code == 200
    run = finished(owner, run_id)
    assert run["status"] == "succeeded" and steps_of(run) == {
        "fix": "succeeded",
        "after": "succeeded",
    }
    result = {s["key"]: s for s in run["steps"]}["fix"]["result"]
    assert result["agent_id"] == agent[0] and result["summary"] == "Fixed"
    assert (result["pr_url"], result["result_files"]) == ("https://github.com/u/r/pull/1", {"n": 1})


def test_the_agents_failure_fails_the_run_and_skips_what_depends_on_it(owner, agent):
    run_id = start(owner, [fix_step(), AFTER], {"repo": "r"})
    (command,) = poll(agent)
    failed = agent[1].post(
        f"/api/tasks/{command['task_id']}/fail", json={"error": "Repository clone failed"}
    )
    assert failed.status_code == 200, failed.text
    run = finished(owner, run_id)
    assert run["status"] == "failed" and steps_of(run) == {"fix": "failed", "after": "skipped"}
    assert "Repository clone failed" in run["error"]


def test_a_retry_dispatches_a_new_task_that_the_agent_completes(owner, agent):
    run_id = start(owner, [fix_step(max_attempts=2, retry_backoff_seconds=1)], {"repo": "r"})
    (first,) = poll(agent)
    agent[1].post(f"/api/tasks/{first['task_id']}/fail", json={"error": "flaky"})
    (second,) = poll(agent)
    assert second["task_id"] != first["task_id"]
    agent[1].post(f"/api/tasks/{second['task_id']}/complete", json={"summary": "ok"})
    run = finished(owner, run_id)
    assert run["status"] == "succeeded"
    assert run["steps"][0]["attempt"] == 2


def test_cancelling_the_run_tells_the_agent_to_stop(owner, agent):
    run_id = start(owner, [fix_step()], {"repo": "r"})
    (command,) = poll(agent)
    assert owner.post(f"/api/v1/runs/{run_id}/cancel", json={}).status_code == 200
    task = f"/api/v1/tasks/{command['task_id']}"
    until(owner, run_id, lambda r: owner.get(task).json()["status"] == "cancelled")
    report = agent[1].post(f"/api/tasks/{command['task_id']}/progress", json={"progress": 0.9})
    assert report.status_code == 409
