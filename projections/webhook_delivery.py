"""Webhook fan-out: one durable delivery record per event and matching webhook.

A projection run by the projection group, so its rows and its tracking position commit in ONE
transaction: every event is fanned out exactly once, across crashes and restarts. For each event
the owner may read (the event feed's rule, ``readers.Owners``), it inserts one row per enabled
webhook of that owner whose patterns match, with id ``uuid5(webhook_id, event_id)``. The
webhooks it knows come from the webhook events themselves (``webhook_targets``), so the fan-out
of an event depends only on the log before it, never on another read model's progress.

The dispatcher (``interfaces/adapters/webhook_dispatcher.py``) then works the rows: ``pending``
(never tried, or queued again), ``failed`` (the last attempt failed, another is scheduled),
``succeeded``, ``dead`` (no attempt left, or its webhook was deleted). Every attempt is a row of
``webhook_attempts``. Unlike a pure read model these rows also carry delivery state, so they are
never rebuilt (a rebuild would send everything again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.ids import new_id
from projections.envelope import envelope, event_type
from projections.event_alias import EventMatcher
from projections.readers import Owners, ReaderRules

WEBHOOK_DELIVERIES = "webhook_deliveries"
STATUSES = ("pending", "failed", "succeeded", "dead")
WAKE_CHANNEL = "ledgerflow_webhooks"  # NOTIFYed when deliveries become due outside the fan-out
TEST_EVENT = "webhook.test"

TABLES = (
    "CREATE TABLE IF NOT EXISTS webhook_targets (webhook_id uuid PRIMARY KEY,"
    " owner_id uuid NOT NULL, events text[] NOT NULL, enabled boolean NOT NULL)",
    "CREATE INDEX IF NOT EXISTS webhook_targets_owner ON webhook_targets (owner_id)",
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (id uuid PRIMARY KEY,"
    " webhook_id uuid NOT NULL, event_id uuid NOT NULL, position bigint, event_type text NOT NULL,"
    " envelope jsonb NOT NULL, status text NOT NULL DEFAULT 'pending', attempts int NOT NULL"
    " DEFAULT 0, next_attempt_at timestamptz NOT NULL, lease_until timestamptz,"
    " last_status_code int, last_error text, created_at timestamptz NOT NULL,"
    " updated_at timestamptz NOT NULL)",
    # The dispatcher's claim: due rows in time order.
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries"
    " (next_attempt_at) WHERE status IN ('pending', 'failed')",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook ON webhook_deliveries"
    " (webhook_id, created_at DESC)",
    "CREATE TABLE IF NOT EXISTS webhook_attempts (delivery_id uuid NOT NULL REFERENCES"
    " webhook_deliveries (id) ON DELETE CASCADE, n int NOT NULL, at timestamptz NOT NULL,"
    " status_code int, latency_ms double precision NOT NULL, error text,"
    " PRIMARY KEY (delivery_id, n))",
    # When each endpoint started failing without a success since (automatic disabling).
    "CREATE TABLE IF NOT EXISTS webhook_health (webhook_id uuid PRIMARY KEY,"
    " failing_since timestamptz, last_success_at timestamptz)",
)


def delivery_id(webhook_id: UUID, event_id: UUID) -> UUID:
    """``uuid5(webhook_id, event_id)``: the same event to the same webhook is one delivery."""
    return uuid5(webhook_id, str(event_id))


# One statement per event, no round trip (the group applies events in a pipeline): the
# candidates (enabled webhooks whose patterns match the type, ids computed here) are kept when
# their owner is the event's reader, named by the event or found in the owners table.
_FAN_OUT = """
INSERT INTO webhook_deliveries (id, webhook_id, event_id, position, event_type, envelope,
                                next_attempt_at, created_at, updated_at)
SELECT c.id, c.webhook_id, %(event)s, %(position)s, %(type)s, %(envelope)s, %(at)s, %(at)s, %(at)s
FROM unnest(%(ids)s::uuid[], %(webhooks)s::uuid[], %(owners)s::uuid[]) AS c(id, webhook_id, owner)
WHERE c.owner = coalesce(%(named)s::uuid,
    (SELECT owner_id FROM webhook_deliveries_owners WHERE aggregate_id = %(aggregate)s))
