"""Agent heartbeats in Redis, shared by every API instance and the reactors' process; memory
while Redis is unreachable (a heartbeat must never fail because of the figures)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import redis

from application.liveness import MemoryLiveness

log = logging.getLogger(__name__)
PREFIX = "ledgerflow:agent-liveness:"


class RedisLiveness:
    """Last heartbeat and figures per agent, in Redis keys that expire after ``ttl_seconds``."""

    def __init__(self, url: str, ttl_seconds: int = 86_400) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._ttl = ttl_seconds
        self._fallback = MemoryLiveness()

    def beat(self, agent_id: UUID, at: datetime, figures: dict[str, Any]) -> None:
        """Remember a heartbeat."""
        self._fallback.beat(agent_id, at, figures)
        value = json.dumps({"at": at.isoformat(), "figures": figures})
        try:
            self._client.set(PREFIX + str(agent_id), value, ex=self._ttl)
        except redis.RedisError as error:
            log.warning("agent liveness: Redis unavailable (%s); kept in memory", error)

    def _read(self, agent_id: UUID) -> tuple[datetime, dict[str, Any]] | None:
        try:
            raw = self._client.get(PREFIX + str(agent_id))
        except redis.RedisError:
            seen = self._fallback.last_seen(agent_id)
            return None if seen is None else (seen, self._fallback.figures(agent_id))
        if raw is None:
            return None
        found = json.loads(raw)
        return datetime.fromisoformat(found["at"]), dict(found["figures"])

    def last_seen(self, agent_id: UUID) -> datetime | None:
        """When the agent last heartbeat (on any instance)."""
        found = self._read(agent_id)
        return found[0] if found else None

    def figures(self, agent_id: UUID) -> dict[str, Any]:
        """The last heartbeat's figures."""
        found = self._read(agent_id)
        return found[1] if found else {}
