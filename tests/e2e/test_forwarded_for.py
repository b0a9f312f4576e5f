"""X-Forwarded-For is believed only from the proxies the operator lists (issue 11).

uvicorn trusts it from 127.0.0.1 by default, so a client on the same machine (or behind a proxy
that passes the header through) could pick a new address for every login attempt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.conftest import database_url_for
from tests.e2e.conftest import Server, server_env, start_server


@pytest.fixture(scope="module")
def strict(pg_server_url, tmp_path_factory) -> Iterator[Server]:
    name = f"lf_e2e_xff_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = server_env(
        LEDGERFLOW_DATABASE_URL=database_url_for(pg_server_url, name),
        LEDGERFLOW_LOGIN_ADDRESS_RATE_LIMIT="3/minute",
    )
    running = start_server(env, tmp_path_factory.mktemp("xff") / "server.log")
    yield running
    running.stop()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_forged_x_forwarded_for_does_not_escape_the_address_throttle(strict):
    codes = [
        httpx.post(
            f"{strict.base_url}/login",
            json={"username": f"someone{i}", "password": "guess-guess"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