ON CONFLICT (id) DO NOTHING
"""


@dataclass(frozen=True)
class Target:
    """An enabled webhook as the fan-out knows it."""

    webhook_id: UUID
    owner_id: UUID
    matcher: EventMatcher


class WebhookDeliveryProjection:
    """Fans every readable event out into ``webhook_deliveries``."""

    topics: tuple[str, ...] = ()  # every event may be delivered
    name = WEBHOOK_DELIVERIES

    def __init__(self, rules: ReaderRules) -> None:
        self.owners = Owners(f"{WEBHOOK_DELIVERIES}_owners", rules)
        # The enabled webhooks, read from ``webhook_targets`` (only this projection writes it)
        # when the runner takes the projection and whenever a batch is applied again after a
        # failure (a position not above the last one seen), so it never holds rolled-back state.
        self._targets: list[Target] | None = None
        self._last = 0

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """The targets, deliveries, attempts and health tables and the owners table."""
        for statement in TABLES:
            cur.execute(statement)
        self.owners.create_table(cur)
        self._targets = None

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Follow webhook changes, then insert a delivery per matching webhook of the reader."""
        if self._targets is None or position <= self._last:
            self._targets = _load_targets(cur)
        self._last = position
        kind = event_type(domain_event)
        if kind.startswith("webhook."):
            _follow_webhook(cur, kind, domain_event)
            self._targets = None  # read again, with this change, at the next event
        named = self.owners.rules.named_by(domain_event)
        if named is not None:
            cur.execute(
                "INSERT INTO webhook_deliveries_owners VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (domain_event.originator_id, named),
            )
        targets = self._targets if self._targets is not None else _load_targets(cur)
        data = vars(domain_event)
        candidates = [
            t
            for t in targets
            if t.matcher.matches(kind, data) and (named is None or t.owner_id == named)
        ]
        if candidates:
            self._fan_out(cur, domain_event, position, kind, named, candidates)

    @staticmethod
    def _fan_out(
        cur: psycopg.Cursor[Any],
        domain_event: Any,
        position: int,
        kind: str,
        named: UUID | None,
        candidates: list[Target],
    ) -> None:
        out = envelope(domain_event, position)
        event = UUID(out["event_id"])
        cur.execute(
            _FAN_OUT,
            {
                "event": event,
                "position": position,
                "type": kind,
                "envelope": Jsonb(out),
                "at": domain_event.timestamp,
                "ids": [delivery_id(t.webhook_id, event) for t in candidates],
                "webhooks": [t.webhook_id for t in candidates],
                "owners": [t.owner_id for t in candidates],
                "named": named,
                "aggregate": domain_event.originator_id,
            },
        )


def _load_targets(cur: psycopg.Cursor[Any]) -> list[Target]:
    rows = cur.execute(
        "SELECT webhook_id, owner_id, events FROM webhook_targets WHERE enabled"
    ).fetchall()
    return [Target(w, o, EventMatcher(patterns)) for w, o, patterns in rows]


def _follow_webhook(cur: psycopg.Cursor[Any], kind: str, e: Any) -> None:
    """Keep ``webhook_targets`` as the log says at this position."""
    webhook = e.originator_id
    if kind == "webhook.created":
        cur.execute(
            "INSERT INTO webhook_targets VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (webhook, e.owner_id, list(e.events), getattr(e, "enabled", True)),
        )
    elif kind == "webhook.updated":
        changes = dict(getattr(e, "changes", {}) or {})
        if "events" in changes:
            cur.execute(
                "UPDATE webhook_targets SET events = %s WHERE webhook_id = %s",
                (list(changes["events"]), webhook),
            )
        if "enabled" in changes:
            _set_enabled(cur, webhook, bool(changes["enabled"]))
    elif kind in ("webhook.enabled", "webhook.disabled"):
        _set_enabled(cur, webhook, kind == "webhook.enabled")
    elif kind == "webhook.deleted":
        cur.execute("DELETE FROM webhook_targets WHERE webhook_id = %s", (webhook,))
        cur.execute(
            "UPDATE webhook_deliveries SET status = 'dead', last_error = 'webhook deleted',"
            " lease_until = NULL, updated_at = %s"
            " WHERE webhook_id = %s AND status IN ('pending', 'failed')",
            (e.timestamp, webhook),
        )


