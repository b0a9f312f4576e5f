"""Event names other seeds subscribe to, derived from the events Ledgerflow records.

A status change of a task is recorded once, as ``task.status_changed``. 002's WebSocket clients
subscribe to ``task.completed`` and ``task.failed``, DevFlow's webhook consumers to
``task.completed``, and AstraFlow's webhooks to ``task.updated`` for any change. Those names are
aliases applied by the matchers only (WebSocket subscriptions, webhook filters, the events feed
and triggers): nothing is stored twice, and an event keeps its own ``type``.

``DERIVED`` maps an alias to the recorded type and, optionally, a field of the event's data and
the value it must have (shared/CONTRACT.md 2.6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql

from projections.envelope import camel
from projections.event_feed import like_pattern, type_matcher

DERIVED: dict[str, tuple[str, str | None, str | None]] = {
    "task.completed": ("task.status_changed", "to_status", "completed"),
    "task.failed": ("task.status_changed", "to_status", "failed"),
    "task.cancelled": ("task.status_changed", "to_status", "cancelled"),
    "task.updated": ("task.status_changed", None, None),
    "agent.status": ("agent.status_changed", None, None),
    "worker.online": ("worker.status_changed", "to_status", "online"),
    "worker.offline": ("worker.status_changed", "to_status", "offline"),
    "message.new": ("message.sent", None, None),
    "notification": ("notification.created", None, None),
}


def derived_name(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The most specific alias an event also answers to (``task.completed`` for a status change
    to completed), or None: the name a seed's consumer expects (DevFlow's webhook ``event``)."""
    for name, (recorded, field, value) in DERIVED.items():
        if recorded == event_type and field is not None and data.get(field) == value:
            return name
    return None


def devflow_event(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """An envelope as DevFlow's webhook body (003:L248-266): ``{event, data}``, the data in
    camelCase with ``<aggregate>Id`` (``taskId``), ``userId`` and, for a status change,
    ``status`` (and ``completedAt`` when completed); ``event`` is the derived name."""
    data: Mapping[str, Any] = envelope.get("data") or {}
    name = derived_name(envelope["type"], data) or envelope["type"]
    out = {camel(k): v for k, v in data.items()}
    out[f"{envelope['aggregate_type']}Id"] = envelope["aggregate_id"]
    if "owner_id" in data:
        out["userId"] = data["owner_id"]
    if "to_status" in data:
        out["status"] = data["to_status"]
    if name == "task.completed":
        out["completedAt"] = envelope["occurred_at"]
    return {"event": name, "data": out}


class EventMatcher:
    """Matches events against type patterns, the derived aliases included."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._types = type_matcher(self.patterns)
        # The aliases some pattern asks for (a pattern matching every type needs none).
        self.derived = [
            rule
            for name, rule in DERIVED.items()
            if self.patterns and self._types.fullmatch(name) and not self._types.fullmatch(rule[0])
        ]

    def matches(self, event_type: str, data: Mapping[str, Any]) -> bool:
        """True when the event's own type, or an alias it answers to, matches."""
        if self._types.fullmatch(event_type):
            return True
        return any(
            recorded == event_type and (field is None or data.get(field) == value)
            for recorded, field, value in self.derived
        )

    def sql(
        self, type_column: str = "type", data: str = "envelope -> 'data'"
    ) -> tuple[sql.Composed, list[Any]]:
        """The same test as a SQL condition on a feed row (its type and its envelope's data),
        with its parameters."""
        column = sql.Identifier(type_column)
        parts: list[sql.Composable] = [sql.SQL("{} LIKE ANY(%s)").format(column)]
        params: list[Any] = [[like_pattern(p) for p in self.patterns] or ["%"]]
        for recorded, field, value in self.derived:
            if field is None:
                parts.append(sql.SQL("{} = %s").format(column))
                params.append(recorded)
            else:
                parts.append(
                    sql.SQL("({} = %s AND ({} ->> %s) = %s)").format(column, sql.SQL(data))
                )
                params += [recorded, field, value]
        return sql.SQL("({})").format(sql.SQL(" OR ").join(parts)), params
