"""A WebSocket lives only as long as its credentials, on every instance (issue 11).

Two API servers share one database; only the first runs the projections. A socket open on the
second is closed (4401) when its session ends or its user is deactivated through the first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Server, database_of_its_own, server_env, start_server
from tests.e2e.live_client import next_of, open_socket, register, send, subscribe


@pytest.fixture(scope="module")
def servers(pg_server_url, tmp_path_factory) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("servers")
    with database_of_its_own(pg_server_url) as url:
        env = server_env(LEDGERFLOW_DATABASE_URL=url)
        first = start_server(env, logs / "first.log")
        second = start_server({**env, "LEDGERFLOW_RUN_PROJECTIONS": "false"}, logs / "second.log")
        yield first, second
        second.stop()
        first.stop()


@pytest.fixture(scope="module")
def admin(servers) -> dict[str, str]:
    _, headers = register(servers[0].base_url)  # the first user: an admin
    return headers


def close_code(socket) -> int:
    """The code the server closes with; fails if it keeps the socket open for a minute."""
    deadline = time.monotonic() + 60
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:  # heartbeats and events may come first
            socket.recv(timeout=60)
    return closed.value.rcvd.code


def test_logging_out_closes_the_sessions_socket_on_another_instance(servers, admin):
    first, second = servers
    token, headers = register(first.base_url)
    _, other_headers = register(first.base_url)
    with open_socket(second.base_url, token) as socket:
        subscribe(socket, events=["task.*"])
        out = httpx.post(f"{first.base_url}/api/v1/auth/logout", headers=headers)
        assert out.status_code == 204
        assert close_code(socket) == 4401
    # Another user's socket on the same instance is not affected.
    other_token = other_headers["Authorization"].removeprefix("Bearer ")
    with open_socket(second.base_url, other_token) as socket:
        send(socket, {"type": "ping"})
        assert next_of(socket, "pong")["type"] == "pong"


def test_deactivating_the_user_closes_their_socket_on_another_instance(servers, admin):
    first, second = servers
    token, headers = register(first.base_url)
    me = httpx.get(f"{first.base_url}/api/v1/auth/me", headers=headers).json()["user_id"]
    with open_socket(second.base_url, token) as socket:
        subscribe(socket, events=["task.*"], from_position=0)
        off = httpx.patch(
            f"{first.base_url}/api/v1/users/{me}", json={"active": False}, headers=admin
        )
        assert off.status_code == 200
        assert close_code(socket) == 4401
