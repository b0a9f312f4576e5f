"""Every route of the OpenAPI schema against every kind of caller.

A new route fails this test until it is classified in ROUTES, so nothing ships unguarded.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.authorization_routes import (
    ADMIN,
    AUTHENTICATED,
    BODIES,
    DEVFLOW,
    OWNER_READER,
    OWNER_WRITER,
    PROFILE_READ,
    PUBLIC,
    ROUTES,
    WRITER,
)
from tests.e2e.conftest import ERROR_FIELDS

PASSWORD = "correct-horse-9"


def forged(claims: dict, key: str | None = TEST_SECRET, algorithm: str = "HS256") -> str:
    base = {
        "sub": str(uuid.uuid4()),
        "iss": "ledgerflow",
        "typ": "access",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    return jwt.encode(base | claims, key, algorithm=algorithm)


class World:
    """The callers: an admin, an owner with a task, a stranger, a viewer, and revoked ones."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.admin = self.account("matrix_admin")  # first user of this server: admin
        self.owner = self.account("matrix_owner")
        self.stranger = self.account("matrix_stranger")
        created = httpx.post(
            f"{base_url}/api/v1/users",
            headers=self.admin,
            json={"username": "matrix_viewer", "password": PASSWORD, "role": "viewer"},
        )
        assert created.status_code == 201
        self.viewer = self.login("matrix_viewer")
        task = httpx.post(f"{base_url}/api/v1/tasks", json={"name": "owned"}, headers=self.owner)
        self.task_id = task.json()["task_id"]
        hook = httpx.post(
            f"{base_url}/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/owned", "events": ["task.*"]},
            headers=self.owner,
        )
        self.webhook_id = hook.json()["webhook_id"]
        chat = {"message": "help", "session_id": "owned-session"}
        sent = httpx.post(
            f"{base_url}/api/v1/messages/send",
            json=BODIES[("post", "/api/v1/messages/send")],
            headers=self.owner,
        )
        self.message_id = sent.json()["message_id"]
        assert httpx.post(f"{base_url}/api/v1/chat", json=chat, headers=self.owner).is_success
        self.owner_id = httpx.get(f"{base_url}/me", headers=self.owner).json()["user_id"]
        stranger_token = self.stranger["Authorization"].removeprefix("Bearer ")
        self.stranger_session = jwt.decode(stranger_token, options={"verify_signature": False})[
            "sid"
        ]
        step = {
            "name": "wait",
            "type": "task",
            "config": {"name": "w", "wait_for_completion": True},
        }
        flow = httpx.post(
            f"{base_url}/api/v1/flows", json={"name": "owned", "steps": [step]}, headers=self.owner
        ).json()
        self.flow_id, self.step_id = flow["flow_id"], flow["steps"][0]["step_id"]
        run = httpx.post(f"{base_url}/api/v1/flows/{self.flow_id}/runs", headers=self.owner)
        self.run_id = run.json()["run_id"]
        self.approval_id, self.notification_id = self.approval_and_notification()
        schedule = {"flow_id": self.flow_id, "cron": "0 9 * * *", "name": "owned"}
        self.schedule_id = httpx.post(
            f"{base_url}/api/v1/schedules", json=schedule, headers=self.owner
        ).json()["schedule_id"]
        trigger = {
            "name": "owned",
            "type": "event_based",
            "config": {"event": "probe.none"},  # matches nothing: the owner's run stays alone
            "action": {"flow_id": self.flow_id},
        }
        self.trigger_id = httpx.post(
            f"{base_url}/api/v1/triggers", json=trigger, headers=self.owner
        ).json()["trigger_id"]
        deactivated = self.account("matrix_deactivated")
        deactivated_id = httpx.get(f"{base_url}/me", headers=deactivated).json()["user_id"]
        httpx.patch(
            f"{base_url}/api/v1/users/{deactivated_id}", json={"active": False}, headers=self.admin
        )
        logged_out = self.account("matrix_logged_out")
        httpx.post(f"{base_url}/api/v1/auth/logout", headers=logged_out)
        self.key_id = self.key(["tasks:read"])["api_key_id"]
        self.scopeless_key = {"Authorization": f"Bearer {self.key(['profile:read'])['key']}"}
        revoked = self.key(["tasks:read", "tasks:write", "profile:read"])
        httpx.delete(f"{base_url}/api/v1/api-keys/{revoked['api_key_id']}", headers=self.owner)
        self.rejected = {
            "missing": {},
            "garbage": {"Authorization": "Bearer not-a-token"},
            "expired": {"Authorization": forged({"exp": datetime.now(UTC) - timedelta(1)})},
            "alg-none": {"Authorization": forged({}, key=None, algorithm="none")},
            "other-key": {"Authorization": forged({}, key="another-key-that-is-32-bytes-long")},
            "deactivated": deactivated,
            "logged-out": logged_out,
            "revoked-key": {"Authorization": f"Bearer {revoked['key']}"},
            "garbage-key": {"Authorization": "Bearer lf_0123_nothing"},
            # Signed with the server's key for a real user, but in no session or an unknown one.
            "no-session": {"Authorization": forged({"sub": self.owner_id})},
            "unknown-session": {
                "Authorization": forged({"sub": self.owner_id, "sid": str(uuid.uuid4())})
            },
            "another-users-session": {
                "Authorization": forged({"sub": self.owner_id, "sid": self.stranger_session})
            },
        }

    def key(self, scopes: list[str]) -> dict:
        answer = httpx.post(
            f"{self.base_url}/api/v1/api-keys",
            headers=self.owner,
            json={"name": "matrix", "scopes": scopes},
        )
        assert answer.status_code == 201
        return answer.json()

    def approval_and_notification(self) -> tuple[str, str]:
        """The owner's approval (only the admin may vote) and the notification the admin gets
        from it (a stranger's probes of either are 404)."""
        admin_id = httpx.get(f"{self.base_url}/me", headers=self.admin).json()["user_id"]
        approval = httpx.post(
            f"{self.base_url}/api/v1/approvals",
            json={"title": "owned", "approver_user_ids": [admin_id]},
            headers=self.owner,
        ).json()
        for _ in range(600):
            inbox = httpx.get(f"{self.base_url}/api/v1/notifications", headers=self.admin)
            if inbox.json()["notifications"]:
                return approval["approval_id"], inbox.json()["notifications"][0]["notification_id"]
            time.sleep(0.05)
        raise AssertionError("the admin was not notified")

    def account(self, username: str) -> dict[str, str]:
        body = {"username": username, "password": PASSWORD}
        assert httpx.post(f"{self.base_url}/register", json=body).status_code == 200
        return self.login(username)

    def login(self, username: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.base_url}/login", json={"username": username, "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def call(self, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
        url = (
            path.replace("{task_id}", self.task_id)
            .replace("{user_id}", self.owner_id)
            .replace("{api_key_id}", self.key_id)
            .replace("{webhook_id}", self.webhook_id)
            .replace("{delivery_id}", str(uuid.uuid4()))
            .replace("{flow_id}", self.flow_id)
            .replace("{process_id}", self.flow_id)
            .replace("{step_id}", self.step_id)
            .replace("{layer_id}", self.step_id)
            .replace("{run_id}", self.run_id)
            .replace("{id}", self.run_id if path.startswith("/api/plays") else self.flow_id)
            .replace("{conversation_id}", "owned-session")
            .replace("{format}", "csv")
            .replace("{message_id}", self.message_id)
            .replace("{worker_id}", str(uuid.uuid4()))
            .replace("{dead_letter_id}", str(uuid.uuid4()))
            .replace("{approval_id}", self.approval_id)
            .replace("{notification_id}", self.notification_id)
            .replace("{schedule_id}", self.schedule_id)
            .replace("{trigger_id}", self.trigger_id)
        )
        return httpx.request(
            method, f"{self.base_url}{url}", headers=headers, json=BODIES.get((method, path))
        )


@pytest.fixture(scope="module")
def world(server) -> World:
    return World(server.base_url)


@pytest.fixture(scope="module")
def routes(server) -> list[tuple[str, str]]:
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    return sorted((m, p) for p, ops in schema["paths"].items() for m in ops)


def test_every_route_is_classified(routes):
    unclassified = [route for route in routes if route not in ROUTES]
    assert unclassified == [], "classify these routes in ROUTES (and BODIES)"


def test_every_protected_route_refuses_bad_credentials_with_401_and_no_data(world, routes):
    for method, path in routes:
        if ROUTES.get((method, path), PUBLIC) == PUBLIC:
            continue
        for kind, headers in world.rejected.items():
            answer = world.call(method, path, headers)
            assert answer.status_code == 401, (kind, method, path, answer.text)
            if path.startswith(DEVFLOW):
                assert {"detail", "code", "error", "statusCode"} <= set(answer.json())
            else:
                # seed paths (flow8's) may add their own fields beside these
                assert set(answer.json()) >= ERROR_FIELDS, (kind, method, path)
            assert "owned" not in answer.text


def test_a_viewer_reads_but_every_change_of_work_is_403(world, routes):
    for method, path in routes:
        rule = ROUTES[(method, path)]
        if rule in (WRITER, ADMIN):
            assert world.call(method, path, world.viewer).status_code == 403, (method, path)
        if rule == OWNER_WRITER:  # the viewer does not own the task either
            assert world.call(method, path, world.viewer).status_code in (403, 404), (method, path)
        if rule in (AUTHENTICATED, OWNER_READER) and method == "get":
            assert world.call(method, path, world.viewer).status_code in (200, 404), (method, path)


def test_another_member_gets_404_for_the_owners_task(world, routes):
    for method, path in routes:
        if ROUTES[(method, path)] in (OWNER_READER, OWNER_WRITER):
            answer = world.call(method, path, world.stranger)
            assert answer.status_code == 404, (method, path)
            assert "owned" not in answer.text


def test_a_member_gets_403_on_every_admin_route(world, routes):
    for method, path in routes:
        if ROUTES[(method, path)] == ADMIN:
            assert world.call(method, path, world.stranger).status_code == 403, (method, path)


def test_the_owner_can_still_read_the_task(world):
    answer = world.call("get", "/api/v1/tasks/{task_id}", world.owner)
    assert answer.status_code == 200 and answer.json()["name"] == "owned"


def test_the_owners_webhook_is_unchanged_by_the_probes(world):
    answer = world.call("get", "/api/v1/webhooks/{webhook_id}", world.owner)
    assert answer.status_code == 200 and answer.json()["version"] == 1


def test_an_api_key_without_the_scope_is_403_everywhere_but_its_scope(world, routes):
    for method, path in routes:
        if ROUTES[(method, path)] == PUBLIC or (method, path) in PROFILE_READ:
            continue
        answer = world.call(method, path, world.scopeless_key)
        assert answer.status_code == 403, (method, path, answer.text)
    assert world.call("get", "/me", world.scopeless_key).status_code == 200


def test_the_owners_flow_and_run_are_unchanged_by_the_probes(world):
    flow = world.call("get", "/api/v1/flows/{flow_id}", world.owner)
    assert flow.status_code == 200 and flow.json()["version"] == 1
    run = world.call("get", "/api/v1/runs/{run_id}", world.owner).json()
    assert run["status"] in ("pending", "running", "waiting")


def test_the_owners_schedule_and_trigger_are_unchanged_by_the_probes(world):
    schedule = world.call("get", "/api/v1/schedules/{schedule_id}", world.owner)
    assert schedule.status_code == 200 and schedule.json()["version"] == 1
    trigger = world.call("get", "/api/v1/triggers/{trigger_id}", world.owner)
    assert trigger.status_code == 200 and trigger.json()["name"] == "owned"


def test_the_owners_conversation_is_unchanged_by_the_probes(world):
    answer = world.call("get", "/api/v1/chat/conversations/{conversation_id}/messages", world.owner)
    assert answer.status_code == 200 and answer.json()["total"] == 2
