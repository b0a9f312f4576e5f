"""The live event bus over PostgreSQL LISTEN/NOTIFY: several API processes, no Redis.

The relay NOTIFYs each message once on one channel, all of a batch in one transaction (delivered
together, in order, when it commits); every listening process holds ONE ``LISTEN`` connection and
fans the messages out through its LiveHub. A NOTIFY payload is limited to 8000 bytes: a larger
message is stored in a small overflow table and the notification carries only its row id, which the
listener reads back (rows older than an hour are deleted by the publisher). Like Redis pub/sub this
is at most once (nothing is queued for a listener that is reconnecting), so ``listen()`` yields
``None`` after each (re)connection and the hub catches up from the store by position.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from interfaces.adapters.bus import BusUnavailable

log = logging.getLogger(__name__)
CHANNEL = "ledgerflow_live"  # not "ledgerflow_events": the event store NOTIFYs on that one
CREATE_OVERFLOW = (
    "CREATE TABLE IF NOT EXISTS ledgerflow_bus_overflow (id bigserial PRIMARY KEY,"
    " message text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
INSERT_OVERFLOW = "INSERT INTO ledgerflow_bus_overflow (message) VALUES (%s) RETURNING id"
SELECT_OVERFLOW = "SELECT message FROM ledgerflow_bus_overflow WHERE id = %s"
PRUNE_OVERFLOW = "DELETE FROM ledgerflow_bus_overflow WHERE created_at < now() - interval '1 hour'"
OVERFLOW_PREFIX = "@overflow:"
NOTIFY_LIMIT = 7900  # bytes; PostgreSQL refuses payloads of 8000 bytes or more
PRUNE_EVERY = 60.0  # seconds between deletions of old overflow rows
PUBLISHER = "ledgerflow-bus-publisher"  # application_name, seen in pg_stat_activity
LISTENER = "ledgerflow-bus-listener"


class PostgresBus:
    """NOTIFY to publish, one LISTEN connection per listening process."""

    def __init__(self, conninfo: str, channel: str = CHANNEL) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pruned = 0.0

    def publish_many(self, messages: list[str]) -> None:
        """NOTIFY ``messages`` in order in one transaction; BusUnavailable when PostgreSQL fails."""
        with self._lock:
            try:
                self._publish(self._connection(), messages)
            except psycopg.Error as error:
                self._discard()
                raise BusUnavailable(f"PostgreSQL NOTIFY failed: {error}") from None

    def _publish(self, conn: psycopg.Connection[Any], messages: list[str]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            payloads = []
            for message in messages:
                payload = message
                if len(message.encode()) > NOTIFY_LIMIT:
                    row = cur.execute(INSERT_OVERFLOW, (message,)).fetchone()
                    assert row is not None
                    payload = f"{OVERFLOW_PREFIX}{row[0]}"
                payloads.append((self._channel, payload))
            cur.executemany("SELECT pg_notify(%s, %s)", payloads)
            if time.monotonic() - self._pruned > PRUNE_EVERY:
                cur.execute(PRUNE_OVERFLOW)
                self._pruned = time.monotonic()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._conninfo, autocommit=True, application_name=PUBLISHER
            )
            self._conn.execute(CREATE_OVERFLOW)
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def listen(self) -> AsyncIterator[str | None]:
        """Messages from the channel; ``None`` after each (re)connection."""
        backoff = 0.1
        while True:
            try:
                async with await self._connect() as conn, await self._connect() as reader:
                    await conn.execute(f"LISTEN {self._channel}")
                    yield None
                    backoff = 0.1
                    async for notify in conn.notifies():
                        yield await self._message(reader, notify.payload)
            except psycopg.Error as error:
                log.warning("event bus: %s; reconnecting", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=LISTENER
        )

    @staticmethod
    async def _message(reader: psycopg.AsyncConnection[Any], payload: str) -> str | None:
        """The message a notification carries (read back from the overflow table if too big)."""
        if not payload.startswith(OVERFLOW_PREFIX):
            return payload
        cursor = await reader.execute(
            SELECT_OVERFLOW, (int(payload.removeprefix(OVERFLOW_PREFIX)),)
        )
        row = await cursor.fetchone()
        if row is None:  # pruned before it was read: report a gap, the hub catches up
            return None
        return str(row[0])

    def close(self) -> None:
        """Release the publishing connection."""
        with self._lock:
            self._discard()
