"""The PostgreSQL LISTEN/NOTIFY bus on a real server: every listening process gets every message
in order, large messages travel through the overflow table, and a listener whose connection dies
reconnects and says so (``None``) so that its hub catches up from the store."""

from __future__ import annotations

import asyncio
import json
import threading

import psycopg
import pytest

from application.accounts import AccountCommands
from application.context import CommandContext
from application.task import TaskCommands
from interfaces.adapters.bus import BusUnavailable
from interfaces.adapters.postgres_bus import LISTENER, NOTIFY_LIMIT, PUBLISHER, PostgresBus
from interfaces.bootstrap import build, conninfo
from tests.conftest import make_settings
from tests.integration.helpers import wait_for

CTX = CommandContext(actor="system:test")


class Listener:
    """Runs ``bus.listen()`` on an event loop in a thread, like one API process's LiveHub."""

    def __init__(self, bus: PostgresBus) -> None:
        self.received: list[str | None] = []
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(bus), self._loop).result(5)
        wait_for(lambda: self.received.count(None) == 1)

    async def _start(self, bus: PostgresBus) -> None:
        self._task = asyncio.create_task(self._follow(bus))

    async def _follow(self, bus: PostgresBus) -> None:
        async for message in bus.listen():
            self.received.append(message)

    @property
    def messages(self) -> list[str]:
        return [m for m in list(self.received) if m is not None]

    def close(self) -> None:
        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def bus(database_url):
    published = PostgresBus(conninfo(database_url))
    yield published
    published.close()


@pytest.fixture
def listeners(database_url):
    """Two listeners, each with its own bus object, as two API processes would have."""
    made = [Listener(PostgresBus(conninfo(database_url))) for _ in range(2)]
    yield made
    for listener in made:
        listener.close()


def terminate_listeners(database_url: str) -> int:
    """Kill the LISTEN connections (as a failover or an idle-connection reaper would)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND query LIKE 'LISTEN%%'"
            " AND datname = current_database()",
            (LISTENER,),
        ).fetchall()
    return len(rows)


def test_every_listening_process_gets_every_message_once_in_order(bus, listeners):
    sent = [json.dumps({"n": i}) for i in range(250)]
    bus.publish_many(sent[:100])
    bus.publish_many(sent[100:])
    for listener in listeners:
        wait_for(lambda listener=listener: len(listener.messages) >= len(sent))
        assert listener.messages == sent


def test_a_message_over_the_notify_limit_arrives_whole_and_in_its_place(
    bus, listeners, database_url
):
    big = json.dumps({"n": 1, "data": "é" * NOTIFY_LIMIT})  # over the limit in bytes, not chars
    sent = [json.dumps({"n": 0}), big, json.dumps({"n": 2})]
    bus.publish_many(sent)
    for listener in listeners:
        wait_for(lambda listener=listener: len(listener.messages) >= 3)
        assert listener.messages == sent
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM ledgerflow_bus_overflow").fetchone()
    assert row == (1,), "only the big message went through the overflow table"


def test_a_listener_whose_connection_dies_reconnects_and_reports_the_gap(
    bus, listeners, database_url
):
    bus.publish_many(["before"])
    wait_for(lambda: all(listener.messages == ["before"] for listener in listeners))
    assert terminate_listeners(database_url) == 2
    for listener in listeners:
        wait_for(lambda listener=listener: listener.received.count(None) == 2)
    bus.publish_many(["after"])
    for listener in listeners:
        wait_for(lambda listener=listener: len(listener.messages) == 2)
        assert listener.received == [None, "before", None, "after"]


def test_a_publish_on_a_dead_connection_fails_then_the_next_one_reconnects(
    bus, listeners, database_url
):
    bus.publish_many(["first"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (PUBLISHER,),
        )
    with pytest.raises(BusUnavailable):
        bus.publish_many(["lost: the relay publishes its batch again"])
    bus.publish_many(["again"])
    for listener in listeners:
        wait_for(lambda listener=listener: len(listener.messages) == 2)
        assert listener.messages == ["first", "again"]


def test_the_relay_publishes_through_postgres_when_no_redis_is_configured(database_url):
    container = build(make_settings(database_url))
    assert isinstance(container.bus, PostgresBus)
    listener = Listener(container.bus)
    try:
        container.start()
        user = (
            container.ledger[AccountCommands]
            .register_user(CTX, "pgbus", "long-password-1", "A", "B")
            .aggregate
        )
        container.ledger[TaskCommands].create_task(CTX, user.id, "over postgres")
        head = container.ledger.recorder.max_notification_id()
        wait_for(lambda: len(listener.messages) >= head)
        positions = [json.loads(m)["event"]["position"] for m in listener.messages]
        assert positions == list(range(1, head + 1))
        assert json.loads(listener.messages[-1])["event"]["type"] == "task.created"
    finally:
        listener.close()
        container.close()
