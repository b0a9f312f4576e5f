"""The read models of one process, kept current together from one read of the log per batch.

Every event is read and decoded once (by the process's ``LogReader``) and applied to each member
that has not seen it, in ONE transaction that also advances every member's own tracking row: the
same exactly-once guarantee as a runner per projection, at a fraction of the round trips. Each
member keeps its own advisory lock, so another process can hold some members while this one holds
others. A member whose ``apply`` fails is set aside (with its error in its status) and retried
after a back-off; the other members carry on without it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg

from projections.follower import CONNECTION_ERRORS, LogFollower
from projections.log_reader import LogReader
from projections.runner import ADVANCE, ProjectionRunner, apply_events, follows
from projections.schema import PROJECTION_CHANNEL, progress_message

log = logging.getLogger(__name__)


class ProjectionGroup(LogFollower):
    """Keeps several projections current from ONE read of the log per batch (see module)."""

    name = "projection-group"

    def __init__(
        self,
        conninfo: str,
        members: list[ProjectionRunner],
        reader: LogReader,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        claim_interval: float = 5.0,
    ) -> None:
        super().__init__(conninfo, reader, batch_size, poll_interval)
        self.members = members
        self._claim_interval = claim_interval
        self._claimed_at = 0.0
        self._set_aside: dict[str, tuple[float, float]] = {}  # name -> (until, back-off)

    def _failed(self, error: str) -> None:
        for member in self.members:
            member._failed(error)

    def _serve(self) -> None:
        for member in self.members:
            member.locked = member.active = False
        self._claimed_at = 0.0
        super()._serve()

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        # Members held by another process are claimed again now and then (it may have died).
        now = time.monotonic()
        if now - self._claimed_at >= self._claim_interval and not all(
            m.locked for m in self.members
        ):
            self._claimed_at = now
            for member in self.members:
                if not member.locked:
                    member._prepare(conn)
        return any(m.locked for m in self.members)

    def catch_up(self, conn: psycopg.Connection[Any]) -> int:
        """Claim what can be claimed and apply every event recorded so far; return how far the
        furthest-behind member moved."""
        self._claimed_at = 0.0
        self._prepare(conn)
        total = 0
        while moved := self.process_batch(conn):
            total += moved
        return total

    def _working(self) -> list[ProjectionRunner]:
        now = time.monotonic()
        return [
            m
            for m in self.members
            if m.locked and self._set_aside.get(m.projection.name, (0.0, 0.0))[0] <= now
        ]

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Apply the next batch to every member behind, in one transaction; return how far the
        furthest-behind member moved (0 when all are caught up)."""
        members = self._working()
        if not members:
            return 0
        try:
            return self._apply_together(conn, members)
        except CONNECTION_ERRORS:
            raise
        except Exception as error:
            log.warning("projection group: %s; applying members one by one", error)
            return self._apply_apart(conn, members)

    def _apply_together(
        self, conn: psycopg.Connection[Any], members: list[ProjectionRunner]
    ) -> int:
        names = [m.projection.name for m in members]
        with conn.transaction(), conn.cursor() as cur:
            positions = dict(
                cur.execute(
                    "SELECT name, position FROM ledgerflow_tracking WHERE name = ANY(%s)"
                    " FOR UPDATE",
                    (names,),
                ).fetchall()
            )
            low = min(positions.get(name, 0) for name in names)
            logged = self.reader.read_after(conn, low, self._batch_size)
            if not logged:
                for member in members:
                    member.position = member.head = positions.get(member.projection.name, 0)
                return 0
            # Commit order equals id order: every event up to the last one read has been seen.
            new_position = logged[-1].position
            behind = [m for m in members if positions.get(m.projection.name, 0) < new_position]
            changed = []
            for member in behind:
                events = follows(
                    member.projection, logged, positions.get(member.projection.name, 0)
                )
                apply_events(cur, member.projection, events)
                if events:
                    changed.append(member.projection.name)
            cur.execute(ADVANCE, (new_position, [m.projection.name for m in behind]))
            moved = progress_message([m.projection.name for m in behind], new_position, changed)
            cur.execute("SELECT pg_notify(%s, %s)", (PROJECTION_CHANNEL, moved))
        for member in behind:
            member.position = member.head = new_position
            member.last_error = None
        return int(new_position - low)

    def _apply_apart(self, conn: psycopg.Connection[Any], members: list[ProjectionRunner]) -> int:
        # Each member in its own transaction, so the faulty one is found and set aside.
        moved = 0
        for member in members:
            name = member.projection.name
            try:
                moved = max(moved, member.process_batch(conn))
                self._set_aside.pop(name, None)
            except CONNECTION_ERRORS:
                raise
            except Exception as error:
                backoff = min(self._set_aside.get(name, (0.0, 0.5))[1] * 2, 60.0)
                self._set_aside[name] = (time.monotonic() + backoff, backoff)
                member.last_error = f"{type(error).__name__}: {error}"
                log.error("projection %s: %s; retrying in %.0f s", name, error, backoff)
        return moved
