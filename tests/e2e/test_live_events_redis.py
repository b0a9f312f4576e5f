"""Production shape over real Redis: an API process and a `ledgerflow worker` (projections and
relay), a WebSocket client, and a Redis server that the tests stop and restart."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import database_url_for
from tests.e2e.conftest import server_env, start_server
from tests.e2e.live_client import (
    events_until,
    next_of,
    open_socket,
    receive,
    register,
    subscribe,
    ws_url,
)
from tests.forked import forked_worker
from tests.redis_process import RedisProcess


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def base_url(pg_server_url, redis_server, tmp_path_factory):
    """An API process without projections, and a worker that runs them and the relay."""
    name = f"lf_e2e_redis_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = server_env(
        LEDGERFLOW_DATABASE_URL=database_url_for(pg_server_url, name),
        LEDGERFLOW_REDIS_URL=redis_server.url,
        LEDGERFLOW_RUN_PROJECTIONS="false",
        LEDGERFLOW_WS_HEARTBEAT_SECONDS="0.3",
        LEDGERFLOW_WS_OUTBOX_SIZE="20",
    )
    log = tmp_path_factory.mktemp("server") / "server.log"
    # One after the other: two processes creating the event store's tables at once can collide
    # (CREATE TYPE is not IF NOT EXISTS-safe under concurrency).
    api = start_server(env, log)
    worker = forked_worker(env)
    yield api.base_url
    api.stop()
    worker.terminate()
    worker.wait(timeout=30)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def user(base_url):
    token, headers = register(base_url)
    with httpx.Client(base_url=base_url, headers=headers) as client:
        yield token, client


@pytest.fixture
def redis_outage(redis_server):
    """Stops Redis for the test's middle part; always restarts it."""
    yield redis_server
    if redis_server.process is None:
        redis_server.start()


def create(client, names):
    return [client.post("/api/v1/tasks", json={"name": n}).json()["task_id"] for n in names]


def live_with_one_event(socket, client, patterns) -> int:
    """Subscribe, write one task and return the position of its event once it arrived live."""
    subscribe(socket, events=patterns)
    create(client, ["first"])
    return events_until(socket, lambda events: len(events) >= 1)[-1]["position"]


def test_events_travel_from_the_worker_through_redis_to_the_socket(base_url, user):
    token, client = user
    with open_socket(base_url, token) as socket:
        subscribe(socket, events=["task.created"])
        [task_id] = create(client, ["via redis"])
        got = events_until(socket, lambda events: len(events) >= 1)
    assert got[0]["aggregate_id"] == task_id and got[0]["data"]["name"] == "via redis"


def test_an_idle_socket_receives_heartbeats(base_url, user):
    token, _ = user
    with open_socket(base_url, token) as socket:
        assert next_of(socket, "heartbeat")["position"] >= 0
        assert next_of(socket, "heartbeat")["type"] == "heartbeat"


def test_a_connected_subscriber_gets_every_event_written_while_redis_was_down(
    base_url, user, redis_outage
):
    token, client = user
    with open_socket(base_url, token) as socket:
        live_with_one_event(socket, client, ["task.created"])
        redis_outage.stop()
        during = create(client, [f"during {i}" for i in range(10)])
        redis_outage.start()
        got = events_until(socket, lambda events: len(events) >= 10)
        after = create(client, ["after"])
        got += events_until(socket, lambda events: len(events) >= 1)
    positions = [e["position"] for e in got]
    assert [e["aggregate_id"] for e in got] == during + after
    assert positions == sorted(set(positions))


def test_a_subscriber_resuming_while_redis_is_down_gets_every_event_from_the_store(
    base_url, user, redis_outage
):
    token, client = user
    with open_socket(base_url, token) as socket:
        last = live_with_one_event(socket, client, ["task.*"])
    redis_outage.stop()
    missed = create(client, [f"missed {i}" for i in range(5)])
    with open_socket(base_url, token) as socket:
        subscribe(socket, events=["task.*"], from_position=last)
        got = events_until(socket, lambda events: len(events) >= 5)
        assert next_of(socket, "caught_up")["position"] >= got[-1]["position"]
    assert [e["aggregate_id"] for e in got] == missed


def test_a_client_that_stops_reading_is_closed_with_a_slow_consumer_reason(base_url, user):
    token, client = user
    tiny = socket.socket()  # closed below: the server may abort the connection under it
    tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    tiny.connect(("127.0.0.1", int(base_url.rsplit(":", 1)[1])))
    with (
        closing(tiny),
        connect(ws_url(base_url, "/ws", token), sock=tiny, compression=None, max_queue=1) as ws,
    ):
        assert receive(ws)["type"] == "authenticated"
        subscribe(ws, events=["task.created"])
        # ~5 MB of events the client does not read: more than every buffer on the way can hold.
        body = {"name": "bulky", "description": "x" * 5000}
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.post("/api/v1/tasks", json=body), range(1000)))
        # The server closes it (a connection that stayed open would time out here instead).
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=30)
    # The close frame sits behind the unread data; if the client does not read it within the
    # server's close timeout (10 s, under load) the server aborts and no frame arrives at all.
    if closed.value.rcvd is not None:
        assert closed.value.rcvd.code == 4008
        assert closed.value.rcvd.reason.startswith("slow consumer")
