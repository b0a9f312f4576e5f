"""Agent liveness: when each agent last heartbeat, and the figures it sent. Kept out of the event
log on purpose (DESIGN §5: only status changes are events): in memory for one process, in Redis
(``interfaces/adapters/agent_liveness.py``) when several API instances share the agents."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Liveness(Protocol):
    """Where heartbeats are remembered."""

    def beat(self, agent_id: UUID, at: datetime, figures: dict[str, Any]) -> None:
        """Remember a heartbeat of ``agent_id`` at ``at`` with its figures."""

    def last_seen(self, agent_id: UUID) -> datetime | None:
        """When the agent last heartbeat (None: never, or forgotten)."""

    def figures(self, agent_id: UUID) -> dict[str, Any]:
        """The figures of the last heartbeat ({}: none)."""


class MemoryLiveness:
    """Heartbeats in this process's memory (one API process)."""

    def __init__(self) -> None:
        self._seen: dict[UUID, tuple[datetime, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def beat(self, agent_id: UUID, at: datetime, figures: dict[str, Any]) -> None:
        """Remember a heartbeat."""
        with self._lock:
            self._seen[agent_id] = (at, dict(figures))

    def last_seen(self, agent_id: UUID) -> datetime | None:
        """When the agent last heartbeat."""
        with self._lock:
            found = self._seen.get(agent_id)
        return found[0] if found else None

    def figures(self, agent_id: UUID) -> dict[str, Any]:
        """The last heartbeat's figures."""
        with self._lock:
            found = self._seen.get(agent_id)
        return dict(found[1]) if found else {}
