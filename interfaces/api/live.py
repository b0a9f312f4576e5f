"""Live events over WebSocket: the sessions the hub (``live_hub.py``) fans live events out to.

A subscription resumes without gap or duplicate: it is registered with the hub first (live
events are buffered), then it catches up from the event feed up to the log head and the buffer's
first position, then flushes the buffer and goes live, sending only positions above the last one
sent. When the bus reconnects (messages may have been lost) every subscription catches up again.

A socket lives only as long as its credentials: it is closed with 4401 when its access token
expires, when its session is revoked or its user deactivated (``live_revocation.py``, on every
instance), and each ``subscribe`` checks the credentials again. A message over
``LEDGERFLOW_MAX_BODY_BYTES`` closes the socket (1009); patterns are checked like everywhere else.
Before authentication a client gets less: its first message must come within
``LEDGERFLOW_WS_AUTH_TIMEOUT_SECONDS`` (else close 4408) and hold at most
``LEDGERFLOW_WS_AUTH_MAX_BYTES`` (else close 1009), so an anonymous socket costs little.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from application.api_keys import KEY_PREFIX
from application.error import InvalidToken
from application.token import AccessClaims
from domain.conversation import conversation_id_of
from domain.error import InvalidValue
from domain.event_pattern import event_type_patterns
from interfaces.api.live_hub import LiveHub, Subscription
from interfaces.api.live_revocation import SocketRevocation
from interfaces.container import Container
from interfaces.settings import Settings
from projections.event_feed import FeedPage

log = logging.getLogger(__name__)
CLOSE_UNAUTHORIZED = 4401
CLOSE_SLOW = 4008
CLOSE_TOO_BIG = 1009
CLOSE_AUTH_TIMEOUT = 4408
SUBSCRIPTIONS_MAX = 50
OUTBOX_SIZE = 1000
PAGE = 500
FEED_BEHIND_WAIT = 0.05


def patterns_of(message: dict[str, Any]) -> tuple[str, ...]:
    """The type patterns a subscribe/unsubscribe message names (``events`` or seed ``event``);
    ``InvalidValue`` when they are not patterns (see ``domain/event_pattern.py``)."""
    given = message.get("events", message.get("types", message.get("event", "*")))
    items = [given] if isinstance(given, str) else given if isinstance(given, list) else [given]
    return tuple(event_type_patterns(p for p in items if p != "")) or ("*",)


class LiveSession:
    """One authenticated WebSocket: its subscriptions, its outbox and its heartbeat."""

    def __init__(
        self,
        websocket: WebSocket,
        hub: LiveHub,
        claims: AccessClaims,
        feed: Callable[..., FeedPage],
        outbox_size: int = OUTBOX_SIZE,
        max_message_bytes: int = 1024 * 1024,
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.claims = claims
        self.reader = claims.user_id
        self.session_id = claims.session_id
        self.feed = feed
        self.max_message_bytes = max_message_bytes
        self.close_code = CLOSE_SLOW
        self.outbox: asyncio.Queue[dict[str, Any] | str] = asyncio.Queue(maxsize=outbox_size)
        self.subscriptions: dict[str, Subscription] = {}
        self.dropped = asyncio.Event()
        self.drop_reason = ""
        self._tasks: set[asyncio.Task[None]] = set()

    def drop(self, reason: str, code: int = CLOSE_SLOW) -> None:
        """Close this session (from the hub: the client is too slow)."""
        if not self.dropped.is_set():
            self.drop_reason, self.close_code = reason, code
        self.dropped.set()

    def revoke(self, reason: str) -> None:
        """Close this session: its credentials are no longer valid."""
        self.drop(reason, CLOSE_UNAUTHORIZED)

    def resync(self, subscription: Subscription) -> None:
        """The bus may have lost messages: catch ``subscription`` up from the store again."""
        subscription.buffer.clear()
        if subscription.catching_up:
            subscription.resynced = True
        else:
            subscription.catching_up = True
            self._spawn(self._catch_up(subscription, subscription.last_sent))

    async def run(self, heartbeat: float) -> None:
        """Serve the client until it leaves or is dropped."""
        self._spawn(self._send())
        self._spawn(self._beat(heartbeat))
        self._spawn(self._expire())
        receiving = asyncio.create_task(self._receive())
        dropped = asyncio.create_task(self.dropped.wait())
        try:
            await asyncio.wait({receiving, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for subscription in self.subscriptions.values():
                self.hub.remove(subscription)
            for task in (*self._tasks, receiving, dropped):
                task.cancel()
        if self.dropped.is_set():
            with contextlib.suppress(Exception):  # the client may already be gone
                await self.websocket.close(self.close_code, self.drop_reason[:120])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        while True:
            message = await self.outbox.get()
            if not isinstance(message, str):  # live events come already encoded
                message = json.dumps(message, separators=(",", ":"))
            await self.websocket.send_text(message)

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.outbox.put({"type": "heartbeat", "position": self.hub.position})

    async def _expire(self) -> None:
        await asyncio.sleep(max(0.0, self.claims.expires_at - time.time()))
        self.revoke("the access token expired")

    async def _receive(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self.websocket.receive_text()
                if len(text.encode("utf-8", "surrogatepass")) > self.max_message_bytes:
                    self.drop(
                        f"messages are limited to {self.max_message_bytes} bytes", CLOSE_TOO_BIG
                    )
                    return
                try:
                    message = json.loads(text)
                except (ValueError, RecursionError):
                    message = None
                await self._handle(message if isinstance(message, dict) else {})

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.outbox.put({"type": "pong", "position": self.hub.position})
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "unsubscribe":
            await self._unsubscribe(message)
        elif kind == "auth":
            await self.outbox.put({"type": "authenticated", "user_id": str(self.reader)})
        else:
            detail = "expected a JSON object with type ping, subscribe, unsubscribe or auth"
            await self.outbox.put({"type": "error", "code": "BAD_MESSAGE", "detail": detail})

    async def _refuse(self, detail: str) -> None:
        await self.outbox.put({"type": "error", "code": "BAD_MESSAGE", "detail": detail})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not await self._still_valid():
            return
        start = message.get("from_position")
        if start is not None and (
            not isinstance(start, int) or isinstance(start, bool) or start < 0
        ):
            await self._refuse("from_position must be a non-negative integer")
            return
        try:
            patterns = patterns_of(message)
        except InvalidValue as error:
            await self._refuse(str(error))
            return
        if len(self.subscriptions) >= SUBSCRIPTIONS_MAX:
            await self._refuse(f"at most {SUBSCRIPTIONS_MAX} subscriptions per socket")
            return
        head = await self.hub.head()
        if start is not None and start > head:
            await self._refuse(f"from_position {start} is beyond the last position ({head})")
            return
        subscription = Subscription(self, patterns, last_sent=0)
        self.hub.add(subscription)  # buffer live events before looking at the store
        if start is None:
            start = await self.hub.head()
        subscription.last_sent = start
        self.subscriptions[subscription.id] = subscription
        await self.outbox.put(
            {
                "type": "subscribed",
                "subscription_id": subscription.id,
                "events": list(subscription.patterns),
                "from_position": start,
            }
        )
        self._spawn(self._catch_up(subscription, start))

    async def _still_valid(self) -> bool:
        """Check the credentials again, past the cache (they may have ended since)."""
        principals = self.websocket.app.state.principals
        try:
            await asyncio.to_thread(principals.load, self.claims)
        except InvalidToken:
            self.revoke("the session ended or the user was deactivated")
            return False
        return True

    async def _unsubscribe(self, message: dict[str, Any]) -> None:
        wanted = message.get("subscription_id")
        try:
            patterns = patterns_of(message) if wanted is None else ()
        except InvalidValue as error:
            await self._refuse(str(error))
            return
        for sub in list(self.subscriptions.values()):
            if sub.id == wanted or sub.patterns == patterns:
                self.hub.remove(sub)
                del self.subscriptions[sub.id]
                await self.outbox.put({"type": "unsubscribed", "subscription_id": sub.id})

    async def _catch_up(self, sub: Subscription, cursor: int) -> None:
        while True:
            sub.resynced = False
            cursor = await self._read_store(sub, cursor, await self.hub.head())
            while sub.buffer and not sub.resynced:
                if (message := sub.message_for(sub.buffer.popleft())) is not None:
                    await self.outbox.put(message)
            if not sub.resynced:
                break
        sub.catching_up = False
        await self.outbox.put({"type": "caught_up", "subscription_id": sub.id, "position": cursor})

    async def _read_store(self, sub: Subscription, cursor: int, head: int) -> int:
        """Send stored events after ``cursor`` up to the head and the first buffered event."""
        while not sub.resynced:
            target = max(head, sub.buffer[0]["position"] - 1 if sub.buffer else 0)
            if cursor >= target:
                break
            page = await asyncio.to_thread(self.feed, self.reader, cursor, sub.patterns, PAGE)
            for event in page.events:
                if (message := sub.message_for(event)) is not None:
                    await self.outbox.put(message)
            if page.next_after == cursor:  # the feed read model is behind the log
                await asyncio.sleep(FEED_BEHIND_WAIT)
            cursor = page.next_after
        return cursor


class Refused(Exception):
    """The socket cannot be served: close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


