"""The admin audit trail and its export over HTTP."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

PASSWORD = "correct-horse-9"


@pytest.fixture(scope="module")
def setup(server) -> dict:
    base = server.base_url
    for name in ("audit_admin", "audit_member"):
        httpx.post(f"{base}/register", json={"username": name, "password": PASSWORD})
    admin = {
        "Authorization": httpx.post(
            f"{base}/login", json={"username": "audit_admin", "password": PASSWORD}
        ).json()["token"]
    }
    member = {
        "Authorization": httpx.post(
            f"{base}/login", json={"username": "audit_member", "password": PASSWORD}
        ).json()["token"]
    }
    member_id = httpx.get(f"{base}/me", headers=member).json()["user_id"]
    task = httpx.post(
        f"{base}/api/v1/tasks",
        json={"name": "audited"},
        headers={**member, "X-Request-ID": "audit-correlation-1"},
    ).json()
    httpx.put(
        f"{base}/api/v1/tasks/{task['task_id']}", json={"status": "completed"}, headers=member
    )
    return {"admin": admin, "member": member, "member_id": member_id, "task": task}


def audit(base_url, headers, **params) -> dict:
    answer = httpx.get(f"{base_url}/api/v1/audit", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_admin_filters_by_aggregate_actor_type_and_correlation(base_url, setup):
    admin, task = setup["admin"], setup["task"]
    by_task = audit(base_url, admin, aggregate_id=task["task_id"])["events"]
    assert [e["type"] for e in by_task] == ["task.created", "task.status_changed"]
    actor = f"user:{setup['member_id']}"
    by_actor = audit(base_url, admin, actor=actor, types="task.*")["events"]
    assert by_actor and all(e["actor"] == actor and e["type"].startswith("task.") for e in by_actor)
    by_correlation = audit(base_url, admin, correlation_id="audit-correlation-1")["events"]
    assert [e["type"] for e in by_correlation] == ["task.created"]


def test_the_time_range_and_pagination_by_position(base_url, setup):
    admin = setup["admin"]
    everything = audit(base_url, admin, limit=500)["events"]
    positions = [e["position"] for e in everything]
    assert positions == sorted(positions) and len(positions) >= 5
    first = audit(base_url, admin, limit=2)
    second = audit(base_url, admin, limit=2, after=first["next_after"])
    assert (
        first["has_more"]
        and [e["position"] for e in first["events"] + second["events"]] == positions[:4]
    )
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert audit(base_url, admin, since=future)["events"] == []
    assert len(audit(base_url, admin, until=future, limit=500)["events"]) == len(everything)


def test_the_export_streams_the_same_events_as_jsonl_and_csv(base_url, setup):
    admin = setup["admin"]
    paged = audit(base_url, admin, limit=500)["events"]
    jsonl = httpx.get(f"{base_url}/api/v1/exports/audit", headers=admin, params={"format": "jsonl"})
    assert jsonl.status_code == 200
    assert [json.loads(line) for line in jsonl.text.splitlines()] == paged
    exported = httpx.get(
        f"{base_url}/api/v1/exports/audit",
        headers=admin,
        params={"format": "csv", "types": "task.*"},
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["position"]) for r in rows] == [
        e["position"] for e in paged if e["type"].startswith("task.")
    ]


def test_no_secret_ever_appears_in_the_audit_trail(base_url, setup):
    text = httpx.get(f"{base_url}/api/v1/exports/audit", headers=setup["admin"]).text
    for word in ("credential", "argon2", "key_hash", "refresh_hash", "sealed_totp_secret"):
        assert word not in text


def test_a_member_cannot_read_the_audit_trail(base_url, setup):
    for path in ("/api/v1/audit", "/api/v1/exports/audit"):
        assert httpx.get(f"{base_url}{path}", headers=setup["member"]).status_code == 403
