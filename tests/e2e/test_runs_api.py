"""Runs over HTTP through a real server and its engine: parallel branches, cancel, retry,
timeout, an http step against a local receiver, and the run's events in the feed."""

from __future__ import annotations

from uuid import UUID, uuid5

import httpx
import pytest

from tests.e2e.flow_helpers import Receiver, account, finished, steps_of, until
from tests.e2e.live_client import events_until, open_socket, register, subscribe
from tests.integration.helpers import wait_for
from tests.webhook_receiver import Receiver as HookReceiver


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def task(key, depends_on=None, **config):
    body = {"key": key, "name": key, "type": "task", "config": {"name": key, **config}}
    return body if depends_on is None else {**body, "depends_on": depends_on}


def start(client, steps, inputs=None):
    flow = client.post("/api/v1/flows", json={"name": "f", "steps": steps})
    assert flow.status_code == 201, flow.text
    started = client.post(
        f"/api/v1/flows/{flow.json()['flow_id']}/runs", json={"inputs": inputs or {}}
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "pending"
    assert started.headers["Location"] == f"/api/v1/runs/{started.json()['run_id']}"
    return started.json()


def test_parallel_branches_run_together_and_the_join_waits_for_both(client):
    run = start(
        client,
        [
            task("root"),
            task("left", ["root"], wait_for_completion=True),
            task("right", ["root"], wait_for_completion=True),
            task("join", ["left", "right"]),
        ],
    )
    waiting = until(
        client,
        run["run_id"],
        lambda r: steps_of(r).get("left") == "waiting" and steps_of(r).get("right") == "waiting",
    )
    assert waiting["status"] == "waiting" and steps_of(waiting)["join"] == "pending"
    by_key = {s["key"]: s for s in waiting["steps"]}
    for branch in ("left", "right"):
        done = client.put(
            f"/api/v1/tasks/{by_key[branch]['task_id']}", json={"status": "completed"}
        )
        assert done.status_code == 200
    run = finished(client, run["run_id"])
    assert run["status"] == "succeeded" and run["steps_succeeded"] == 4
    assert all(s["duration_ms"] is not None for s in run["steps"])
    listed = client.get("/api/v1/runs", params={"flow_id": run["flow_id"], "status": "succeeded"})
    assert [r["run_id"] for r in listed.json()["runs"]] == [run["run_id"]]
    every = client.get("/api/v1/runs", params={"flow_id": run["flow_id"]}).json()
    assert every["total"] == 1 and every["has_more"] is False
    steps = client.get(f"/api/v1/runs/{run['run_id']}/steps").json()
    assert [s["key"] for s in steps["steps"]] == ["root", "left", "right", "join"]


def test_cancel_stops_the_run_and_its_task_and_a_finished_run_is_409(base_url, client):
    run = start(client, [task("a", wait_for_completion=True), task("b")])
    waiting = until(client, run["run_id"], lambda r: steps_of(r)["a"] == "waiting")
    task_id = waiting["steps"][0]["task_id"]
    cancelled = client.post(f"/api/v1/runs/{run['run_id']}/cancel", json={"reason": "changed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert steps_of(cancelled.json()) == {"a": "cancelled", "b": "skipped"}
    again = client.post(f"/api/v1/runs/{run['run_id']}/cancel")
    assert again.status_code == 200 and again.json()["version"] == cancelled.json()["version"]
    until(
        client,
        run["run_id"],
        lambda r: client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "cancelled",
    )
    done = finished(client, start(client, [task("only")])["run_id"])
    refused = client.post(f"/api/v1/runs/{done['run_id']}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "RUN_FINISHED"
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        assert stranger.get(f"/api/v1/runs/{done['run_id']}").status_code == 404
        assert stranger.post(f"/api/v1/runs/{done['run_id']}/cancel").status_code == 404


def test_an_http_step_is_retried_then_succeeds_with_its_secret_header_sent(client):
    receiver = Receiver(500, 200)
    try:
        call = {
            "key": "notify",
            "name": "notify",
            "type": "http",
            "max_attempts": 3,
            "retry_backoff_seconds": 0.2,
            "config": {
                "url": receiver.url,
                "headers": {"Authorization": "Bearer hush-hush"},
                "body": {"ticket": "{{ inputs.ticket }}"},
            },
        }
        run = finished(client, start(client, [call], {"ticket": 42})["run_id"])
    finally:
        receiver.stop()
    assert run["status"] == "succeeded", run
    (step,) = run["steps"]
    assert step["attempt"] == 2 and step["result"]["status_code"] == 200
    assert [r["body"] for r in receiver.requests] == [{"ticket": 42}, {"ticket": 42}]
    assert receiver.requests[0]["headers"]["Authorization"] == "Bearer hush-hush"
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]  # one per attempt
    run_id = UUID(run["run_id"])
    assert keys == [str(uuid5(run_id, f"http:{step['step_id']}:{n}")) for n in (1, 2)]
    feed = client.get("/api/v1/events", params={"types": "run.*,flow.*", "limit": 200}).text
    assert "hush-hush" not in feed


def test_a_step_past_its_timeout_fails_the_run(client):
    run = start(client, [task("slow", wait_for_completion=True) | {"timeout_seconds": 1}])
    run = finished(client, run["run_id"])
    assert run["status"] == "failed"
    assert run["steps"][0]["error"] == "timed out"


def test_a_delay_step_waits_and_the_runs_events_carry_its_correlation_id(client):
    run = start(client, [{"name": "pause", "type": "delay", "config": {"seconds": 1}}])
    run = finished(client, run["run_id"])
    assert run["status"] == "succeeded" and run["steps"][0]["result"]["waited_seconds"] >= 1
    events = client.get("/api/v1/events", params={"types": "run.*", "limit": 200}).json()
    mine = [e for e in events["events"] if e["aggregate_id"] == run["run_id"]]
    types = [e["type"] for e in mine]
    assert types[0] == "run.created" and types[-1] == "run.succeeded"
    assert "run.step_waiting" in types
    assert {e["correlation_id"] for e in mine} == {run["correlation_id"]}


def test_a_runs_events_reach_its_owner_live_at_flow8s_socket(base_url):
    token, headers = register(base_url)
    with (
        httpx.Client(base_url=base_url, headers=headers) as client,
        open_socket(base_url, token, "/api/ws") as socket,
    ):
        subscribe(socket, events=["run.*"])
        run = start(client, [task("one")])
        got = events_until(
            socket, lambda events: bool(events) and events[-1]["type"] == "run.succeeded"
        )
    assert {e["aggregate_id"] for e in got} == {run["run_id"]}
    assert [e["type"] for e in got][:2] == ["run.created", "run.started"]


def test_a_runs_events_reach_its_owners_webhook_signed(client):
    receiver = HookReceiver().start()
    try:
        answer = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["run.*"]})
        assert answer.status_code == 201, answer.text
        receiver.secret = answer.json()["secret"]
        run = finished(client, start(client, [task("hooked")])["run_id"])
        wait_for(lambda: "run.succeeded" in [e["type"] for e in receiver.events()], timeout=60)
    finally:
        receiver.stop()
    events = receiver.events()  # delivered concurrently: any order
    assert {"run.created", "run.started", "run.step_succeeded", "run.succeeded"} <= {
        e["type"] for e in events
    }
    assert run["run_id"] in str(events) and receiver.rejected == []
