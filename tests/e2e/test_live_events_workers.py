"""`ledgerflow serve --workers 2` without Redis: the relay in the supervising process NOTIFYs each
event once, and the sockets of BOTH worker processes receive it live (the PostgreSQL bus); after
the workers' LISTEN connections are killed every socket catches up with no gap and no duplicate."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import psutil
import psycopg
import pytest
from websockets.sync.client import ClientConnection

from interfaces.adapters.postgres_bus import LISTENER
from tests.conftest import database_url_for
from tests.e2e.conftest import server_env, start_server
from tests.e2e.live_client import events_until, next_of, open_socket, register, subscribe

WORKERS = 2


@pytest.fixture(scope="module")
def served(pg_server_url, tmp_path_factory):
    """A two-worker server (no LEDGERFLOW_REDIS_URL) and its database URL."""
    name = f"lf_e2e_workers_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = database_url_for(pg_server_url, name)
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(
        server_env(LEDGERFLOW_DATABASE_URL=database_url), log, "--workers", str(WORKERS)
    )
    yield server, database_url
    server.stop()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_of(server, socket: ClientConnection) -> int:
    """The pid of the worker process holding the server end of ``socket``."""
    port = int(server.base_url.rsplit(":", 1)[1])
    client_port = socket.local_address[1]
    for child in psutil.Process(server.process.pid).children(recursive=True):
        for connection in child.net_connections(kind="tcp"):
            if (
                connection.laddr.port == port
                and connection.raddr
                and (connection.raddr.port == client_port)
            ):
                return child.pid
    raise AssertionError("no worker process holds this socket")


@pytest.fixture
def sockets_on_both_workers(served) -> Iterator[tuple[list[ClientConnection], httpx.Client]]:
    """Subscribed, caught-up sockets of one user, at least two on each worker process."""
    server, _ = served
    token, headers = register(server.base_url)
    with ExitStack() as stack, httpx.Client(base_url=server.base_url, headers=headers) as client:
        sockets: list[ClientConnection] = []
        per_worker: dict[int, int] = {}
        while len(per_worker) < WORKERS or min(per_worker.values()) < 2:
            assert len(sockets) < 60, f"connections never spread over the workers: {per_worker}"
            socket = stack.enter_context(open_socket(server.base_url, token))
            subscribe(socket, events=["task.created"])
            next_of(socket, "caught_up")  # from here on, events reach it only through the bus
            sockets.append(socket)
            pid = worker_of(server, socket)
            per_worker[pid] = per_worker.get(pid, 0) + 1
        yield sockets, client


def create(client: httpx.Client, names: list[str]) -> list[str]:
    return [client.post("/api/v1/tasks", json={"name": n}).json()["task_id"] for n in names]


def test_there_are_two_worker_processes_each_listening_once(served, sockets_on_both_workers):
    server, database_url = served
    children = psutil.Process(server.process.pid).children(recursive=True)
    assert len([c for c in children if "python" in c.name().lower()]) >= WORKERS
    with psycopg.connect(database_url) as conn:
        listening = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND query LIKE 'LISTEN%%' AND datname = current_database()",
            (LISTENER,),
        ).fetchone()
    assert listening == (WORKERS,)


def test_sockets_on_every_worker_receive_each_live_event_once_in_order(sockets_on_both_workers):
    sockets, client = sockets_on_both_workers
    created = create(client, [f"live {i}" for i in range(5)])
    for socket in sockets:
        got = events_until(socket, lambda events: len(events) >= 5)
        assert [e["aggregate_id"] for e in got] == created


def test_after_the_listen_connections_die_every_socket_catches_up_without_gap_or_duplicate(
    served, sockets_on_both_workers
):
    _, database_url = served
    sockets, client = sockets_on_both_workers
    with psycopg.connect(database_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND query LIKE 'LISTEN%%'"
            " AND datname = current_database()",
            (LISTENER,),
        ).fetchall()
    assert len(killed) == WORKERS
    during = create(client, [f"during {i}" for i in range(10)])
    for socket in sockets:
        got = events_until(socket, lambda events: len(events) >= 10)
        assert [e["aggregate_id"] for e in got] == during
    after = create(client, ["after"])
    for socket in sockets:
        got = events_until(socket, lambda events: len(events) >= 1)
        assert [e["aggregate_id"] for e in got] == after, "nothing sent twice, nothing missing"
