"""``Idempotency-Key`` on POST commands: a retried command answers as the first one did.

The same key and the same request (method, path, query and body) from the same principal within
24 hours get the first answer again (status, headers, body, plus ``Idempotent-Replayed: true``)
and the command does not run a second time. The same key with another request is refused (422
``IDEMPOTENCY_KEY_REUSED``); a key whose first request is still running answers 409
``IDEMPOTENCY_KEY_IN_USE`` (retry shortly). Keys belong to a principal (a user, or an API key), so
two callers never see each other's answers. Requests without a principal (sign-in, register)
are not remembered.

The answers are kept in PostgreSQL (``interfaces/api/idempotency_store.py``), so every API
process sees them. A pure ASGI middleware on the event loop: claiming the key is one statement
before the command runs; the answer goes to the client as the route sends it, and is recorded
(one more statement) right after, so the client never waits for it. A retry that arrives in
between (it can only follow the answer by a round trip) waits for the record, up to
``IN_FLIGHT_WAIT`` seconds: in this process on the first request itself, elsewhere by reading the
row again. A 5xx answer is not kept: the client may retry it.

A crash between the claim and the record (the API process dies, or PostgreSQL loses its last
unflushed WAL) leaves a claim without an answer. After ``ABANDONED_SECONDS`` a retry settles it:
if the log holds events with the abandoned request's id (stamped in every event's metadata)
recorded after the claim, the command took effect and its answer is lost: the key answers 409
``IDEMPOTENCY_KEY_ANSWER_LOST`` for good (read the resource; never a second effect). Otherwise
the command never ran and the retry runs it. A client that reuses one ``X-Request-ID`` for
several commands can only make the first case more likely (the safe side).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.error import InvalidToken
from interfaces.api.asgi_body import read_body, replay
from interfaces.api.cookie import COOKIE
from interfaces.api.errors import error_response
from interfaces.api.idempotency_store import ABANDONED_SECONDS, IdempotencyStore, Remembered

__all__ = ["ABANDONED_SECONDS", "Idempotency", "IdempotencyStore", "request_fingerprint"]

log = logging.getLogger(__name__)
HEADER = b"idempotency-key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as Stripe and the IETF draft
IN_FLIGHT_WAIT = 0.2  # seconds a retry waits for an answer already sent but not yet recorded
_RECHECKS = (0.01, 0.04, 0.15)  # another process's answer: the row read again after these
Answer = tuple[int, list[list[str]], bytes]


@dataclass
class _InFlight:
    """A first request running in this process: its answer, once it has one."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    answer: Answer | None = None


class Idempotency:
    """ASGI middleware applying ``Idempotency-Key`` to POST requests that carry one."""

    def __init__(
        self, app: ASGIApp, store: IdempotencyStore, identify: Callable[[str], str]
    ) -> None:
        self.app = app
        self.store = store
        self.identify = identify  # a token -> "user:<id>" / "key:<id>"; InvalidToken if bad
        self.running: dict[tuple[str, str], _InFlight] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
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
        request_id = scope.get("state", {}).get("request_id")
        known = await self.store.claim(principal, key, fingerprint, request_id)
        if known is None:
            await self._first(scope, replay(body, receive), send, principal, key)
            return
        if known.fingerprint == fingerprint and known.abandoned:
            if await self._settle(principal, key, known, request_id):
                await self._first(scope, replay(body, receive), send, principal, key)
                return
            known = await self.store.find(principal, key) or known
        elif known.fingerprint == fingerprint and known.status is None:
            known = await self._awaited(principal, key, known)
        await _answer_again(known, fingerprint)(scope, receive, send)

    def _closing(self, send: Send) -> Send:
        """``send`` that opens the store's connections when the app has started and closes
        them when it has shut down."""

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.store.warm()
            elif message["type"] == "lifespan.shutdown.complete":
                await self.store.close()
            await send(message)

        return closing

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
        """Run the request, its answer passing straight to the client; then keep the answer
        (or forget the claim after a 5xx)."""
        flight = self.running[principal, key] = _InFlight()
        start: Message | None = None
        chunks: list[bytes] = []

        async def passing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, passing)
        finally:
            status = start["status"] if start is not None else 500
            if start is not None and status < 500:
                headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start["headers"]]
                flight.answer = (status, headers, b"".join(chunks))
            flight.done.set()
            try:
                if flight.answer is None:
                    await self.store.release(principal, key)
                else:
                    await self.store.record(principal, key, *flight.answer)
            except psycopg.Error:
                # The client has its answer; the claim stays unanswered and a retry after
                # ABANDONED_SECONDS settles it as after a crash (the module's doc).
                log.exception("could not keep the answer of Idempotency-Key %r", key)
            finally:
                del self.running[principal, key]

    async def _awaited(self, principal: str, key: str, known: Remembered) -> Remembered:
        """The answer of a first request that may have just sent it (see the module's doc)."""
        flight = self.running.get((principal, key))
        if flight is not None:  # in this process: wait on it
            try:
                await asyncio.wait_for(flight.done.wait(), IN_FLIGHT_WAIT)
            except TimeoutError:
                return known
            if flight.answer is None:
                return known
            status, headers, body = flight.answer
            return Remembered(known.fingerprint, status, headers, body)
        for pause in _RECHECKS:  # in another process: read the row again
            await asyncio.sleep(pause)
            found = await self.store.find(principal, key)
            if found is None or found.status is not None:
                return found or known
        return known

    async def _settle(
        self, principal: str, key: str, known: Remembered, request_id: str | None
    ) -> bool:
        """Settle a claim abandoned by a crash: True when this request now owns the key and
        runs the command (it never took effect)."""
        if not await self.store.took_effect(known):
            return await self.store.take_over(principal, key, known, request_id)
        detail = (
            "The first request with this Idempotency-Key took effect, but its answer was lost"
            " in a server failure; read the resource to see its state"
        )
        answer = error_response(409, "IDEMPOTENCY_KEY_ANSWER_LOST", detail)
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.raw_headers]
        await self.store.settle(principal, key, known, (409, headers, bytes(answer.body)))
        return False


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
