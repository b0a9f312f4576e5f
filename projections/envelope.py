"""The public event envelope: the one shape every consumer sees (feed, WebSocket, webhooks, audit).

``{"event_id", "type", "event", "position", "aggregate_id", "aggregate_type", "version",
"occurred_at", "actor", "correlation_id", "data"}`` (``event`` repeats ``type``: DevFlow's and
002's consumers read that name). ``data`` is the event's own fields, JSON-ready, with secrets
(credentials) removed. ``event_id`` is derived from the aggregate id and version, so the same
event always has the same id (receivers can de-duplicate).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID, uuid5

ENVELOPE_NAMESPACE = UUID("0b9d6c1e-7f1a-4c4e-9a55-2f7f1e6d3a21")
# Fields of the stored event that the envelope carries elsewhere, or that are never published.
_INTERNAL = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "meta",
        "class_version",
    }
)
_SECRET_WORDS = ("credential", "password", "secret", "hash", "token")


@cache
def _published(field: str) -> bool:
    """Whether a field of a stored event goes into ``data`` (asked for every field of every
    envelope, three envelopes per event: remembered per field name, of which there are few)."""
    return field not in _INTERNAL and not any(word in field for word in _SECRET_WORDS)


def camel(name: str) -> str:
    """``result_files`` -> ``resultFiles`` (DevFlow's spelling of a field)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def event_type(domain_event: object) -> str:
    """The public type name of an event (its TOPIC), e.g. ``task.created``."""
    return str(getattr(type(domain_event), "TOPIC", type(domain_event).__qualname__))


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """The stable id of the event at ``version`` of ``aggregate_id``."""
    return uuid5(ENVELOPE_NAMESPACE, f"{aggregate_id}:{version}")


def jsonable(value: Any) -> Any:
    """``value`` with UUIDs, datetimes, enums and tuples turned into JSON types."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def envelope(domain_event: Any, position: int | None) -> dict[str, Any]:
    """The public envelope of a decoded event recorded at ``position`` (None if unknown)."""
    kind = event_type(domain_event)
    meta = getattr(domain_event, "meta", None) or {}
    state = vars(domain_event)
    return {
        "event_id": str(event_id(domain_event.originator_id, domain_event.originator_version)),
        "type": kind,
        "event": kind,
        "position": position,
        "aggregate_id": str(domain_event.originator_id),
        "aggregate_type": kind.split(".", 1)[0],
        "version": domain_event.originator_version,
        "occurred_at": jsonable(domain_event.timestamp),
        "actor": meta.get("actor"),
        "correlation_id": meta.get("correlation_id"),
        "data": {k: jsonable(v) for k, v in state.items() if _published(k)},
    }
