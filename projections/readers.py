"""Who may read an event: the rule shared by the event feed and the live relay.

Today a task's (and a webhook's) events are readable by its owner, and a user's, a username
claim's and the admin seat's events by that user. Only creating events name the owner; for the
later events of an aggregate the owner is remembered in an owners table (written in the caller's
transaction, so it is exactly once too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from domain.task import Task
from domain.user import AdminSeat, User, Username
from domain.webhook import Webhook


def owner_named_by(domain_event: Any) -> UUID | None:
    """The reader a creating event names itself (None for later events)."""
    if isinstance(domain_event, (Task.Created, Webhook.Created)):
        return UUID(str(domain_event.owner_id))
    if isinstance(domain_event, User.Created):
        return UUID(str(domain_event.originator_id))
    if isinstance(domain_event, (Username.Created, AdminSeat.Created)):
        return UUID(str(domain_event.user_id))
    return None


class Owners:
    """The owner of every aggregate seen so far, in table ``<table>``."""

    def __init__(self, table: str) -> None:
        self._t = sql.Identifier(table)

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
        named = owner_named_by(domain_event)
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
        """``reader_of`` for a batch, in order: one SELECT for the owners already known and one
        ``executemany`` for the owners the batch names."""
        ids = list({e.originator_id for e in domain_events})
        known: dict[UUID, UUID] = dict(
            cur.execute(
                sql.SQL(
                    "SELECT aggregate_id, owner_id FROM {} WHERE aggregate_id = ANY(%s)"
                ).format(self._t),
                (ids,),
            ).fetchall()
        )
        named_now: list[tuple[UUID, UUID]] = []
        readers: list[UUID | None] = []
        for event in domain_events:
            named = owner_named_by(event)
            if named is not None and event.originator_id not in known:
                known[event.originator_id] = named  # the first owner stays (ON CONFLICT DO NOTHING)
                named_now.append((event.originator_id, named))
            readers.append(named if named is not None else known.get(event.originator_id))
        if named_now:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(self._t),
                named_now,
            )
        return readers
