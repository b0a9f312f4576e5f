"""When PostgreSQL dies or restarts, the API fails fast with 503, recovers by itself, /health
always answers, and SIGTERM still stops the server."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from interfaces.adapters.embedded_postgres import EmbeddedPostgres, postmasters_of
from tests.conftest import throwaway_directory
from tests.e2e.conftest import Server, server_env, start_server

# Generous client timeouts: a request that does not fail fast would hang far longer than these.
TIMEOUT = 10


def signed_up(base_url: str) -> dict[str, str]:
    body = {"username": "survivor", "password": "securepass123"}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return {"Authorization": token}


def create_task(server: Server, headers: dict[str, str], name: str) -> int:
    answer = httpx.post(
        f"{server.base_url}/api/v1/tasks", json={"name": name}, headers=headers, timeout=TIMEOUT
    )
    return answer.status_code


def health(server: Server) -> int:
    return httpx.get(f"{server.base_url}/health", timeout=TIMEOUT).status_code


def recovered(server: Server, headers: dict[str, str], name: str, deadline: float = 90) -> None:
    """Create a task until it works; meanwhile every answer is a fast 201 or 503."""
    give_up = time.monotonic() + deadline
    while (status := create_task(server, headers, name)) != 201:
        assert status == 503
        assert health(server) in (200, 503)
        assert time.monotonic() < give_up, "the API did not recover"
        time.sleep(0.2)


def task_names(server: Server, headers: dict[str, str]) -> list[str]:
    listed = httpx.get(f"{server.base_url}/api/v1/tasks", headers=headers, timeout=TIMEOUT)
    assert listed.status_code == 200
    return sorted(t["name"] for t in listed.json()["tasks"])


def test_the_embedded_postgres_killed_is_restarted_and_the_api_recovers(
    tmp_path, embedded_data_dir
):
    server = start_server(
        server_env(LEDGERFLOW_DATA_DIR=str(embedded_data_dir)), tmp_path / "server.log"
    )
    pgdata = embedded_data_dir / "pg"
    try:
        headers = signed_up(server.base_url)
        assert create_task(server, headers, "before") == 201
        postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(postmaster, signal.SIGKILL)
        recovered(server, headers, "after")
        assert task_names(server, headers) == ["after", "before"]
        assert health(server) == 200
    finally:
        assert server.stop() == 0
    assert postmasters_of(pgdata) == []


@pytest.fixture
def own_postgres() -> Iterator[tuple[EmbeddedPostgres, str]]:
    """A PostgreSQL of this test alone, which it may stop and start again."""
    with throwaway_directory("ledgerflow-test-restart-") as directory:
        postgres = EmbeddedPostgres(Path(directory) / "data")
        url = postgres.start()
        yield postgres, url
        postgres.stop()


def test_an_external_postgres_that_restarts_gives_fast_503s_then_service_again(
    tmp_path, own_postgres
):
    postgres, url = own_postgres
    server = start_server(server_env(LEDGERFLOW_DATABASE_URL=url), tmp_path / "server.log")
    try:
        headers = signed_up(server.base_url)
        assert create_task(server, headers, "before") == 201
        postgres.stop()
        for _ in range(3):
            assert create_task(server, headers, "while down") == 503
            assert health(server) == 503
            listed = httpx.get(f"{server.base_url}/api/v1/tasks", headers=headers, timeout=TIMEOUT)
            assert listed.status_code == 503
            assert listed.json()["code"] == "DATABASE_UNAVAILABLE"
        postgres.start()
        recovered(server, headers, "after")
        assert task_names(server, headers) == ["after", "before"]
        postgres.stop()  # down again: SIGTERM must still stop the server
        assert create_task(server, headers, "while down again") == 503
    finally:
        assert server.stop() == 0
        postgres.start()  # for the fixture to stop
