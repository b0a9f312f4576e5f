"""The relay on real PostgreSQL and Redis: every event published, nothing lost while Redis or the
relay is down, and a resuming reader catches up from the store with no gap."""

from __future__ import annotations

import json
import os
import signal
import threading
from uuid import uuid4

import psycopg
import pytest
import redis

from application.accounts import AccountCommands
from application.context import CommandContext
from application.task import TaskCommands
from domain.task import Task
from interfaces.adapters.bus import CHANNEL
from interfaces.adapters.relay import RELAY
from interfaces.bootstrap import build
from tests.conftest import TEST_SECRET, make_settings
from tests.forked import forked_worker
from tests.integration.helpers import tracked, wait_for

CTX = CommandContext(actor="system:test")


class Collector:
    """Subscribes to the relay's channel in a thread (resubscribing after failures)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messages: list[dict] = []
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.subscribed.wait(10)

    @property
    def positions(self) -> list[int]:
        return [m["event"]["position"] for m in list(self.messages)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = redis.Redis.from_url(self.url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.1)
                    if message and message["type"] == "message":
                        self.messages.append(json.loads(message["data"]))
            except redis.RedisError:
                self._stop.wait(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def relayed(database_url, own_redis):
    """A container publishing to a Redis server the test owns, and a subscriber to it."""
    built = build(make_settings(database_url, redis_url=own_redis.url))
    collector = Collector(own_redis.url)
    built.start()
    yield built, collector
    collector.close()
    built.close()


def relay_of(container):
    return next(r for r in container.runners if r.projection.name == RELAY)


def test_the_relay_publishes_every_event_once_in_order_with_its_reader(relayed, database_url):
    container, collector = relayed
    user = (
        container.ledger[AccountCommands]
        .register_user(CTX, "relayed", "long-password-1", "A", "B")
        .aggregate
    )
    task = container.ledger[TaskCommands].create_task(CTX, user.id, "relay me").aggregate
    container.ledger[TaskCommands].update_task(CTX, user.id, task.id, {"status": "completed"})
    head = container.ledger.recorder.max_notification_id()
    wait_for(lambda: len(collector.messages) >= head)
    assert collector.positions == list(range(1, head + 1))
    assert {m["reader_id"] for m in collector.messages} == {str(user.id)}
    types = [m["event"]["type"] for m in collector.messages]
    assert types[0] == "user.registered" and "username.claimed" in types
    assert types[-2:] == ["task.created", "task.status_changed"]
    assert "credential" not in json.dumps(collector.messages)
    wait_for(lambda: tracked(database_url, RELAY) == head)
    assert collector.positions == list(range(1, head + 1)), "nothing published twice"


def test_while_redis_is_down_the_relay_holds_its_position_and_publishes_after(
    relayed, database_url, own_redis
):
    container, collector = relayed
    owner = uuid4()
    container.ledger[TaskCommands].create_task(CTX, owner, "before")
    wait_for(lambda: collector.positions == [1])
    own_redis.stop()
    for i in range(20):
        container.ledger[TaskCommands].create_task(CTX, owner, f"during {i}")
    head = container.ledger.recorder.max_notification_id()
    wait_for(lambda: relay_of(container).status().last_error is not None)
    assert tracked(database_url, RELAY) == 1
    own_redis.start()
    wait_for(lambda: tracked(database_url, RELAY) == head)
    assert relay_of(container).status().last_error is None
    # A reader that saw position 1 resumes from the store and gets every later event.
    container.watch.wait_for("event_feed", head, timeout=10)
    page = container.events.read(owner, after=1, limit=100)
    assert [e["position"] for e in page.events] == list(range(2, head + 1))


def test_a_relay_killed_mid_batch_publishes_every_event_after_restart(database_url, own_redis):
    stopped = build(make_settings(database_url, redis_url=own_redis.url))
    owner = uuid4()
    tasks = [Task.create(owner, f"task {i}") for i in range(6000)]
    stopped.ledger.save(*tasks)
    head = stopped.ledger.recorder.max_notification_id()
    collector = Collector(own_redis.url)
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_REDIS_URL": own_redis.url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    worker = forked_worker(env)
    try:
        wait_for(lambda: len(collector.messages) > 0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    killed_at = tracked(database_url, RELAY)
    assert killed_at < head, "the kill must land before the relay finished"
    try:
        stopped.start()
        wait_for(lambda: tracked(database_url, RELAY) == head)
        wait_for(lambda: set(collector.positions) >= set(range(1, head + 1)))
        stopped.watch.wait_for("event_feed", head, timeout=30)
        resumed, after = [], 0
        while True:
            page = stopped.events.read(owner, after=after, limit=1000)
            resumed += [e["position"] for e in page.events]
            after = page.next_after
            if not page.has_more:
                break
        assert resumed == list(range(1, head + 1))
    finally:
        collector.close()
        stopped.close()


class Published:
    """A bus that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def publish_many(self, messages: list[str]) -> None:
        self.messages += [json.loads(m) for m in messages]


class CountingCursor(psycopg.Cursor):
    """Counts the statements sent through it."""

    sent = 0

    def execute(self, *args, **kwargs):
        type(self).sent += 1
        return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        type(self).sent += 1
        return super().executemany(*args, **kwargs)


def test_a_batch_is_relayed_with_its_readers_read_in_two_statements(database_url):
    container = build(make_settings(database_url))
    try:
        relay = relay_of(container).projection
        relay.bus = Published()
        owner, earlier = uuid4(), uuid4()
        tasks = [Task.create(owner, f"t{i}") for i in range(4)]
        older = Task.create(earlier, "created in an earlier batch")
        older.collect_events()
        for task in (tasks[0], older):
            task.update({"status": "completed"})
        events = [e for t in (*tasks, older) for e in t.collect_events()]
        with psycopg.connect(database_url, cursor_factory=CountingCursor) as conn:
            cur = conn.cursor()
            relay.create_tables(cur)
            cur.execute("INSERT INTO relay_owners VALUES (%s, %s)", (older.id, earlier))
            CountingCursor.sent = 0
            relay.apply_batch(cur, list(enumerate(events, start=1)))
            relay.flush()
            assert CountingCursor.sent == 2  # the owners known, then the ones the batch names
            CountingCursor.sent = 0
            created = [Task.create(owner, "new").collect_events()[0] for _ in range(3)]
            relay.apply_batch(cur, list(enumerate(created, start=len(events) + 1)))
            assert CountingCursor.sent == 1  # each names its reader: nothing to look up
            relay._pending.clear()
        positions = [m["event"]["position"] for m in relay.bus.messages]
        assert positions == list(range(1, len(events) + 1))
        readers = [m["reader_id"] for m in relay.bus.messages]
        assert readers == [str(owner)] * (len(events) - 1) + [str(earlier)]
    finally:
        container.close()
