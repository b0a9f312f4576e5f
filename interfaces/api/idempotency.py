"""``Idempotency-Key`` on POST commands: a retried command answers as the first one did.

The same key and the same request (method, path, query and body) from the same principal within
24 hours get the first answer again (status, headers, body, plus ``Idempotent-Replayed: true``)
and the command does not run a second time. The same key with another request is refused (422
``IDEMPOTENCY_KEY_REUSED``); a key whose first request is still running answers 409
``IDEMPOTENCY_KEY_IN_USE`` (retry shortly). Keys belong to a principal (a user, or an API key), so
two callers never see each other's answers. Requests without a principal (sign-in, register)
are not remembered.

The answers are kept in PostgreSQL (``ledgerflow_idempotency``), so every API process sees them.
Claiming a key is one statement (an insert, or taking over an expired row); recording the
answer is a second. A 5xx answer is not kept: the client may retry it. A claim left by a crashed
process is taken over after a minute.

Both commit asynchronously (``synchronous_commit = off`` for their transaction, as the webhook
deliveries do): waiting for two WAL flushes would add 2-4 ms to every keyed command, against the
issue's budget of 1 ms. The cost: if the PostgreSQL server itself crashes (not an API process),
the keys of its last fraction of a second may be lost, and a retry of one of those commands runs
again. The events themselves are committed synchronously as always.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.error import InvalidToken
from interfaces.api.asgi_body import read_body, replay
from interfaces.api.cookie import COOKIE
from interfaces.api.errors import error_response

HEADER = b"idempotency-key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as Stripe and the IETF draft
SWEEP_SECONDS = 3600
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
)"""
# Fresh key: inserted. Expired answer, or a claim abandoned by a crash: taken over. Else nothing.
_CLAIM = """
INSERT INTO ledgerflow_idempotency AS t (principal, key, fingerprint) VALUES (%s, %s, %s)
ON CONFLICT (principal, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = NULL, headers = NULL, body = NULL,
    created_at = now()
WHERE t.created_at < now() - interval '24 hours'
   OR (t.status IS NULL AND t.created_at < now() - interval '60 seconds')
RETURNING true"""
_FIND = (
    "SELECT fingerprint, status, headers, body FROM ledgerflow_idempotency"
    " WHERE principal = %s AND key = %s"
)
_RECORD = (
    "UPDATE ledgerflow_idempotency SET status = %s, headers = %s, body = %s"
    " WHERE principal = %s AND key = %s"
)
_RELEASE = "DELETE FROM ledgerflow_idempotency WHERE principal = %s AND key = %s AND status IS NULL"
_SWEEP = "DELETE FROM ledgerflow_idempotency WHERE created_at < now() - interval '24 hours'"
_ASYNC = "SET LOCAL synchronous_commit TO off"  # this transaction only (see the module's doc)


@dataclass(frozen=True)
class Remembered:
    """What the store knows of a key: its request's fingerprint and, once done, the answer."""

    fingerprint: bytes
    status: int | None
    headers: list[list[str]] | None
    body: bytes | None


class IdempotencyStore:
    """The keys and their first answers, in PostgreSQL."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self._ready = False
        self._swept = 0.0

    def claim(self, principal: str, key: str, fingerprint: bytes) -> Remembered | None:
        """None when this request now owns the key; else what the key already holds."""
        if not self._ready:
            self._create_table()
        with self._pool.connection() as conn:
            conn.execute(_ASYNC)
            if time.monotonic() - self._swept > SWEEP_SECONDS:
                self._swept = time.monotonic()
                conn.execute(_SWEEP)
            if conn.execute(_CLAIM, (principal, key, fingerprint)).fetchone():
                return None
            row = conn.execute(_FIND, (principal, key)).fetchone()
        if row is None:  # expired and swept in between: take it
            return self.claim(principal, key, fingerprint)
        return Remembered(bytes(row[0]), row[1], row[2], None if row[3] is None else bytes(row[3]))

    def _create_table(self) -> None:
        """Create the table once per process; another process creating it meanwhile is fine."""
        try:
            with self._pool.connection() as conn:
                conn.execute(_CREATE)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            pass  # CREATE TABLE IF NOT EXISTS raced another process's
        self._ready = True

    def record(
        self, principal: str, key: str, status: int, headers: list[list[str]], body: bytes
    ) -> None:
        """Keep the answer of the request that owns the key."""
        with self._pool.connection() as conn:
            conn.execute(_ASYNC)
            conn.execute(_RECORD, (status, json.dumps(headers), body, principal, key))

    def release(self, principal: str, key: str) -> None:
        """Forget a claim whose request failed (5xx), so that a retry runs again."""
        with self._pool.connection() as conn:
            conn.execute(_ASYNC)
            conn.execute(_RELEASE, (principal, key))


class Idempotency:
    """ASGI middleware applying ``Idempotency-Key`` to POST requests that carry one."""

    def __init__(
        self, app: ASGIApp, store: IdempotencyStore, identify: Callable[[str], str]
    ) -> None:
        self.app = app
        self.store = store
        self.identify = identify  # a token -> "user:<id>" / "key:<id>"; InvalidToken if bad

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        principal = self._principal(headers) if raw_key is not None else None
        if raw_key is None or principal is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not KEY_PATTERN.fullmatch(key):
            detail = "Idempotency-Key must be 1 to 255 printable ASCII characters"
            await error_response(400, "INVALID_IDEMPOTENCY_KEY", detail)(scope, receive, send)
            return
        body = await read_body(receive)
        fingerprint = request_fingerprint(scope, body)
        known = await run_in_threadpool(self.store.claim, principal, key, fingerprint)
        if known is None:
            await self._first(scope, replay(body, receive), send, principal, key)
        else:
            await _answer_again(known, fingerprint)(scope, receive, send)

    def _principal(self, headers: dict[bytes, bytes]) -> str | None:
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        token = authorization or _cookie(headers.get(b"cookie", b"").decode("latin-1"))
        if not token:
            return None
        try:
            return self.identify(token)
        except InvalidToken:
            return None

    async def _first(
        self, scope: Scope, receive: Receive, send: Send, principal: str, key: str
    ) -> None:
        """Run the request; keep its answer before the client sees it, so that a retry sent the
        moment the answer arrives finds it (and not a claim still running)."""
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, hold)
        finally:
            start = next((m for m in messages if m["type"] == "http.response.start"), None)
            status = start["status"] if start else 500
            if status >= 500:
                await run_in_threadpool(self.store.release, principal, key)
            else:
                assert start is not None
                headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start["headers"]]
                body = b"".join(m.get("body", b"") for m in messages if m is not start)
                await run_in_threadpool(self.store.record, principal, key, status, headers, body)
        for message in messages:
            await send(message)


def _answer_again(known: Remembered, fingerprint: bytes) -> ASGIApp:
    if known.fingerprint != fingerprint:
        detail = "This Idempotency-Key was used with another request; use a new key"
        return error_response(422, "IDEMPOTENCY_KEY_REUSED", detail)
    if known.status is None:
        detail = "A request with this Idempotency-Key is still running; retry shortly"
        return error_response(409, "IDEMPOTENCY_KEY_IN_USE", detail, {"Retry-After": "1"})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in known.headers or []]
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": known.status, "headers": headers})
        await send({"type": "http.response.body", "body": known.body or b""})

    return app


def request_fingerprint(scope: Scope, body: bytes) -> bytes:
    """What makes two requests the same: method, path, query and body."""
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.digest()


def _cookie(header: str) -> str:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
