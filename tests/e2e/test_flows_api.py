"""Flows over HTTP: DAG validation codes, versions, filters, steps one by one, isolation."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.flow_helpers import account


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def step(key, depends_on=None, **extra):
    body = {"key": key, "name": key, "type": "task", "config": {"name": key}, **extra}
    return body if depends_on is None else {**body, "depends_on": depends_on}


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([step("a", ["c"]), step("b", ["a"]), step("c", ["b"])], "DEPENDENCY_CYCLE"),
        ([step("a", ["ghost"])], "UNKNOWN_DEPENDENCY"),
        ([step("a"), step("a")], "DUPLICATE_STEP_KEY"),
        ([{"name": "x", "type": "teleport"}], "UNKNOWN_STEP_TYPE"),
        ([{"name": "x", "type": "delay", "config": {"seconds": "soon"}}], "INVALID_STEP_CONFIG"),
    ],
)
def test_a_flow_that_is_not_a_valid_dag_is_422_with_a_machine_code(client, steps, code):
    answer = client.post("/api/v1/flows", json={"name": "bad", "steps": steps})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    if code == "DEPENDENCY_CYCLE":
        assert "a -> c -> b -> a" in answer.json()["detail"]


def test_a_flow_is_created_read_versioned_and_deleted(client):
    created = client.post(
        "/api/v1/flows",
        json={"name": "Deploy", "steps": [step("build"), step("test"), step("ship")]},
    )
    assert created.status_code == 201, created.text
    flow = created.json()
    assert created.headers["Location"] == f"/api/v1/flows/{flow['flow_id']}"
    assert created.headers["ETag"] == '"1"'
    by_key = {s["key"]: s for s in flow["steps"]}
    assert by_key["ship"]["depends_on"] == [by_key["test"]["step_id"]]
    url = f"/api/v1/flows/{flow['flow_id']}"
    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.json()["steps_count"] == 3 and got.headers["ETag"] == '"1"'
    stale = client.put(url, json={"name": "Deploy v2"}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    renamed = client.patch(url, json={"name": "Deploy v2"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert client.get(url).json()["code"] == "FLOW_NOT_FOUND"


def test_steps_are_added_changed_and_removed_one_by_one(client):
    flow = client.post("/api/v1/flows", json={"name": "piecewise"}).json()
    url = f"/api/v1/flows/{flow['flow_id']}/steps"
    first = client.post(url, json={"name": "First", "type": "task", "config": {"name": "x"}})
    assert first.status_code == 201 and first.json()["key"] == "first"
    second = client.post(
        url, json={"name": "Second", "step_type": "delay", "config": {"seconds": 5}}
    ).json()
    assert second["type"] == "delay" and second["depends_on"] == [first.json()["step_id"]]
    blocked = client.delete(f"{url}/{first.json()['step_id']}")
    assert blocked.status_code == 409 and blocked.json()["code"] == "STEP_HAS_DEPENDENTS"
    changed = client.patch(f"{url}/{second['step_id']}", json={"depends_on": []})
    assert changed.status_code == 200 and changed.json()["depends_on"] == []
    assert client.delete(f"{url}/{first.json()['step_id']}").status_code == 204
    listed = client.get(url).json()
    assert [s["key"] for s in listed["steps"]] == ["second"] and listed["total"] == 1


def test_the_flow_list_filters_and_pages(client):
    for i in range(5):
        client.post(
            "/api/v1/flows",
            json={"name": f"nightly {i}", "is_template": i % 2 == 0, "is_active": i != 4},
        )
    page = client.get("/api/v1/flows", params={"q": "NIGHTLY", "limit": 2, "offset": 2}).json()
    assert page["total"] == 5 and len(page["flows"]) == 2 and page["has_more"]
    assert page["page"] == 2 and page["pages"] == 3
    assert client.get("/api/v1/flows", params={"is_template": True}).json()["total"] == 3
    assert client.get("/api/v1/flows", params={"is_active": False}).json()["total"] == 1


def test_http_step_headers_are_masked_and_another_users_flow_is_404(base_url, client):
    config = {"url": "http://127.0.0.1:9/x", "headers": {"X-Api-Key": "topsecret"}}
    flow = client.post(
        "/api/v1/flows",
        json={"name": "h", "steps": [{"name": "call", "type": "http", "config": config}]},
    ).json()
    assert flow["steps"][0]["config"]["headers"] == {"X-Api-Key": "********"}
    events = client.get("/api/v1/events", params={"types": "flow.*"}).text
    assert "flow.created" in events and "topsecret" not in events
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        assert stranger.get(f"/api/v1/flows/{flow['flow_id']}").status_code == 404
        assert stranger.post(f"/api/v1/flows/{flow['flow_id']}/runs").status_code == 404
        assert stranger.get("/api/v1/flows").json()["total"] == 0
