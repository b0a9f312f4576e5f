"""Who and what caused a command: the metadata stamped on every event it records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.ids import new_id

META = "meta"


@dataclass(frozen=True)
class CommandContext:
    """The actor and the ids that tie a command's events to a request and its cause."""

    actor: str
    correlation_id: str = field(default_factory=lambda: str(new_id()))
    causation_id: str | None = None
    request_id: str | None = None

    @classmethod
    def for_user(cls, user_id: UUID, request_id: str | None = None) -> CommandContext:
        """A context for a command a user sent through the API."""
        rid = request_id or str(new_id())
        return cls(actor=f"user:{user_id}", correlation_id=rid, request_id=rid)

    @classmethod
    def system(cls, reason: str) -> CommandContext:
        """A context for a command the system issues by itself."""
        return cls(actor=f"system:{reason}")

    def as_metadata(self) -> dict[str, Any]:
        """The metadata dictionary stored with each event."""
        return {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id or self.request_id,
            "request_id": self.request_id,
        }


def stamp(events: Iterable[object], context: CommandContext) -> None:
    """Attach the context's metadata to events before they are stored (serialised with them)."""
    metadata = context.as_metadata()
    for domain_event in events:
        object.__setattr__(domain_event, META, metadata)


def metadata_of(domain_event: object) -> dict[str, Any]:
    """The metadata stored with an event (empty for events recorded without one)."""
    found = getattr(domain_event, META, None)
    return dict(found) if isinstance(found, dict) else {}