def _set_enabled(cur: psycopg.Cursor[Any], webhook: UUID, enabled: bool) -> None:
    cur.execute("UPDATE webhook_targets SET enabled = %s WHERE webhook_id = %s", (enabled, webhook))


LISTED = (
    "id AS delivery_id, webhook_id, event_id, event_type, position, status, attempts,"
    " next_attempt_at, last_status_code, last_error, created_at, updated_at"
)


class WebhookDeliveries:
    """Queries and operator actions on the delivery records (the routes' side)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self.name = WEBHOOK_DELIVERIES  # the read model a query waits for

    def owner_of(self, webhook: UUID) -> UUID | None:
        """The owner of a webhook the fan-out knows (None if unknown or deleted)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT owner_id FROM webhook_targets WHERE webhook_id = %s", (webhook,)
            ).fetchone()
        return row[0] if row else None

    def list(
        self, webhook: UUID, status: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the webhook's deliveries, newest first, each with its attempts."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                f"SELECT {LISTED}, count(*) OVER () AS total FROM webhook_deliveries"  # noqa: S608
                " WHERE webhook_id = %s AND (%s::text IS NULL OR status = %s)"
                " ORDER BY created_at DESC, position DESC NULLS FIRST LIMIT %s OFFSET %s",
                (webhook, status, status, limit, offset),
            ).fetchall()
            total = int(rows[0].pop("total")) if rows else 0
            for row in rows[1:]:
                row.pop("total")
            attempts = cur.execute(
                "SELECT delivery_id, n, at, status_code, latency_ms, error FROM webhook_attempts"
                " WHERE delivery_id = ANY(%s) ORDER BY delivery_id, n",
                ([r["delivery_id"] for r in rows],),
            ).fetchall()
        for row in rows:
            row["attempt_log"] = [a for a in attempts if a["delivery_id"] == row["delivery_id"]]
        return rows, total

    def retry(self, webhook: UUID, delivery: UUID, at: datetime) -> bool:
        """Queue one delivery again, now, whatever its state; False if it is not the webhook's."""
        return self._requeue("id = %s", (delivery,), webhook, at) == 1

    def recover(self, webhook: UUID, since: datetime | None, at: datetime) -> int:
        """Queue again every failed or dead delivery created since ``since`` (None: all)."""
        return self._requeue(
            "status IN ('failed', 'dead') AND (%s::timestamptz IS NULL OR created_at >= %s)",
            (since, since),
            webhook,
            at,
        )

    def _requeue(self, where: str, params: tuple[Any, ...], webhook: UUID, at: datetime) -> int:
        with self._pool.connection() as conn, conn.transaction():
            cur = conn.execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = %s,"  # noqa: S608
                f" lease_until = NULL, updated_at = %s WHERE webhook_id = %s AND {where}",
                (at, at, webhook, *params),
            )
            conn.execute("SELECT pg_notify(%s, '')", (WAKE_CHANNEL,))
            return int(cur.rowcount)

    def send_test(self, webhook: UUID, actor: str, at: datetime) -> UUID:
        """Queue a ``webhook.test`` delivery (not an event of the log); its id."""
        delivery, event = new_id(), new_id()
        body = {
            "event_id": str(event),
            "type": TEST_EVENT,
            "position": None,
            "aggregate_id": str(webhook),
            "aggregate_type": "webhook",
            "version": None,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "actor": actor,
            "correlation_id": None,
            "data": {"webhook_id": str(webhook), "message": "a test delivery from Ledgerflow"},
        }
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, envelope,"
                " next_attempt_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (delivery, webhook, event, TEST_EVENT, Jsonb(body), at, at, at),
            )
            conn.execute("SELECT pg_notify(%s, '')", (WAKE_CHANNEL,))
        return delivery
