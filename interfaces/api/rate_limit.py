"""Rate limits per user, with X-RateLimit-* headers on every response and 429 past the limit.

A user's access tokens and all of their API keys spend one budget (a user cannot multiply it by
making keys); anonymous requests spend their client address's. The address is the connection's,
or the one a proxy listed in ``LEDGERFLOW_TRUSTED_PROXIES`` forwards: a header cannot change it.

Built on the maintained ``limits`` library: its asyncio strategies keep the event loop free, with
Redis storage (shared by every API instance) when ``LEDGERFLOW_REDIS_URL`` is set, in-process memory
otherwise. If Redis is unreachable the request is let through (availability over strictness) and
a warning is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from limits import RateLimitItem, parse, storage, strategies
from limits.aio import strategies as aio_strategies
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.api_keys import KEY_PREFIX, parse_key
from application.error import InvalidToken
from application.token import TokenIssuer
from interfaces.api.deps import bearer

log = logging.getLogger(__name__)
EXEMPT = ("/health", "/docs", "/redoc", "/openapi.json", "/metrics", "/ready", "/api/v1/health")


def _limits_uri(redis_url: str | None, prefix: str) -> str:
    if redis_url is None:
        return f"{prefix}memory://"
    scheme = "redis+" if redis_url.startswith("unix") else ""
    return f"{prefix}{scheme}{redis_url}"


class RateLimit:
    """ASGI middleware: one fixed window per principal (user id, else client address)."""

    def __init__(
        self,
        app: ASGIApp,
        rate: str,
        redis_url: str | None,
        identify: Callable[[str], Awaitable[str | None]],
        agent_rate: str | None = None,
    ) -> None:
        self.app = app
        self.item: RateLimitItem = parse(rate)
        # An agent token (key ``agent:<id>``) spends a budget of its own size (DevFlow's
        # "Tasks API: 1000 requests/minute per agent"), never its owner's.
        self.agent_item: RateLimitItem = parse(agent_rate) if agent_rate else self.item
        options: dict[str, Any] = {"implementation": "redispy"} if redis_url else {}
        self.limiter = aio_strategies.FixedWindowRateLimiter(
            storage.storage_from_string(_limits_uri(redis_url, "async+"), **options)
        )
        self.identify = identify

    async def _key(self, scope: Scope) -> str:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization:
            try:
                user = await self.identify(authorization)
            except InvalidToken:
                user = None
            if user is not None:
                return user
        client = scope.get("client") or ("unknown", 0)
        return f"ip:{client[0]}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        key = await self._key(scope)
        item = self.agent_item if key.startswith("agent:") else self.item
        try:
            allowed = await self.limiter.hit(item, "api", key)
            stats = await self.limiter.get_window_stats(item, "api", key)
        except Exception as error:  # the limiter's store is down: let the request through
            log.warning("rate limit store unavailable (%s); not limiting", error)
            await self.app(scope, receive, send)
            return
        headers = [
            (b"x-ratelimit-limit", str(item.amount).encode()),
            (b"x-ratelimit-remaining", str(max(0, stats.remaining)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(stats.reset_time)).encode()),
        ]
        if not allowed:
            await self._refuse(send, headers, stats.reset_time)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(send: Send, headers: list[tuple[bytes, bytes]], reset: float) -> None:
        retry_after = max(1, math.ceil(reset - time.time()))
        body = json.dumps(
            {"detail": f"Rate limit exceeded; retry in {retry_after} s", "code": "RATE_LIMITED"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    *headers,
                    (b"retry-after", str(retry_after).encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateKeys:
    """Whose budget a request spends: its user's, for an access token or any of their API keys.

    The owner of an API key never changes: it is looked up once (in a thread) and remembered."""

    def __init__(
        self, tokens: TokenIssuer, key_owner: Callable[[str], UUID], capacity: int = 100_000
    ) -> None:
        self._tokens = tokens
        self._key_owner = key_owner
        self._owners: OrderedDict[UUID, UUID] = OrderedDict()
        self._capacity = capacity

    async def __call__(self, authorization: str) -> str | None:
        """``user:<id>``; ``InvalidToken`` for a token or key that is not valid."""
        token = bearer(authorization)
        if not token.startswith(KEY_PREFIX):
            return f"user:{self._tokens.verify(token)}"
        key_id = parse_key(token)[0]
        owner = self._owners.get(key_id)
        if owner is None:
            owner = await asyncio.to_thread(self._key_owner, token)
            self._owners[key_id] = owner
            if len(self._owners) > self._capacity:
                self._owners.popitem(last=False)
        return f"user:{owner}"


class LoginThrottle:
    """Limits login attempts against password guessing without locking the real user out.

    An attacker's address is slowed per (username, address) pair and per address; a separate,
    higher ceiling per username stops a guess spread over many addresses. The real user, from
    another address, keeps their own pair's budget until that ceiling."""

    def __init__(
        self, per_pair: str, per_address: str, per_username: str, redis_url: str | None
    ) -> None:
        self.items = {
            "pair": parse(per_pair),
            "ip": parse(per_address),
            "user": parse(per_username),
        }
        self.limiter = strategies.FixedWindowRateLimiter(
            storage.storage_from_string(_limits_uri(redis_url, ""))
        )

    def attempt(self, username: str, address: str) -> float | None:
        """Count one attempt; None when allowed, else seconds until another is allowed."""
        name = username.strip().casefold()
        keys = {"pair": f"{name}\n{address}", "ip": address, "user": name}
        try:
            refused = [
                kind
                for kind, key in keys.items()
                if not self.limiter.hit(self.items[kind], "login", kind, key)
            ]
            if not refused:
                return None
            resets = [
                self.limiter.get_window_stats(self.items[k], "login", k, keys[k]).reset_time
                for k in refused
            ]
        except Exception as error:  # the store is down: do not lock everybody out
            log.warning("login throttle store unavailable (%s); not limiting", error)
            return None
        return max(1.0, max(resets) - time.time())
