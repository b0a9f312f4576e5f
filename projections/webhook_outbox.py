"""The dispatcher's SQL over ``webhook_deliveries``: claim due rows with a lease, record attempts.

Every statement on the delivery tables lives in projections/ (the fan-out and the operator
actions in ``webhook_delivery.py``, the dispatcher's in this module): one layer owns them.

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

# The attempt, the delivery and the endpoint's health (when it started failing without a
# success since) together, in one round trip.
_RECORD = """
WITH attempt AS (
    INSERT INTO webhook_attempts VALUES (%(id)s, %(n)s, %(at)s, %(code)s, %(ms)s, %(error)s)
    ON CONFLICT DO NOTHING
), delivery AS (
    UPDATE webhook_deliveries SET status = %(status)s, attempts = attempts + 1,
        next_attempt_at = coalesce(%(next_at)s, next_attempt_at), lease_until = NULL,
        last_status_code = %(code)s, last_error = %(error)s, updated_at = %(at)s
    WHERE id = %(id)s
)
INSERT INTO webhook_health AS h VALUES (%(webhook)s,
    CASE WHEN %(ok)s THEN NULL ELSE %(at)s END, CASE WHEN %(ok)s THEN %(at)s END)
ON CONFLICT (webhook_id) DO UPDATE SET
    failing_since = CASE WHEN %(ok)s THEN NULL ELSE coalesce(h.failing_since, %(at)s) END,
    last_success_at = CASE WHEN %(ok)s THEN %(at)s ELSE h.last_success_at END
RETURNING failing_since
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
        """Store the attempt, the delivery's new state and the endpoint's health in ONE
        statement; return since when the endpoint has been failing (None after a success)."""
        status = "succeeded" if outcome.ok else "dead" if next_at is None else "failed"
        params = {
            "id": claimed.id,
            "n": claimed.attempts + 1,
            "at": at,
            "code": outcome.status_code,
            "ms": outcome.latency_ms,
            "error": outcome.error,
            "status": status,
            "next_at": next_at,
            "webhook": claimed.webhook_id,
            "ok": outcome.ok,
        }
        with self._pool.connection() as conn:
            row = conn.execute(_RECORD, params).fetchone()
        return None if outcome.ok else (row[0] if row else at)

    def forget_failures(self, webhook: UUID) -> None:
        """Start counting continuous failure afresh (after the webhook was disabled)."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE webhook_health SET failing_since = NULL WHERE webhook_id = %s", (webhook,)
            )
