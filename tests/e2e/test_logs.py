"""`ledgerflow serve` writes one log format (JSON lines into a file), an access line per
request with its request id, principal kind, status and duration, never a secret, and warns at
start when the development secret is in use (issue 12, defect 8)."""

from __future__ import annotations

import json

import httpx

from interfaces.settings import DEFAULT_SECRET
from tests.e2e.conftest import server_of_its_own

PASSWORD = "securepass123"


def test_serve_logs_json_lines_with_access_lines_and_no_secret(pg_server_url, tmp_path):
    log = tmp_path / "server.log"
    with server_of_its_own(
        pg_server_url, log, LEDGERFLOW_LOG_LEVEL="info", LEDGERFLOW_SECRET_KEY=DEFAULT_SECRET
    ) as server:
        url = server.base_url
        httpx.post(f"{url}/register", json={"username": "logger", "password": PASSWORD})
        token = httpx.post(f"{url}/login", json={"username": "logger", "password": PASSWORD})
        token = token.json()["token"]
        listed = httpx.get(
            f"{url}/api/v1/tasks?token={token}",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-logs-1"},
        )
        assert listed.status_code == 200
        httpx.get(f"{url}/api/v1/tasks")  # no credentials: 401
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records, log.read_text()
    text = log.read_text()
    assert token not in text and PASSWORD not in text and DEFAULT_SECRET not in text
    warnings = [r for r in records if r["level"] == "warning" and r["logger"] == "ledgerflow"]
    assert "LEDGERFLOW_SECRET_KEY" in warnings[0]["message"]
    access = [r for r in records if r["logger"] == "ledgerflow.access"]
    mine = next(r for r in access if r["request_id"] == "trace-logs-1")
    assert mine["method"] == "GET" and mine["path"] == "/api/v1/tasks"  # no query string
    assert mine["status"] == 200 and mine["principal"] == "user"
    assert mine["duration_ms"] >= 0
    refused = [r for r in access if r["path"] == "/api/v1/tasks" and r["status"] == 401]
    assert refused and refused[0]["principal"] == "anonymous" and refused[0]["request_id"]
    assert any(r["path"] == "/register" and r["status"] == 200 for r in access)
    assert not [line for line in text.splitlines() if "Warning" in line and line[0] != "{"]
