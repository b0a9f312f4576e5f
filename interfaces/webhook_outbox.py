"""The dispatcher's SQL over ``webhook_deliveries``: claim due rows with a lease, record attempts.

Competing dispatchers (threads, processes, machines) claim with ``FOR UPDATE SKIP LOCKED`` and
set ``lease_until``; a dispatcher killed mid-send leaves its rows leased, and they are claimed
again once the lease has passed (at least once). Every time comes from the caller (one clock).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

_CLAIM = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.enabled
    WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= %(now)s
      AND (d.lease_until IS NULL OR d.lease_until <= %(now)s)
      AND NOT (d.webhook_id = ANY(%(exclude)s))
    ORDER BY d.next_attempt_at, d.position
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET lease_until = %(lease_until)s
FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.webhook_id, d.attempts, d.envelope, w.url, w.secret, w.previous_secret,
          w.previous_secret_expires_at
"""


@dataclass(frozen=True)
class Claimed:
    """A delivery this dispatcher holds until ``lease_until``, with what sending it needs."""

    id: UUID
    webhook_id: UUID
    attempts: int
    envelope: dict[str, Any]
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None

    def sealed_secrets(self, at: datetime) -> list[str]:
        """The current secret, and the previous one while its 24 h of grace last."""
        expires = self.previous_secret_expires_at
        keep = self.previous_secret and expires is not None and expires > at
        return [self.secret, *([self.previous_secret] if keep and self.previous_secret else [])]


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryOutbox:
    """Claims and records deliveries for the dispatcher."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def claim(
        self, at: datetime, lease: timedelta, exclude: Collection[UUID] = (), limit: int = 1
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries of enabled webhooks not in ``exclude``."""
        params = {"now": at, "exclude": list(exclude), "limit": limit, "lease_until": at + lease}
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(_CLAIM, params).fetchall()
        return [Claimed(**row) for row in rows]

    def release(self, delivery: UUID) -> None:
        """Give a claim back untried."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE webhook_deliveries SET lease_until = NULL WHERE id = %s", (delivery,)
            )

    def record(
        self, claimed: Claimed, outcome: Outcome, at: datetime, next_at: datetime | None
    ) -> datetime | None:
        """Store the attempt and the delivery's new state; return since when the endpoint has
        been failing without a success (None after a success)."""
        status = "succeeded" if outcome.ok else "dead" if next_at is None else "failed"
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO webhook_attempts VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (
                    claimed.id,
                    claimed.attempts + 1,
                    at,
                    outcome.status_code,
                    outcome.latency_ms,
                    outcome.error,
                ),
            )
            conn.execute(
                "UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1,"
                " next_attempt_at = coalesce(%s, next_attempt_at), lease_until = NULL,"
                " last_status_code = %s, last_error = %s, updated_at = %s WHERE id = %s",
                (status, next_at, outcome.status_code, outcome.error, at, claimed.id),
            )
            return self._health(conn, claimed.webhook_id, outcome.ok, at)

    @staticmethod
    def _health(conn: Any, webhook: UUID, ok: bool, at: datetime) -> datetime | None:
        if ok:
            conn.execute(
                "INSERT INTO webhook_health VALUES (%s, NULL, %s) ON CONFLICT (webhook_id)"
                " DO UPDATE SET failing_since = NULL, last_success_at = excluded.last_success_at",
                (webhook, at),
            )
            return None
        row = conn.execute(
            "INSERT INTO webhook_health VALUES (%s, %s, NULL) ON CONFLICT (webhook_id)"
            " DO UPDATE SET failing_since = coalesce(webhook_health.failing_since,"
            " excluded.failing_since) RETURNING failing_since",
            (webhook, at),
        ).fetchone()
        return row[0] if row else at

    def forget_failures(self, webhook: UUID) -> None:
        """Start counting continuous failure afresh (after the webhook was disabled)."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE webhook_health SET failing_since = NULL WHERE webhook_id = %s", (webhook,)
            )
