"""A run through ``ledgerflow serve`` (no projections in the API) and ``ledgerflow worker``: the
worker is SIGKILLed while a step waits on its durable timer; a new worker finishes the run, and
no step ran twice."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import Server, server_env, start_server
from tests.e2e.flow_helpers import account, finished, until
from tests.forked import Forked, forked_worker


@pytest.fixture
def split(pg_server_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    """An API without projections, and the environment its workers need."""
    with fresh_database(pg_server_url) as url:
        env = server_env(LEDGERFLOW_DATABASE_URL=url, LEDGERFLOW_RUN_PROJECTIONS="false")
        server = start_server(env, tmp_path / "server.log")
        try:
            yield server, {**env, "LEDGERFLOW_RUN_PROJECTIONS": "true"}
        finally:
            server.stop()


def worker(env: dict[str, str]) -> Forked:
    """``ledgerflow worker``: the projections and the run engine."""
    return forked_worker(env)


def test_a_killed_worker_leaves_the_run_to_the_next_one_and_no_step_runs_twice(split):
    server, env = split
    first = worker(env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            client.headers.update(account(server.base_url))
            steps = [
                {"key": "made", "name": "made", "type": "task", "config": {"name": "before"}},
                {"key": "pause", "name": "pause", "type": "delay", "config": {"seconds": 2}},
                {"key": "after", "name": "after", "type": "task", "config": {"name": "after"}},
            ]
            flow = client.post("/api/v1/flows", json={"name": "w", "steps": steps}).json()
            run = client.post(f"/api/v1/flows/{flow['flow_id']}/runs").json()
            until(client, run["run_id"], lambda r: r["steps"][1]["status"] == "waiting")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = worker(env)
            try:
                done = finished(client, run["run_id"])
                tasks = client.get("/api/v1/tasks").json()
            finally:
                second.terminate()
                second.wait(timeout=30)
    finally:
        first.kill()
    assert done["status"] == "succeeded"
    assert [s["attempt"] for s in done["steps"]] == [1, 1, 1]
    assert sorted(t["name"] for t in tasks["tasks"]) == ["after", "before"]
