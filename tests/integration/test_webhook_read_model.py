"""The webhooks read model on real PostgreSQL: what the owner and the delivery side read."""

from datetime import timedelta
from uuid import uuid4

import psycopg
import pytest

from application.context import CommandContext
from application.webhooks import WebhookCommands, open_secret
from interfaces.adapters.webhook_guard import UnsafeWebhookURL
from interfaces.bootstrap import conninfo
from projections.rebuild import Rebuild
from projections.webhook import WebhookQueries

URL = "http://127.0.0.1:9/hook"


def settled(container):
    container.watch.wait_for(
        "webhooks", container.ledger.recorder.max_notification_id(), timeout=10
    )


def row(database_url, webhook_id):
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as c:
        return c.execute("SELECT * FROM webhooks WHERE id = %s", (webhook_id,)).fetchone()


def test_a_created_webhook_has_its_row_with_the_sealed_secret(container, database_url):
    owner = uuid4()
    ctx = CommandContext.for_user(owner)
    written, secret = container.ledger[WebhookCommands].create_webhook(
        ctx, owner, URL, ["task.*", "user.*"], "ci hook"
    )
    settled(container)
    stored = row(database_url, written.aggregate.id)
    assert stored["owner_id"] == owner and stored["url"] == URL
    assert stored["events"] == ["task.*", "user.*"] and stored["description"] == "ci hook"
    assert stored["enabled"] is True and stored["disabled_reason"] is None
    assert stored["version"] == 1 and stored["previous_secret"] is None
    assert stored["secret"] != secret
    assert open_secret(stored["secret"], container.ledger.credentials) == secret


def test_a_webhook_created_disabled_reads_as_the_command_answered(container):
    owner = uuid4()
    written, _ = container.ledger[WebhookCommands].create_webhook(
        CommandContext.for_user(owner), owner, URL, ["*"], enabled=False
    )
    settled(container)
    hook = written.aggregate
    stored = container.query(WebhookQueries).get(owner, hook.id)
    assert stored is not None and stored["enabled"] is False is hook.enabled
    assert stored["disabled_reason"] is None is hook.disabled_reason


def test_the_owner_queries_list_and_get_without_any_secret(container):
    owner, other = uuid4(), uuid4()
    ctx = CommandContext.for_user(owner)
    ids = [
        container.ledger[WebhookCommands].create_webhook(ctx, owner, URL, ["*"])[0].aggregate.id
        for _ in "abc"
    ]
    container.ledger[WebhookCommands].create_webhook(
        CommandContext.for_user(other), other, URL, ["*"]
    )
    settled(container)
    page = container.query(WebhookQueries).list(owner, limit=2)
    assert page.total == 3 and [r["id"] for r in page.webhooks] == ids[::-1][:2]
    assert container.query(WebhookQueries).list(owner, limit=2, offset=5).total == 3
    one = container.query(WebhookQueries).get(owner, ids[0])
    assert one is not None and not any("secret" in column for column in one)
    assert container.query(WebhookQueries).get(other, ids[0]) is None


def test_rotation_disable_enable_and_delete_reach_the_row(container, database_url):
    owner = uuid4()
    ctx = CommandContext.for_user(owner)
    ledger = container.ledger
    hook_id = ledger[WebhookCommands].create_webhook(ctx, owner, URL, ["task.*"])[0].aggregate.id
    settled(container)
    first_sealed = row(database_url, hook_id)["secret"]
    rotated, new_secret = ledger[WebhookCommands].rotate_webhook_secret(ctx, owner, hook_id)
    ledger[WebhookCommands].disable_webhook(hook_id, "failing since 2026-11-29T10:00:00Z")
    settled(container)
    stored = row(database_url, hook_id)
    assert stored["previous_secret"] == first_sealed
    assert open_secret(stored["secret"], ledger.credentials) == new_secret
    grace = stored["previous_secret_expires_at"] - rotated.aggregate.modified_on
    assert timedelta(hours=23, minutes=59) < grace <= timedelta(hours=24)
    assert stored["enabled"] is False
    assert stored["disabled_reason"] == "failing since 2026-11-29T10:00:00Z"
    ledger[WebhookCommands].update_webhook(
        ctx, owner, hook_id, enabled=True, events=["task.completed"]
    )
    settled(container)
    stored = row(database_url, hook_id)
    assert stored["enabled"] is True and stored["disabled_reason"] is None
    assert stored["events"] == ["task.completed"] and stored["version"] == 5
    ledger[WebhookCommands].delete_webhook(ctx, owner, hook_id)
    settled(container)
    assert row(database_url, hook_id) is None


def test_an_unsafe_url_is_refused_by_the_built_ledger(container):
    owner = uuid4()
    with pytest.raises(UnsafeWebhookURL):
        container.ledger[WebhookCommands].create_webhook(
            CommandContext.for_user(owner), owner, "http://192.168.1.1/", ["*"]
        )
    assert container.ledger.recorder.max_notification_id() in (None, 0)


def test_a_rebuild_of_the_webhooks_read_model_is_identical_to_the_live_one(container):
    owner = uuid4()
    ctx = CommandContext.for_user(owner)
    ledger = container.ledger
    ids = [
        ledger[WebhookCommands].create_webhook(ctx, owner, URL, ["*"])[0].aggregate.id
        for _ in range(4)
    ]
    ledger[WebhookCommands].rotate_webhook_secret(ctx, owner, ids[0])
    ledger[WebhookCommands].disable_webhook(ids[1], "410")
    ledger[WebhookCommands].update_webhook(ctx, owner, ids[2], enabled=False, description="paused")
    ledger[WebhookCommands].delete_webhook(ctx, owner, ids[3])
    settled(container)
    live = next(r for r in container.runners if r.projection.name == "webhooks")
    rebuild = Rebuild(
        conninfo(container.database_url),
        live.projection,
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,
    )
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        rebuild.build(conn)
        swapped = rebuild.swap(conn)
    assert swapped.identical and swapped.new_rows == 3
