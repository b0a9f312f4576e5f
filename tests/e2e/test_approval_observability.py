"""The approvals' numbers through a real server: the ``ledgerflow_approvals`` gauge on
/metrics, the ``approvals`` section of the analytics overview, and the approvals export."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server, server_on_own_database

PASSWORD = "observe-pass-123"


@pytest.fixture(scope="module")
def observed(pg_server_url, tmp_path_factory) -> Iterator[Server]:
    """A server of its own that samples its database numbers every 0.2 s."""
    directory = tmp_path_factory.mktemp("approvals-observed")
    with server_on_own_database(
        pg_server_url, directory, LEDGERFLOW_METRICS_SAMPLE_SECONDS="0.2"
    ) as running:
        yield running


def client(base_url: str, username: str) -> httpx.Client:
    body = {"username": username, "password": PASSWORD}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def gauge(base_url: str) -> dict[str, float]:
    text = httpx.get(f"{base_url}/metrics").text
    return {
        s.labels["status"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "ledgerflow_approvals"
    }


def test_approvals_are_counted_on_metrics_in_the_overview_and_exported(observed):
    url = observed.base_url
    admin, member = client(url, "obs_admin"), client(url, "obs_member")
    member_id = member.get("/me").json()["user_id"]
    made = [
        admin.post("/api/v1/approvals", json={"title": f"a{n}", "approver_user_ids": [member_id]})
        for n in range(3)
    ]
    assert all(m.status_code == 201 for m in made)
    first = made[0].json()
    voted = member.post(
        f"/api/v1/approvals/{first['approval_id']}/approve",
        params={"min_position": made[-1].json()["position"]},
    )
    assert voted.status_code == 200, voted.text
    rejected = member.post(f"/api/v1/approvals/{made[1].json()['approval_id']}/reject")
    assert rejected.status_code == 200

    expected = {"pending": 1, "approved": 1, "rejected": 1}
    assert eventually(lambda: gauge(url) == expected), gauge(url)
    overview = admin.get("/api/v1/analytics/overview").json()
    assert overview["approvals"] == {"pending": 1, "approved": 1, "rejected": 1}
    assert member.get("/api/v1/analytics/overview").json()["approvals"] == {
        "pending": 0,
        "approved": 0,
        "rejected": 0,
    }  # the member requested none
    exported = admin.get("/api/v1/exports/csv", params={"type": "approvals"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["title"] for r in rows) == ["a0", "a1", "a2"]
    assert {r["title"]: r["status"] for r in rows} == {
        "a0": "approved",
        "a1": "rejected",
        "a2": "pending",
    }
