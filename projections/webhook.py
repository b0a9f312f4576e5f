"""The webhooks read model: one row per webhook not deleted, and the owner's queries on it.

The delivery side reads the same table: ``url``, ``events`` (patterns like ``task.*``),
``enabled``, and the sealed ``secret`` / ``previous_secret`` (the latter signs too while
``previous_secret_expires_at > now()``). The owner's queries never select a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.webhook import Webhook
from projections.table import TableProjection, page_of, update_row

COLUMNS = (
    "id",
    "owner_id",
    "url",
    "events",
    "description",
    "enabled",
    "disabled_reason",
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
    "version",
    "position",
    "format",
)
PUBLIC = (
    "id, owner_id, url, events, description, format, enabled, disabled_reason, created_at,"
    " updated_at, version"
)
UPDATABLE = frozenset({"url", "events", "description", "format"})
Handler = Callable[[psycopg.Cursor[Any], Any, int], None]


class WebhookProjection(TableProjection):
    """Projects webhook events into ``<table>`` (``webhooks`` unless rebuilding)."""

    topics: tuple[str, ...] = tuple(
        cls.TOPIC
        for cls in (
            Webhook.Created,
            Webhook.Updated,
            Webhook.SecretRotated,
            Webhook.Enabled,
            Webhook.Disabled,
            Webhook.Deleted,
        )
    )

    def __init__(self, table: str = "webhooks", name: str | None = None) -> None:
        super().__init__(table, name)
        self._handlers: dict[type, Handler] = {
            Webhook.Created: self._created,
            Webhook.Updated: self._updated,
            Webhook.SecretRotated: self._rotated,
            Webhook.Enabled: self._enabled,
            Webhook.Disabled: self._disabled,
            Webhook.Deleted: self._deleted,
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the webhooks table and its owner index."""
        self._create(
            cur,
            "id uuid PRIMARY KEY, owner_id uuid NOT NULL, url text NOT NULL,"
            " events text[] NOT NULL, description text NOT NULL, enabled boolean NOT NULL,"
            " disabled_reason text, secret text NOT NULL, previous_secret text,"
            " previous_secret_expires_at timestamptz, created_at timestamptz NOT NULL,"
            " updated_at timestamptz NOT NULL, version integer NOT NULL, position bigint NOT NULL",
            "owner_id, created_at DESC, id",
        )
        # Added with webhook.created v3; tables made before it gain the column.
        cur.execute(
            sql.SQL(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS format text NOT NULL DEFAULT 'envelope'"
            ).format(self._t)
        )

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """One by one: webhook events are rare, and a rotation reads the row's current secret."""
        for position, domain_event in events:
            self.apply(cur, domain_event, position)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one webhook event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def _created(self, cur: psycopg.Cursor[Any], e: Webhook.Created, position: int) -> None:
        values = (
            e.originator_id,
            e.owner_id,
            e.url,
            list(e.events),
            e.description,
            e.enabled,
            None,
            e.secret,
            None,
            None,
            e.timestamp,
            e.timestamp,
            e.originator_version,
            position,
            e.format,
        )
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING").format(
                self._t,
                sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
                sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)),
            ),
            values,
        )

    def _updated(self, cur: psycopg.Cursor[Any], e: Webhook.Updated, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        self._set(cur, e, position, changes)

    def _rotated(self, cur: psycopg.Cursor[Any], e: Webhook.SecretRotated, position: int) -> None:
        # previous_secret takes the value secret had: read from the row in the same statement.
        cur.execute(
            sql.SQL(
                "UPDATE {} SET previous_secret = secret, secret = %s,"
                " previous_secret_expires_at = %s WHERE id = %s"
            ).format(self._t),
            (e.secret, e.previous_valid_until, e.originator_id),
        )
        self._set(cur, e, position, {})

    def _enabled(self, cur: psycopg.Cursor[Any], e: Webhook.Enabled, position: int) -> None:
        self._set(cur, e, position, {"enabled": True, "disabled_reason": None})

    def _disabled(self, cur: psycopg.Cursor[Any], e: Webhook.Disabled, position: int) -> None:
        self._set(cur, e, position, {"enabled": False, "disabled_reason": e.reason})

    def _deleted(self, cur: psycopg.Cursor[Any], e: Webhook.Deleted, position: int) -> None:
        cur.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(self._t), (e.originator_id,))

    def _set(self, cur: psycopg.Cursor[Any], e: Any, position: int, values: dict[str, Any]) -> None:
        update_row(cur, self._t, "id", e, position, values)


@dataclass(frozen=True)
class WebhookPage:
    """One page of an owner's webhooks and how many there are in all."""

    webhooks: list[dict[str, Any]]
    total: int


class WebhookQueries:
    """The owner's queries on the webhooks table (never a secret)."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "webhooks") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def list(self, owner_id: UUID, limit: int = 50, offset: int = 0) -> WebhookPage:
        """The owner's webhooks, newest first."""
        query = sql.SQL(
            "SELECT " + PUBLIC + ", count(*) OVER () AS total FROM {} WHERE owner_id = %s"  # noqa: S608
            " ORDER BY created_at DESC, id LIMIT %s OFFSET %s"
        ).format(self._t)
        count = sql.SQL("SELECT count(*) FROM {} WHERE owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, [owner_id], limit, offset)
        return WebhookPage(rows, total)

    def get(self, owner_id: UUID, webhook_id: UUID) -> dict[str, Any] | None:
        """One of the owner's webhooks, or None."""
        query = sql.SQL(
            "SELECT " + PUBLIC + " FROM {} WHERE id = %s AND owner_id = %s"  # noqa: S608
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (webhook_id, owner_id)).fetchone()
        return row
