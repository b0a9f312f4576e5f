"""The approvals' numbers through a real server: the ``ledgerflow_approvals`` gauge on
/metrics, the ``approvals`` section of the analytics overview, and the approvals export."""

from __future__ import annotations

import csv
import io

import httpx

# The observability module's server of its own (sampling every 0.2 s) and its helpers.
from tests.e2e.test_observability import account, eventually, observed, samples

__all__ = ["observed"]


def client(base_url: str, username: str) -> httpx.Client:
    headers = account(base_url, username)
    return httpx.Client(base_url=base_url, headers=headers)


def gauge(base_url: str) -> dict[str, float]:
    return {
        dict(labels)["status"]: value
        for (name, labels), value in samples(base_url).items()
        if name == "ledgerflow_approvals"
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
