"""/metrics parsed with prometheus-client's parser, /ready, /api/v1/health, settings/health."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server, server_on_own_database

PASSWORD = "observe-pass-123"


@pytest.fixture(scope="module")
def observed(pg_server_url, tmp_path_factory) -> Iterator[Server]:
    """A server that samples its database numbers every 0.2 s."""
    directory = tmp_path_factory.mktemp("observed")
    with server_on_own_database(
        pg_server_url, directory, LEDGERFLOW_METRICS_SAMPLE_SECONDS="0.2"
    ) as running:
        yield running


def account(base_url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def admin(observed) -> dict[str, str]:
    """The first user of the observed server: an admin."""
    return account(observed.base_url, "observer_admin")


def samples(base_url: str, headers: dict[str, str] | None = None) -> dict[tuple, float]:
    answer = httpx.get(f"{base_url}/metrics", headers=headers or {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def eventually(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_metrics_count_requests_by_route_template_and_sample_the_read_models(observed, admin):
    url = observed.base_url
    created = [
        httpx.post(f"{url}/api/v1/tasks", json={"name": f"t{n}"}, headers=admin).json()
        for n in range(3)
    ]
    for task in created:
        got = httpx.get(f"{url}/api/v1/tasks/{task['task_id']}", headers=admin)
        assert got.status_code == 200
    assert httpx.get(f"{url}/no/such/path").status_code == 404

    found = samples(url)
    route = "/api/v1/tasks/{task_id}"
    key = (("method", "GET"), ("route", route), ("status", "200"))
    assert found[("http_requests_total", key)] == 3
    assert (
        found[
            (
                "http_requests_total",
                (("method", "POST"), ("route", "/api/v1/tasks"), ("status", "201")),
            )
        ]
        == 3
    )
    assert (
        found[
            (
                "http_requests_total",
                (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
            )
        ]
        == 1
    )
    assert (
        found[("http_request_duration_seconds_count", (("method", "GET"), ("route", route)))] == 3
    )
    assert found[("ledgerflow_ws_connections", ())] == 0

    def settled():
        now = samples(url)
        tasks = now.get(("ledgerflow_tasks", (("status", "not_started"),)))
        lag = now.get(("ledgerflow_projection_lag_events", (("projection", "tasks"),)))
        return now if tasks == 3 and lag == 0 else None

    now = eventually(settled)
    assert now, samples(url)
    head = now[("ledgerflow_event_head_position", ())]
    assert head >= 5  # a user registered (several events) and three tasks
    assert now[("ledgerflow_projection_position", (("projection", "tasks"),))] <= head
    assert now[("ledgerflow_users", (("role", "admin"),))] == 1
    assert ("ledgerflow_relay_lag_events", ()) in now
    assert now[("ledgerflow_metrics_sample_ok", ())] == 1


def test_the_002_metrics_path_serves_the_same_metrics(observed):
    answer = httpx.get(f"{observed.base_url}/api/v1/metrics")
    assert answer.status_code == 200
    assert "http_requests_total" in answer.text


def test_health_under_api_v1_names_the_service(observed):
    for path in ("/health", "/api/v1/health"):
        body = httpx.get(f"{observed.base_url}{path}").json()
        assert body["status"] == "healthy" and body["service"] == "ledgerflow"
        assert body["checks"]["database"] == "ok"


def test_ready_says_ready_when_the_database_answers_and_nothing_lags(observed):
    answer = httpx.get(f"{observed.base_url}/ready")
    assert answer.status_code == 200 and answer.json()["status"] == "ready"


def test_settings_health_is_for_admins_and_lists_every_follower(observed, admin):
    url = observed.base_url
    member = account(url, "observer_member")
    assert httpx.get(f"{url}/api/v1/settings/health", headers=member).status_code == 403
    body = httpx.get(f"{url}/api/v1/settings/health", headers=admin).json()
    assert body["status"] == "healthy"
    checks = body["checks"]
    assert checks["database"] == "ok" and checks["bus"] == "postgres"
    assert checks["redis"].startswith("not_configured")
    assert checks["projections"]["tasks"]["in_this_process"] is True
    assert checks["projections"]["tasks"]["last_error"] is None
    assert (checks["minio"], checks["mail"]) == ("not_configured", "not_configured")


def test_a_metrics_token_protects_metrics_and_ready_fails_naming_the_lagging_check(
    pg_server_url, tmp_path
):
    with server_on_own_database(
        pg_server_url,
        tmp_path,
        LEDGERFLOW_METRICS_TOKEN="scrape-secret",
        LEDGERFLOW_RUN_PROJECTIONS="false",
        LEDGERFLOW_READY_MAX_LAG="0",
    ) as running:
        url = running.base_url
        assert httpx.get(f"{url}/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.get(f"{url}/metrics", headers=wrong).status_code == 401
        assert samples(url, {"Authorization": "Bearer scrape-secret"})
        body = {"username": "lagging_user", "password": PASSWORD}
        assert httpx.post(f"{url}/register", json=body).status_code == 200
        answer = httpx.get(f"{url}/ready")
        assert answer.status_code == 503
        assert answer.json()["failed"] == "projections"
        assert answer.json()["lagging"]["users"] >= 1


def test_metrics_add_up_across_workers(pg_server_url, tmp_path):
    with server_on_own_database(pg_server_url, tmp_path, "--workers", "2") as running:
        url = running.base_url
        for _ in range(20):  # a new connection each: the workers share them out
            assert httpx.get(f"{url}/api/v1/health").status_code == 200
        key = (("method", "GET"), ("route", "/api/v1/health"), ("status", "200"))
        totals = {samples(url)[("http_requests_total", key)] for _ in range(4)}
        assert totals == {20}, "every worker's scrape sees the fleet's counters"


def test_the_grafana_dashboard_asks_only_for_metrics_that_exist(observed):
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    wanted = {m for e in exprs for m in re.findall(r"\b(?:ledgerflow|http)_[a-z_]+", e)}
    answer = httpx.get(f"{observed.base_url}/metrics").text
    served = {s.name for f in text_string_to_metric_families(answer) for s in f.samples}
    served |= {f.name for f in text_string_to_metric_families(answer)}
    assert wanted <= served, wanted - served
