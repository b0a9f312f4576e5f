"""Webhook delivery on real PostgreSQL: fan-out exactly once, claims and leases, the dispatcher
with a real receiver, a 410, Redis down, and a dispatcher killed mid-batch."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from application.context import CommandContext
from application.task import TaskCommands
from application.webhook_signing import delivery_id as signing_delivery_id
from application.webhooks import WebhookCommands
from interfaces.bootstrap import Container, build, conninfo, webhook_dispatcher
from projections.envelope import event_id
from projections.webhook_delivery import WEBHOOK_DELIVERIES, delivery_id
from projections.webhook_outbox import DeliveryOutbox
from tests.conftest import TEST_SECRET, make_settings
from tests.forked import forked_worker
from tests.integration.helpers import tracked, wait_for
from tests.webhook_receiver import Receiver

CTX = CommandContext(actor="system:test")
FAST = {
    "webhook_allowed_hosts": ["127.0.0.1"],
    "webhook_retry_schedule": [0, 0.2, 0.2],
    "webhook_retry_jitter": 0,
    "webhook_lease_seconds": 3,
    "webhook_timeout_seconds": 2,
    "webhook_breaker_failures": 100,  # the breaker has unit tests and the slow-endpoint test
}


def hooks_container(database_url: str, **overrides: Any) -> Container:
    built = build(make_settings(database_url, **{**FAST, **overrides}))
    built.start()
    return built


@pytest.fixture
def hooks(database_url: str) -> Iterator[Container]:
    """Projections running, no dispatcher: tests drive it."""
    built = hooks_container(database_url, webhook_dispatcher=False)
    yield built
    built.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def subscribe(container: Container, receiver: Receiver, owner: UUID, *patterns: str) -> UUID:
    written, secret = container.ledger[WebhookCommands].create_webhook(
        CTX, owner, receiver.url, list(patterns or ["task.*"])
    )
    receiver.secret = secret
    return written.aggregate.id


def rows(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(database_url)) as conn:
        return conn.execute(sql, params).fetchall()


def fanned_out(container: Container) -> None:
    head = container.ledger.recorder.max_notification_id() or 0
    wait_for(lambda: tracked(container.database_url, WEBHOOK_DELIVERIES) >= head)


def test_the_delivery_id_is_the_one_the_signing_module_names() -> None:
    webhook, event = uuid4(), uuid4()
    assert delivery_id(webhook, event) == signing_delivery_id(webhook, event)


def test_each_event_is_fanned_out_once_to_each_matching_webhook_of_its_owner(
    hooks: Container, receiver: Receiver
) -> None:
    owner, stranger = uuid4(), uuid4()
    tasks_hook = subscribe(hooks, receiver, owner, "task.*")
    created_hook = subscribe(hooks, receiver, owner, "task.created")
    strangers = subscribe(hooks, receiver, stranger, "*")
    task = hooks.ledger[TaskCommands].create_task(CTX, owner, "one").aggregate
    hooks.ledger[TaskCommands].update_task(CTX, owner, task.id, {"name": "two"})
    fanned_out(hooks)
    found = rows(
        hooks.database_url,
        "SELECT id, webhook_id, event_type FROM webhook_deliveries ORDER BY position, webhook_id",
    )
    expected = {
        (delivery_id(tasks_hook, event_id(task.id, 1)), tasks_hook, "task.created"),
        (delivery_id(created_hook, event_id(task.id, 1)), created_hook, "task.created"),
        (delivery_id(tasks_hook, event_id(task.id, 2)), tasks_hook, "task.updated"),
    }
    theirs = [r for r in found if r[1] == strangers]
    assert [r[2] for r in theirs] == ["webhook.created"]  # its own creation, nothing of owner's
    assert set(found) - set(theirs) == expected and len(found) == 4
    # Applying the whole log again (tracking reset) adds nothing.
    with psycopg.connect(conninfo(hooks.database_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE ledgerflow_tracking SET position = 0 WHERE name = %s", (WEBHOOK_DELIVERIES,)
        )
    fanned_out(hooks)
    again = rows(hooks.database_url, "SELECT count(*) FROM webhook_deliveries")
    assert again == [(4,)]


def test_a_disabled_or_deleted_webhook_gets_no_new_deliveries(
    hooks: Container, receiver: Receiver
) -> None:
    owner = uuid4()
    hook = subscribe(hooks, receiver, owner)
    hooks.ledger[WebhookCommands].disable_webhook(hook, "testing")
    hooks.ledger[TaskCommands].create_task(CTX, owner, "while disabled")
    hooks.ledger[WebhookCommands].update_webhook(CTX, owner, hook, enabled=True)
    hooks.ledger[TaskCommands].create_task(CTX, owner, "after enabling")
    hooks.ledger[WebhookCommands].delete_webhook(CTX, owner, hook)
    hooks.ledger[TaskCommands].create_task(CTX, owner, "after deleting")
    fanned_out(hooks)
    found = rows(hooks.database_url, "SELECT envelope->'data'->>'name' FROM webhook_deliveries")
    assert found == [("after enabling",)]


def test_competing_claims_never_share_a_delivery_and_an_expired_lease_is_retaken(
    hooks: Container, receiver: Receiver
) -> None:
    owner = uuid4()
    subscribe(hooks, receiver, owner)
    for n in range(6):
        hooks.ledger[TaskCommands].create_task(CTX, owner, f"task {n}")
    fanned_out(hooks)
    first, second = DeliveryOutbox(hooks.pool), DeliveryOutbox(hooks.pool)
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    a = first.claim(now, lease, limit=4)
    b = second.claim(now, lease, limit=4)
    assert len(a) == 4 and len(b) == 2
    assert not {c.id for c in a} & {c.id for c in b}
    assert second.claim(now, lease) == []
    later = second.claim(now + lease + timedelta(seconds=1), lease, limit=10)
    assert {c.id for c in later} == {c.id for c in a + b}


def test_the_dispatcher_delivers_every_event_signed_with_a_stable_webhook_id(
    database_url: str, receiver: Receiver
) -> None:
    container = hooks_container(database_url)
    try:
        owner = uuid4()
        hook = subscribe(container, receiver, owner)
        tasks = [
            container.ledger[TaskCommands].create_task(CTX, owner, f"t{n}").aggregate
            for n in range(20)
        ]
        wait_for(lambda: len(receiver.received) >= 20)
    finally:
        container.close()
    expected = {f"msg_{delivery_id(hook, event_id(t.id, 1))}" for t in tasks}
    assert set(receiver.ids()) == expected
    assert not receiver.rejected
    assert {e["data"]["name"] for e in receiver.events()} == {f"t{n}" for n in range(20)}
    statuses = rows(database_url, "SELECT DISTINCT status FROM webhook_deliveries")
    assert statuses == [("succeeded",)]


def test_failures_are_retried_then_dead_and_every_attempt_is_recorded(
    hooks: Container, receiver: Receiver
) -> None:
    owner = uuid4()
    subscribe(hooks, receiver, owner)
    receiver.status = 500
    hooks.ledger[TaskCommands].create_task(CTX, owner, "fails")
    fanned_out(hooks)
    dispatcher = webhook_dispatcher(hooks)
    try:
        wait_for(lambda: (dispatcher.run_once(), _status(hooks))[1] == "dead", timeout=20)
    finally:
        dispatcher.stop()
    attempts = rows(hooks.database_url, "SELECT n, status_code FROM webhook_attempts ORDER BY n")
    assert attempts == [(1, 500), (2, 500), (3, 500)]
    assert len(receiver.received) == 3
    assert len(set(receiver.ids())) == 1


def _status(container: Container) -> str:
    found = rows(container.database_url, "SELECT status FROM webhook_deliveries")
    return str(found[0][0]) if found else ""


def test_a_410_disables_the_webhook_with_an_event(hooks: Container, receiver: Receiver) -> None:
    owner = uuid4()
    hook = subscribe(hooks, receiver, owner)
    receiver.status = 410
    hooks.ledger[TaskCommands].create_task(CTX, owner, "gone")
    fanned_out(hooks)
    dispatcher = webhook_dispatcher(hooks)
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.stop()
    webhook = hooks.ledger[WebhookCommands].get_webhook(owner, hook)
    assert not webhook.enabled
    assert "410" in (webhook.disabled_reason or "")
    # The failed delivery waits for the webhook to be enabled again rather than being dropped.
    assert _status(hooks) == "failed"


def test_an_endpoint_failing_for_longer_than_allowed_is_disabled(
    database_url: str, receiver: Receiver
) -> None:
    # Six attempts at least 0.2 s apart span at least 1 s: more than the 0.5 s allowed.
    hooks = hooks_container(
        database_url, webhook_dispatcher=False, webhook_retry_schedule=[0] + [0.2] * 5
    )
    owner = uuid4()
    hook = subscribe(hooks, receiver, owner)
    receiver.status = 503
    hooks.ledger[TaskCommands].create_task(CTX, owner, "t")
    fanned_out(hooks)
    dispatcher = webhook_dispatcher(hooks, disable_after=timedelta(seconds=0.5))
    try:
        wait_for(lambda: (dispatcher.run_once(), not _enabled(hooks, owner, hook))[1])
        reason = hooks.ledger[WebhookCommands].get_webhook(owner, hook).disabled_reason or ""
    finally:
        dispatcher.stop()
        hooks.close()
    assert "failing continuously" in reason


def _enabled(container: Container, owner: UUID, hook: UUID) -> bool:
    return bool(container.ledger[WebhookCommands].get_webhook(owner, hook).enabled)


def test_with_redis_down_every_event_is_still_delivered(
    database_url: str, own_redis: Any, receiver: Receiver
) -> None:
    container = hooks_container(database_url, redis_url=own_redis.url)
    try:
        owner = uuid4()
        subscribe(container, receiver, owner)
        own_redis.stop()
        for n in range(10):
            container.ledger[TaskCommands].create_task(CTX, owner, f"t{n}")
        wait_for(lambda: len(set(receiver.ids())) >= 10)
        own_redis.start()
    finally:
        container.close()
    assert {e["data"]["name"] for e in receiver.events()} == {f"t{n}" for n in range(10)}


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    database_url: str, tmp_path: Any, receiver: Receiver
) -> None:
    container = hooks_container(database_url, webhook_dispatcher=False)
    owner = uuid4()
    subscribe(container, receiver, owner)

    def slowly(_: Any) -> tuple[int, dict[str, str]]:
        time.sleep(0.05)
        return 204, {}

    receiver.answer = slowly
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "LEDGERFLOW_WEBHOOK_LEASE_SECONDS": "2",
        "LEDGERFLOW_WEBHOOK_TIMEOUT_SECONDS": "1",
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    worker = forked_worker(env)
    try:
        for n in range(100):
            container.ledger[TaskCommands].create_task(CTX, owner, f"t{n}")
        wait_for(lambda: len(receiver.received) >= 10)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        cut_at = len(set(receiver.ids()))
        receiver.answer = None
        container.start_dispatcher()
        wait_for(lambda: len(set(receiver.ids())) >= 100, timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
        container.close()
    assert cut_at < 100
    assert {e["data"]["name"] for e in receiver.events()} == {f"t{n}" for n in range(100)}


def test_a_receiver_down_for_a_day_gets_every_delivery_on_the_schedule(
    database_url: str,
) -> None:
    from freezegun import freeze_time

    schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    container = hooks_container(
        database_url,
        webhook_dispatcher=False,
        webhook_retry_schedule=schedule,
        webhook_retry_jitter=0.1,  # the 8th attempt then falls after the day, the 7th before
        webhook_breaker_failures=1000,  # the breaker has its own tests; here only the schedule
    )
    receiver = Receiver()  # not started: the endpoint is down
    try:
        owner = uuid4()
        subscribe(container, receiver, owner)
        for n in range(3):
            container.ledger[TaskCommands].create_task(CTX, owner, f"t{n}")
        fanned_out(container)
        dispatcher = webhook_dispatcher(container)
        start = datetime.now(UTC) + timedelta(seconds=1)
        with freeze_time(start, ignore=["psycopg", "psycopg_pool", "httpx", "httpcore"]) as frozen:
            while (due := _next_due(database_url)) is not None:
                if due >= start + timedelta(days=1) and receiver._server is None:
                    receiver.start()  # back after a day
                frozen.move_to(max(due, datetime.now(UTC)))
                dispatcher.run_once()
        dispatcher.stop()
    finally:
        receiver.stop()
        container.close()
    assert sorted(e["data"]["name"] for e in receiver.events()) == ["t0", "t1", "t2"]
    attempts = rows(
        database_url,
        "SELECT delivery_id, array_agg(at ORDER BY n), array_agg(status_code ORDER BY n)"
        " FROM webhook_attempts GROUP BY delivery_id",
    )
    assert len(attempts) == 3
    for _, times, codes in attempts:
        assert codes == [None] * 7 + [204]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        for gap, planned in zip(gaps, schedule[1:], strict=True):
            assert planned * 0.9 <= gap <= planned * 1.1 + 1
        assert times[-1] - times[0] >= timedelta(days=1) - timedelta(seconds=1)


def _next_due(database_url: str) -> datetime | None:
    found = rows(
        database_url,
        "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status IN ('pending', 'failed')",
    )
    return found[0][0] if found else None


def test_a_slow_endpoint_does_not_hold_up_another(database_url: str) -> None:
    container = hooks_container(database_url, webhook_endpoint_concurrency=2, webhook_workers=4)
    slow, fast = Receiver().start(), Receiver().start()

    def stall(_: Any) -> tuple[int, dict[str, str]]:
        time.sleep(1.0)
        return 204, {}

    slow.answer = stall
    try:
        slow_owner, fast_owner = uuid4(), uuid4()
        subscribe(container, slow, slow_owner)
        for n in range(8):
            container.ledger[TaskCommands].create_task(CTX, slow_owner, f"slow {n}")
        wait_for(lambda: len(slow.received) >= 2)  # the slow endpoint has taken its workers
        subscribe(container, fast, fast_owner)
        for n in range(8):
            container.ledger[TaskCommands].create_task(CTX, fast_owner, f"fast {n}")
        wait_for(lambda: len(fast.received) >= 8)
        slow_when_fast_done = len(slow.received)
        wait_for(lambda: len(slow.received) >= 8)
    finally:
        container.close()
        slow.stop()
        fast.stop()
    # Eight 1 s answers two at a time take four rounds; the fast endpoint finished within them.
    assert slow_when_fast_done < 8
