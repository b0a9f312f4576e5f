"""Approvals through a real server: 002's /api/v1/approvals and notifications, the run's own
approve/reject, flow8's play approve, expiry on the reactor's timer, and the live
``notification`` on the WebSocket."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.flow_helpers import finished, until
from tests.e2e.live_client import events_until, open_socket, subscribe

PASSWORD = "correct-horse-9"


class Person:
    """A user of this module's server: their client, id and token."""

    def __init__(self, base_url: str, username: str, token: str) -> None:
        self.token = token
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.id = self.client.get("/me").json()["user_id"]
        self.username = username


def person(base_url: str, role: str | None = None, admin: Person | None = None) -> Person:
    username = f"appr_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD}
    if admin is None:
        assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    else:
        made = admin.client.post("/api/v1/users", json={**body, "role": role})
        assert made.status_code == 201, made.text
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return Person(base_url, username, token)


@pytest.fixture(scope="module")
def people(server) -> dict[str, Person]:
    admin = person(server.base_url)  # the first user: admin
    assert admin.client.get("/api/v1/auth/me").json()["role"] == "admin"
    return {
        "admin": admin,
        "requester": person(server.base_url),
        "alice": person(server.base_url),
        "bob": person(server.base_url),
        "carol": person(server.base_url),
        "viewer": person(server.base_url, "viewer", admin),
    }


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {value}")
        time.sleep(0.05)


