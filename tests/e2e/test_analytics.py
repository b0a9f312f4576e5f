"""Statistics, analytics and exports, checked against data built through the API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import httpx
import openpyxl
import pytest

PASSWORD = "numbers-pass-123"


def account(base_url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def people(server):
    """An admin (first user), a member with four tasks (one completed, one overdue) and a
    stranger with one task of their own."""
    url = server.base_url
    admin = account(url, "numbers_admin")
    member = account(url, "numbers_member")
    stranger = account(url, "numbers_stranger")
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    bodies = [
        {"name": "Write the report", "priority": "high", "due_date": past},
        {"name": "Send the invoice", "priority": "urgent"},
        {"name": 'Plan, "quoted" and\nmultiline', "priority": "low", "tags": ["a", "b"]},
        {"name": "Done already", "priority": "high", "due_date": past},
    ]
    tasks = [httpx.post(f"{url}/api/v1/tasks", json=b, headers=member).json() for b in bodies]
    done = httpx.put(
        f"{url}/api/v1/tasks/{tasks[3]['task_id']}", json={"status": "completed"}, headers=member
    )
    assert done.status_code == 200
    httpx.post(f"{url}/api/v1/tasks", json={"name": "Not yours"}, headers=stranger)
    return {"admin": admin, "member": member, "stranger": stranger, "tasks": tasks}


def test_task_stats_count_by_status_and_priority_and_overdue(people, base_url):
    answer = httpx.get(f"{base_url}/api/v1/tasks/stats", headers=people["member"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "total": 4,
        "by_status": {
            "not_started": 3,
            "in_progress": 0,
            "completed": 1,
            "blocked": 0,
            "failed": 0,
            "cancelled": 0,
        },
        "by_priority": {"low": 1, "medium": 0, "high": 2, "urgent": 1},
        "overdue": 1,
    }


def test_the_timeline_has_a_point_for_every_day_ending_today(people, base_url):
    answer = httpx.get(
        f"{base_url}/api/v1/analytics/tasks/timeline?days=7", headers=people["member"]
    ).json()
    today = datetime.now(UTC).date()
    assert answer["days"] == 7
    assert [p["date"] for p in answer["points"]] == [
        (today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    assert answer["points"][-1] == {
        "date": today.isoformat(),
        "created": 4,
        "completed": 1,
        "failed": 0,
    }
    assert all(p["created"] == 0 for p in answer["points"][:-1])


def test_the_overview_counts_the_callers_tasks_and_has_every_section(people, base_url):
    answer = httpx.get(f"{base_url}/api/v1/analytics/overview", headers=people["member"]).json()
    assert answer["days"] == 7
    assert date.fromisoformat(answer["until"]) - date.fromisoformat(answer["since"]) == timedelta(6)
    tasks = answer["tasks"]
    assert (tasks["created"], tasks["completed"], tasks["failed"]) == (4, 1, 0)
    assert tasks["completion_rate"] == 0.25 and tasks["avg_completion_seconds"] >= 0
    assert answer["runs"] == {
        "started": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
        "success_rate": 0.0,
    }
    assert answer["agents"] == {"total": 0, "online": 0}
    assert answer["approvals"] == {"pending": 0, "approved": 0, "rejected": 0}


def test_everyones_numbers_are_for_admins_only(people, base_url):
    url = f"{base_url}/api/v1/analytics/overview?all_users=true"
    assert httpx.get(url, headers=people["member"]).status_code == 403
    everyone = httpx.get(url, headers=people["admin"]).json()
    assert everyone["tasks"]["created"] == 5


def test_agents_and_workers_are_empty_but_well_formed(people, base_url):
    headers = people["member"]
    assert httpx.get(f"{base_url}/api/v1/analytics/agents", headers=headers).json() == {
        "agents": []
    }
    workers = httpx.get(f"{base_url}/api/v1/analytics/workers/utilization", headers=headers)
    assert workers.json() == {"workers": []}
    assert (
        httpx.get(f"{base_url}/api/v1/analytics/overview?days=0", headers=headers).status_code
        == 422
    )


def export(base_url: str, headers: dict, fmt: str, kind: str = "tasks") -> httpx.Response:
    answer = httpx.get(f"{base_url}/api/v1/exports/{fmt}?type={kind}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f"attachment; filename={kind}.{fmt}"
    return answer


def test_a_csv_export_holds_exactly_the_callers_tasks(people, base_url):
    text = export(base_url, people["member"], "csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    names = sorted(r["name"] for r in rows)
    assert names == sorted(t["name"] for t in people["tasks"])
    plan = next(r for r in rows if r["priority"] == "low")
    assert plan["name"] == 'Plan, "quoted" and\nmultiline' and plan["tags"] == "a,b"


def test_a_json_export_is_an_array_of_the_callers_tasks(people, base_url):
    rows = json.loads(export(base_url, people["member"], "json").content)
    assert {r["task_id"] for r in rows} == {t["task_id"] for t in people["tasks"]}
    assert {r["status"] for r in rows} == {"not_started", "completed"}


def test_an_xlsx_export_opens_in_openpyxl(people, base_url):
    answer = export(base_url, people["member"], "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    header, *rows = list(book.active.values)
    assert header[:2] == ("task_id", "name") and len(rows) == 4
    assert "Not yours" not in [r[1] for r in rows]


def test_the_analytics_export_holds_the_timeline(people, base_url):
    rows = list(
        csv.DictReader(io.StringIO(export(base_url, people["member"], "csv", "analytics").text))
    )
    assert len(rows) == 30 and rows[-1]["created"] == "4"


def test_an_unknown_format_or_type_is_a_422_and_the_audit_export_still_answers(people, base_url):
    headers = people["admin"]
    assert (
        httpx.get(f"{base_url}/api/v1/exports/pdf?type=tasks", headers=headers).status_code == 422
    )
    assert httpx.get(f"{base_url}/api/v1/exports/csv?type=nope", headers=headers).status_code == 422
    audit = httpx.get(f"{base_url}/api/v1/exports/audit?format=csv", headers=headers)
    assert audit.status_code == 200 and "text/csv" in audit.headers["content-type"]
