"""Who may read an event: the rules each feature declares, used by the event feed, the relay
and the webhook fan-out.

A feature declares one ``ReaderRule`` per aggregate: the user its creating event names
(``named_by``) may read every event of that aggregate; ``ReaderRule(Session, None)`` says no user
reads them (internal events). Only creating events name the reader; for the later events of an
aggregate it is remembered in an owners table (written in the caller's transaction, so it is exactly
once too). ``ReaderRules.check`` fails loudly on an event type no rule covers, and a test walks
every event class of the domain, so a new aggregate cannot silently vanish from the feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.domain import AggregateCreated, AggregateEvent
from psycopg import sql

Named = Callable[[Any], Any]
_UNSEEN = object()


def event_classes(aggregate: type) -> list[type]:
    """The event classes declared inside an aggregate class (those with a public ``TOPIC``)."""
    return [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type)
        and issubclass(value, AggregateEvent)
        and getattr(value, "TOPIC", None)
    ]


def topic_of(event_class: type) -> str:
    """The public type of an event class (``task.created``); '' when it has none."""
    return str(getattr(event_class, "TOPIC", "") or "")


@dataclass(frozen=True)
class ReaderRule:
    """Who may read the events of ``aggregate``: the user ``named_by(created_event)`` names, or
    nobody when ``named_by`` is None."""

    aggregate: type
    named_by: Named | None

    def topics(self) -> list[str]:
        """The public types of the aggregate's events."""
        return [topic_of(cls) for cls in event_classes(self.aggregate)]


class UncoveredEvent(LookupError):
    """An event type that no feature's reader rule covers."""


class ReaderRules:
    """Every feature's reader rule, looked up by event class."""

    def __init__(self, rules: Iterable[ReaderRule]) -> None:
        self.rules = tuple(rules)
        # By public type: the library re-creates nested event classes, so classes may differ.
        self._by_topic: dict[str, ReaderRule] = {
            topic: rule for rule in self.rules for topic in rule.topics()
        }
        self._naming: dict[type, Any] = {}  # event class -> its rule's named_by, or None

    def covers(self, event_class: type) -> bool:
        """Whether a rule says who reads events of this class."""
        return topic_of(event_class) in self._by_topic

    def named_by(self, domain_event: Any) -> UUID | None:
        """The reader a creating event names (None for later events and unread aggregates)."""
        kind = type(domain_event)
        naming = self._naming.get(kind, _UNSEEN)
        if naming is _UNSEEN:  # decided once per event class (asked for every event, thrice)
            rule = self._by_topic.get(topic_of(kind))
            if rule is None:
                raise UncoveredEvent(f"no reader rule covers {kind.__qualname__}")
            creating = issubclass(kind, AggregateCreated)
            naming = self._naming[kind] = rule.named_by if creating else None
        if naming is None:
            return None
        named = naming(domain_event)
        return named if isinstance(named, UUID) else UUID(str(named))

    def reader_named_by(self, domain_event: Any) -> UUID | None:
        """``named_by``, or None for an event no rule covers (for a reader that only uses a
        named reader to avoid a look-up: the trigger matcher)."""
        return self.named_by(domain_event) if self.covers(type(domain_event)) else None


class Owners:
    """The owner of every aggregate seen so far, in table ``<table>``."""

    def __init__(self, table: str, rules: ReaderRules) -> None:
        self._t = sql.Identifier(table)
        self.rules = rules

    def create_table(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the owners table."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}"
                " (aggregate_id uuid PRIMARY KEY, owner_id uuid NOT NULL)"
            ).format(self._t)
        )

    def reader_of(self, cur: psycopg.Cursor[Any], domain_event: Any) -> UUID | None:
        """Who may read ``domain_event``; remembers the owner when the event names one."""
        named = self.rules.named_by(domain_event)
        if named is not None:
            cur.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(self._t),
                (domain_event.originator_id, named),
            )
            return named
        row = cur.execute(
            sql.SQL("SELECT owner_id FROM {} WHERE aggregate_id = %s").format(self._t),
            (domain_event.originator_id,),
        ).fetchone()
        return row[0] if row else None

    def readers_of(
        self, cur: psycopg.Cursor[Any], domain_events: Sequence[Any]
    ) -> list[UUID | None]:
        """``reader_of`` for a batch, in order: one SELECT for the owners of the aggregates
        whose events name none (and whose creating event is not in the batch), one INSERT of
        the owners the batch names. An event that names its reader (a creating event: most of
        a busy log) needs no look-up: that SELECT and its rows were the relay's largest cost."""
        named = [self.rules.named_by(event) for event in domain_events]
        known: dict[UUID, UUID] = {}
        for event, owner in zip(domain_events, named, strict=True):
            if owner is not None:
                known.setdefault(event.originator_id, owner)  # the first owner stays
        named_now = dict(known)
        unknown = list(
            {e.originator_id for e, o in zip(domain_events, named, strict=True) if o is None}
            - known.keys()
        )
        if unknown:
            found = cur.execute(
                sql.SQL(
                    "SELECT aggregate_id, owner_id FROM {} WHERE aggregate_id = ANY(%s)"
                ).format(self._t),
                (unknown,),
            ).fetchall()
            known.update(found)
        if named_now:
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT * FROM unnest(%s::uuid[], %s::uuid[])"
                    " ON CONFLICT DO NOTHING"
                ).format(self._t),
                (list(named_now), list(named_now.values())),
            )
        return [
            owner if owner is not None else known.get(event.originator_id)
            for event, owner in zip(domain_events, named, strict=True)
        ]