def request(people: dict[str, Person], **fields: Any) -> dict[str, Any]:
    body = {"title": "Deploy", "description": "Release 1.4", **fields}
    answer = people["requester"].client.post("/api/v1/approvals", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def seen_by(who: Person, approval: dict[str, Any]) -> httpx.Response:
    """GET the approval once the read model has its last write (another user's write)."""
    return who.client.get(
        f"/api/v1/approvals/{approval['approval_id']}",
        params={"min_position": approval["position"]},
    )


def test_002_request_list_get_and_a_quorum_of_two_approves(people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    approval = request(people, approver_user_ids=[alice.id, carol.id], quorum=2)
    assert approval["status"] == "pending" and approval["requested_by"] == people["requester"].id
    approval_id = approval["approval_id"]
    assert seen_by(alice, approval).status_code == 200
    assert seen_by(bob, approval).status_code == 404  # others see 404
    listed = alice.client.get(
        "/api/v1/approvals",
        params={"mine": "to_decide", "min_position": approval["position"]},
    ).json()
    assert approval_id in [a["approval_id"] for a in listed["approvals"]]
    assert listed["page"] == 1
    mine = people["requester"].client.get("/api/v1/approvals", params={"mine": "requested"})
    assert approval_id in [a["approval_id"] for a in mine.json()["approvals"]]
    first = alice.client.post(f"/api/v1/approvals/{approval_id}/approve", json={"comment": "ok"})
    assert first.status_code == 200 and first.json()["status"] == "pending"
    again = alice.client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_VOTED"
    second = carol.client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert second.status_code == 200, second.text
    decided = second.json()
    assert decided["status"] == "approved" and decided["approvals_count"] == 2
    assert [d["user_id"] for d in decided["decisions"]] == [alice.id, carol.id]
    late = people["admin"].client.post(f"/api/v1/approvals/{approval_id}/reject")
    assert late.status_code == 409 and late.json()["code"] == "APPROVAL_DECIDED"
    pending = alice.client.get("/api/v1/approvals").json()["approvals"]
    assert approval_id not in [a["approval_id"] for a in pending]  # pending by default
    every = alice.client.get("/api/v1/approvals", params={"status": "all"}).json()["approvals"]
    assert approval_id in [a["approval_id"] for a in every]


def test_the_rules_of_who_may_vote(people):
    alice = people["alice"]
    approval = request(people, approver_user_ids=[alice.id, people["viewer"].id])
    approval_id = approval["approval_id"]
    own = people["requester"].client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert own.status_code == 403 and own.json()["code"] == "SELF_APPROVAL"
    admin = people["admin"].client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert admin.status_code == 403 and admin.json()["code"] == "NOT_AN_APPROVER"
    viewer = people["viewer"].client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert viewer.status_code == 403  # viewers never approve
    assert seen_by(people["viewer"], approval).status_code == 200  # but a listed one sees it
    stranger = people["bob"].client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert stranger.status_code == 404 and stranger.json()["code"] == "APPROVAL_NOT_FOUND"
    rejected = alice.client.post(
        f"/api/v1/approvals/{approval_id}/reject", json={"reason": "not today"}
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decisions"][0]["comment"] == "not today"
    allowed = request(people, allow_self_approval=True, approver_roles=["member"])
    mine = people["requester"].client.post(f"/api/v1/approvals/{allowed['approval_id']}/approve")
    assert mine.status_code == 200 and mine.json()["status"] == "approved"
    bad = people["requester"].client.post(
        "/api/v1/approvals", json={"title": "x", "approver_roles": ["viewer"]}
    )
    assert bad.status_code == 422


def test_an_approval_expires_once_on_its_timer_with_its_outcome(people):
    approval = request(people, approver_user_ids=[people["alice"].id], expires_in_seconds=1)
    approval_id = approval["approval_id"]
    expired = eventually(
        lambda: people["requester"].client.get(f"/api/v1/approvals/{approval_id}").json(),
        lambda a: a["status"] == "expired",
    )
    assert expired["outcome"] == "rejected"
    late = people["alice"].client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert late.status_code == 409 and late.json()["code"] == "APPROVAL_DECIDED"
    feed = people["requester"].client.get("/api/v1/events", params={"types": "approval.*"})
    expiries = [e for e in feed.json()["events"] if e["aggregate_id"] == approval_id]
    assert [e["type"] for e in expiries].count("approval.expired") == 1


def test_notifications_inbox_and_the_live_notification(server, people):
    alice = people["alice"]
    with open_socket(server.base_url, alice.token) as socket:
        subscribe(socket, events=["notification"])
        approval = request(people, title="Look at me", approver_user_ids=[alice.id])
        wanted = approval["approval_id"]
        live = events_until(
            socket, lambda got: any(e["data"]["subject"].get("id") == wanted for e in got)
        )
    sent = next(e for e in live if e["data"]["subject"].get("id") == wanted)
    assert sent["type"] == "notification.created" and sent["data"]["kind"] == "approval_requested"
    assert sent["data"]["recipient_id"] == alice.id
    inbox = eventually(
        lambda: alice.client.get("/api/v1/notifications").json(),
        lambda page: any(n["title"] == "Look at me" for n in page["notifications"]),
    )
    mine = next(n for n in inbox["notifications"] if n["title"] == "Look at me")
    assert mine["type"] == "approval_requested" and mine["read_at"] is None
    unread = alice.client.get("/api/v1/notifications/unread-count").json()["unread"]
    assert unread >= 1
    read = alice.client.put(f"/api/v1/notifications/{mine['notification_id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    after = alice.client.get("/api/v1/notifications/unread-count").json()["unread"]
    assert after == unread - 1
    everything = alice.client.put("/api/v1/notifications/read-all")
    assert everything.status_code == 200 and everything.json()["updated"] == after
    assert alice.client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    other = people["bob"].client.put(f"/api/v1/notifications/{mine['notification_id']}/read")
    assert other.status_code == 404


def gated_flow(owner: Person, *gates: dict[str, Any]) -> str:
    steps = [
        {"key": key, "name": key, "type": "approval", "config": config, "depends_on": []}
        for key, config in gates
    ]
    steps.append({"key": "after", "name": "after", "type": "task", "config": {"name": "done"}})
    flow = owner.client.post("/api/v1/flows", json={"name": "gated", "steps": steps})
    assert flow.status_code == 201, flow.text
    run = owner.client.post(f"/api/v1/flows/{flow.json()['flow_id']}/runs")
    assert run.status_code == 202
    return str(run.json()["run_id"])


def waiting(owner: Person, run_id: str) -> dict[str, Any]:
    return until(owner.client, run_id, lambda r: r["status"] == "waiting")


def test_a_run_gated_by_an_approval_goes_on_when_an_approver_approves(people):
    owner, alice = people["requester"], people["alice"]
    run_id = gated_flow(owner, ("gate", {"title": "Go?", "approver_user_ids": [alice.id]}))
    run = waiting(owner, run_id)
    assert run["steps"][0]["approval_id"] is not None
    own = owner.client.post(f"/api/v1/runs/{run_id}/approve")
    assert own.status_code == 403 and own.json()["code"] == "SELF_APPROVAL"
    assert people["bob"].client.post(f"/api/v1/runs/{run_id}/approve").status_code == 404
    voted = alice.client.post(f"/api/v1/runs/{run_id}/approve", json={"comment": "go"})
    assert voted.status_code == 200, voted.text
    assert voted.json()["approval_status"] == "approved"
    done = finished(owner.client, run_id)
    assert done["status"] == "succeeded"
    assert done["steps"][0]["result"]["decided_by"] == [alice.id]
    again = alice.client.post(f"/api/v1/runs/{run_id}/approve")
    assert again.status_code == 409 and again.json()["code"] == "NO_PENDING_APPROVAL"


def test_a_reject_fails_the_run_and_its_owner_is_notified(people):
    owner, alice = people["requester"], people["alice"]
    run_id = gated_flow(owner, ("gate", {"approver_user_ids": [alice.id]}))
    waiting(owner, run_id)
    voted = alice.client.post(f"/api/v1/runs/{run_id}/reject", json={"comment": "no"})
    assert voted.status_code == 200 and voted.json()["approval_status"] == "rejected"
    done = finished(owner.client, run_id)
    assert done["status"] == "failed" and "rejected" in done["error"]
    assert [s["status"] for s in done["steps"]] == ["failed", "skipped"]
    inbox = eventually(
        lambda: owner.client.get("/api/v1/notifications").json()["notifications"],
        lambda found: any(n["subject"].get("id") == run_id for n in found),
    )
    assert next(n for n in inbox if n["subject"].get("id") == run_id)["type"] == "run_failed"


def test_deciding_through_the_approval_moves_the_run(people):
    owner, alice = people["requester"], people["alice"]
    run_id = gated_flow(owner, ("gate", {"approver_user_ids": [alice.id]}))
    approval_id = waiting(owner, run_id)["steps"][0]["approval_id"]
    decided = alice.client.post(f"/api/v1/approvals/{approval_id}/approve")
    assert decided.status_code == 200 and decided.json()["subject"]["run_id"] == run_id
    assert finished(owner.client, run_id)["status"] == "succeeded"


def test_several_waiting_approvals_need_a_step_id(people):
    owner, alice = people["requester"], people["alice"]
    config = {"approver_user_ids": [alice.id]}
    run_id = gated_flow(owner, ("one", config), ("two", config))
    run = until(
        owner.client, run_id, lambda r: [s["status"] for s in r["steps"][:2]] == ["waiting"] * 2
    )
    ambiguous = alice.client.post(f"/api/v1/runs/{run_id}/approve")
    assert ambiguous.status_code == 409 and ambiguous.json()["code"] == "AMBIGUOUS_APPROVAL"
    for step in run["steps"][:2]:
        voted = alice.client.post(
            f"/api/v1/runs/{run_id}/approve", json={"step_id": step["step_id"]}
        )
        assert voted.status_code == 200 and voted.json()["step_id"] == step["step_id"]
    assert finished(owner.client, run_id)["status"] == "succeeded"


def test_flow8_play_approve_decides_the_pending_step(people):
    owner = people["requester"]
    flow = owner.client.post("/api/flows", json={"name": "f8 gated"}).json()
    layer = {"name": "gate", "type": "approval", "config": {"allow_self_approval": True}}
    assert owner.client.post(f"/api/flows/{flow['id']}/layers", json=layer).status_code == 201
    play_id = owner.client.post(f"/api/flows/{flow['id']}/run").json()["id"]
    waiting(owner, play_id)
    approved = owner.client.post(f"/api/plays/{play_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["id"] == play_id and approved.json()["approval_status"] == "approved"
    assert finished(owner.client, play_id)["status"] == "succeeded"
    again = owner.client.post(f"/api/plays/{play_id}/approve")
    assert again.status_code == 409
    assert again.json()["error"] == "NO_PENDING_APPROVAL" and again.json()["statusCode"] == 409


def test_cancelling_a_gated_run_cancels_its_approval(people):
    owner, alice = people["requester"], people["alice"]
    run_id = gated_flow(owner, ("gate", {"approver_user_ids": [alice.id]}))
    approval_id = waiting(owner, run_id)["steps"][0]["approval_id"]
    assert owner.client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200
    cancelled = eventually(
        lambda: owner.client.get(f"/api/v1/approvals/{approval_id}").json(),
        lambda a: a["status"] == "cancelled",
    )
    assert cancelled["subject"]["type"] == "run_step"