UNAUTHENTICATED = Refused(CLOSE_UNAUTHORIZED, "authentication required: a valid token")


async def first_token(websocket: WebSocket, settings: Settings) -> str:
    """The token of a first ``{"type": "auth", "token": …}`` message: it must come within the
    auth deadline and be small (a token is a few hundred bytes)."""
    timeout, limit = settings.ws_auth_timeout_seconds, settings.ws_auth_max_bytes
    try:
        text = await asyncio.wait_for(websocket.receive_text(), timeout)
    except TimeoutError:
        raise Refused(CLOSE_AUTH_TIMEOUT, f"no auth message within {timeout:g} s") from None
    except (WebSocketDisconnect, KeyError):  # gone, or a binary frame
        raise UNAUTHENTICATED from None
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise Refused(CLOSE_TOO_BIG, f"the auth message is limited to {limit} bytes")
    try:
        first = json.loads(text)
    except (ValueError, RecursionError):
        raise UNAUTHENTICATED from None
    if not isinstance(first, dict) or first.get("type") != "auth":
        raise UNAUTHENTICATED
    return str(first.get("token") or "")


async def authenticate(websocket: WebSocket, container: Container) -> AccessClaims:
    """The user of ``?token=`` or of a first auth message; ``Refused`` otherwise."""
    token = websocket.query_params.get("token")
    if token is None:
        token = await first_token(websocket, container.settings)
    token = token.strip().removeprefix("Bearer ").strip()
    principals = websocket.app.state.principals
    if token.startswith(KEY_PREFIX):  # as for GET /api/v1/events, API keys have no such scope
        raise UNAUTHENTICATED
    try:
        claims = container.tokens.verify_claims(token)
        principals.cached(claims) or await asyncio.to_thread(principals.load, claims)
    except InvalidToken:  # a bad or revoked token, or a user who is gone or deactivated
        raise UNAUTHENTICATED from None
    return claims


async def serve(websocket: WebSocket, session_id: str | None) -> None:
    """Accept, authenticate (close 4401 otherwise) and serve one WebSocket client."""
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        claims = await authenticate(websocket, container)
    except Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return
    hub: LiveHub = websocket.app.state.live
    hello = {"type": "authenticated", "user_id": str(claims.user_id), "session_id": session_id}
    if session_id is not None:  # Behflow's chat session: its messages are this aggregate's events
        hello["conversation_id"] = str(conversation_id_of(claims.user_id, session_id))
    await websocket.send_text(json.dumps(hello))
    settings = container.settings
    session = LiveSession(
        websocket,
        hub,
        claims,
        container.events.read,
        settings.ws_outbox_size,
        settings.max_body_bytes,
    )
    revocation: SocketRevocation = websocket.app.state.socket_revocation
    revocation.add(session)
    try:
        await session.run(settings.ws_heartbeat_seconds)
    finally:
        revocation.discard(session)
