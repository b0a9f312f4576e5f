"""Where Idempotency-Keys and their first answers are kept: PostgreSQL, read from the event loop.

Every API process sees the same table (``ledgerflow_idempotency``). The store talks to it with
async psycopg on the request's own event loop: no thread-pool hop, and no thread that must win
the GIL back from the projections after each round trip (that, not PostgreSQL, was most of what
a key cost when the store was synchronous). Claiming a key is ONE autocommit statement; recording
the answer is one more, made after the client has it.

Both commit asynchronously (``synchronous_commit = off`` on the store's connections). That loses
nothing the guarantee needs: PostgreSQL writes its WAL in order, and the command's events commit
synchronously AFTER its claim, so once an effect is durable its claim is too. An answer lost
with the last unflushed WAL of a crashed server (or never written because the API process died
after the effect) leaves a claim without an answer, which ``abandoned`` settles.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

SWEEP_SECONDS = 3600
ABANDONED_SECONDS = 60  # no request runs this long: an unanswered claim this old is abandoned
_CREATE = """
CREATE TABLE IF NOT EXISTS ledgerflow_idempotency (
    principal text NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
ALTER TABLE ledgerflow_idempotency
    ADD COLUMN IF NOT EXISTS request_id text,
    ADD COLUMN IF NOT EXISTS log_position bigint"""
# One round trip: insert a fresh key (or take over an expired one) and say so, else read the row
# that holds it. The read sees the statement's snapshot: a row a concurrent claim committed
# after it began is invisible, and the statement returns nothing (the caller asks again).
_CLAIM = """
WITH mine AS (
    INSERT INTO ledgerflow_idempotency AS t
        (principal, key, fingerprint, request_id, log_position)
    VALUES (%(principal)s, %(key)s, %(fingerprint)s, %(request_id)s,
            (SELECT coalesce(max(notification_id), 0) FROM {events}))
    ON CONFLICT (principal, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, status = NULL, headers = NULL, body = NULL,
        request_id = EXCLUDED.request_id, log_position = EXCLUDED.log_position,
        created_at = now()
    WHERE t.created_at < now() - interval '24 hours'
    RETURNING true
)
SELECT true, NULL::bytea, NULL::integer, NULL::jsonb, NULL::bytea, NULL::text, NULL::bigint,
       NULL::timestamptz, false
FROM mine
UNION ALL
SELECT false, fingerprint, status, headers, body, request_id, log_position, created_at,
       status IS NULL AND created_at < now() - make_interval(secs => {abandoned})
FROM ledgerflow_idempotency
WHERE principal = %(principal)s AND key = %(key)s AND NOT EXISTS (SELECT FROM mine)"""
_FIND = """
SELECT false, fingerprint, status, headers, body, request_id, log_position, created_at,
       status IS NULL AND created_at < now() - make_interval(secs => {abandoned})
FROM ledgerflow_idempotency WHERE principal = %(principal)s AND key = %(key)s"""
_RECORD = (
    "UPDATE ledgerflow_idempotency SET status = %s, headers = %s, body = %s"
    " WHERE principal = %s AND key = %s AND status IS NULL"
)
_RELEASE = "DELETE FROM ledgerflow_idempotency WHERE principal = %s AND key = %s AND status IS NULL"
_SWEEP = "DELETE FROM ledgerflow_idempotency WHERE created_at < now() - interval '24 hours'"
# Did the abandoned request's command take effect? Its events carry its request id in their
# metadata and were recorded after the claim's position in the log.
_EFFECT = """
SELECT 1 FROM {events}
WHERE notification_id > %s AND position(%s::bytea IN state) > 0 LIMIT 1"""
# Only the request that finds the claim as it was takes it over (or settles it).
_TAKE_OVER = """
UPDATE ledgerflow_idempotency
SET request_id = %s, created_at = now(),
    log_position = (SELECT coalesce(max(notification_id), 0) FROM {events})
WHERE principal = %s AND key = %s AND status IS NULL AND created_at = %s"""
_SETTLE = """
UPDATE ledgerflow_idempotency SET status = %s, headers = %s, body = %s
WHERE principal = %s AND key = %s AND status IS NULL AND created_at = %s"""


@dataclass(frozen=True)
class Remembered:
    """What the store knows of a key: its request's fingerprint and, once done, the answer."""

    fingerprint: bytes
    status: int | None
    headers: list[list[str]] | None
    body: bytes | None
    request_id: str | None = None
    log_position: int | None = None
    created_at: datetime | None = None
    abandoned: bool = False  # no answer, and claimed longer ago than any request runs


def _remembered(row: tuple[Any, ...]) -> Remembered:
    _, fingerprint, status, headers, body, request_id, position, created_at, abandoned = row
    return Remembered(
        bytes(fingerprint),
        status,
        headers,
        None if body is None else bytes(body),
        request_id,
        position,
        created_at,
        bool(abandoned),
    )


class IdempotencyStore:
    """The keys and their first answers, in PostgreSQL (async, on the caller's event loop).

    The pool opens on first use, on the loop that uses it (and again if that loop changes)."""

    def __init__(self, conninfo: str, events_table: str, max_size: int = 10) -> None:
        self._conninfo = conninfo
        self._max_size = max_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: asyncio.Task[AsyncConnectionPool[Any]] | None = None
        self._swept = 0.0
        events = sql.Identifier(events_table)
        abandoned = sql.Literal(ABANDONED_SECONDS)
        self._claim = sql.SQL(_CLAIM).format(events=events, abandoned=abandoned)
        self._find = sql.SQL(_FIND).format(abandoned=abandoned)
        self._effect = sql.SQL(_EFFECT).format(events=events)
        self._take_over = sql.SQL(_TAKE_OVER).format(events=events)

    async def claim(
        self, principal: str, key: str, fingerprint: bytes, request_id: str | None
    ) -> Remembered | None:
        """None when this request now owns the key; else what the key already holds."""
        pool = await self._open()
        params = {
            "principal": principal,
            "key": key,
            "fingerprint": fingerprint,
            "request_id": request_id,
        }
        async with pool.connection() as conn:
            if time.monotonic() - self._swept > SWEEP_SECONDS:
                self._swept = time.monotonic()
                await conn.execute(_SWEEP)
            while True:
                row = await (await conn.execute(self._claim, params)).fetchone()
                if row is None:  # claimed by a request that committed after we began
                    row = await (await conn.execute(self._find, params)).fetchone()
                if row is not None:
                    return None if row[0] else _remembered(row)

    async def find(self, principal: str, key: str) -> Remembered | None:
        """What the key holds now (None: nothing)."""
        pool = await self._open()
        async with pool.connection() as conn:
            cursor = await conn.execute(self._find, {"principal": principal, "key": key})
            row = await cursor.fetchone()
        return None if row is None else _remembered(row)

    async def record(
        self, principal: str, key: str, status: int, headers: list[list[str]], body: bytes
    ) -> None:
        """Keep the answer of the request that owns the key."""
        pool = await self._open()
        async with pool.connection() as conn:
            await conn.execute(_RECORD, (status, json.dumps(headers), body, principal, key))

    async def release(self, principal: str, key: str) -> None:
        """Forget a claim whose request failed (5xx), so that a retry runs again."""
        pool = await self._open()
        async with pool.connection() as conn:
            await conn.execute(_RELEASE, (principal, key))

    async def took_effect(self, known: Remembered) -> bool:
        """Whether the abandoned request's command recorded events (its request id in their
        metadata, after the log position of its claim). Reads the log since the claim: rare
        (only after a crash) and bounded by what was written in the meantime."""
        if known.request_id is None or known.log_position is None:
            return True  # a claim from before positions were kept: assume the worst
        needle = b'"request_id":' + json.dumps(known.request_id).encode()
        pool = await self._open()
        async with pool.connection() as conn:
            cursor = await conn.execute(self._effect, (known.log_position, needle))
            return await cursor.fetchone() is not None

    async def take_over(
        self, principal: str, key: str, known: Remembered, request_id: str | None
    ) -> bool:
        """Own an abandoned claim (False: another request took or settled it first)."""
        pool = await self._open()
        async with pool.connection() as conn:
            params = (request_id, principal, key, known.created_at)
            return bool((await conn.execute(self._take_over, params)).rowcount == 1)

    async def settle(
        self,
        principal: str,
        key: str,
        known: Remembered,
        answer: tuple[int, list[list[str]], bytes],
    ) -> bool:
        """Give an abandoned claim this answer for good (False: another request did first)."""
        status, headers, body = answer
        pool = await self._open()
        async with pool.connection() as conn:
            params = (status, json.dumps(headers), body, principal, key, known.created_at)
            return bool((await conn.execute(_SETTLE, params)).rowcount == 1)

    def warm(self) -> None:
        """Start opening the pool (and creating the table) on the running loop, without
        waiting: the first keyed request then finds it open. A failure is tried again at the
        first use."""
        self._opening()

    async def _open(self) -> AsyncConnectionPool[Any]:
        return await self._opening()

    def _opening(self) -> asyncio.Task[AsyncConnectionPool[Any]]:
        loop = asyncio.get_running_loop()
        opening = self._pool
        failed = opening is not None and opening.done() and not _opened(opening)
        if opening is None or self._loop is not loop or failed:
            opening = loop.create_task(self._new_pool())
            opening.add_done_callback(_opened)  # its failure is retrieved: no warning at exit
            self._loop, self._pool = loop, opening
        return opening

    async def _new_pool(self) -> AsyncConnectionPool[Any]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self._conninfo,
            min_size=2,  # a claim and the record of the answer before it
            max_size=self._max_size,
            kwargs={"autocommit": True},
            configure=_asynchronous_commit,
            open=False,
        )
        await pool.open()
        try:
            async with pool.connection() as conn:
                await conn.execute(_CREATE)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            pass  # CREATE TABLE IF NOT EXISTS raced another process's
        return pool

    async def close(self) -> None:
        """Close the pool (it opens again on next use), also one still opening: a pool left
        open keeps psycopg_pool's scheduler task alive, and that task survives the loop's
        cancellation at shutdown (it retries its actions on ``CancelledError``), so the loop
        would never finish closing (a test client's shutdown hung on it)."""
        opening, self._pool, self._loop = self._pool, None, None
        if opening is None:
            return
        try:
            pool = await asyncio.wait_for(asyncio.shield(opening), timeout=OPEN_WAIT_SECONDS)
        except Exception:  # it failed to open (nothing to close), or is stuck opening
            opening.cancel()
            return
        await pool.close()


OPEN_WAIT_SECONDS = 10.0


def _opened(opening: asyncio.Task[AsyncConnectionPool[Any]]) -> bool:
    return not opening.cancelled() and opening.exception() is None


async def _asynchronous_commit(conn: psycopg.AsyncConnection[Any]) -> None:
    """Every statement of the store commits without waiting for the WAL flush (module doc)."""
    await conn.execute("SET synchronous_commit TO off")
