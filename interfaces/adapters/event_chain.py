"""A SHA-256 hash chain over the event log, sealed right after commit, and its verification.

The sealer follows the log like a projection (same runner: batches, tracking row, advisory lock)
and writes ``ledgerflow_event_chain(position, hash)`` where each hash is SHA-256 over the previous
hash and the stored record (position, originator_id, originator_version, topic, state). ``verify``
recomputes the chain from the events table and reports the first position that does not match.
The write path (``event_store.py``) is untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import sql

from projections.log_reader import LogReader
from projections.runner import ProjectionRunner
from projections.schema import PROJECTION_CHANNEL, progress_message

CHAIN = "event_chain"
CHAIN_TABLE = "ledgerflow_event_chain"
GENESIS = bytes(32)


def link(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The hash of one stored event chained to the hash before it (length-prefixed fields)."""
    digest = hashlib.sha256(previous)
    digest.update(position.to_bytes(8, "big"))
    digest.update(originator_id.bytes)
    digest.update(version.to_bytes(8, "big", signed=True))
    encoded = topic.encode()
    digest.update(len(encoded).to_bytes(4, "big") + encoded)
    digest.update(len(state).to_bytes(8, "big") + bytes(state))
    return digest.digest()


class ChainTable:
    """The chain's table, shaped as a projection so the runner can own it."""

    name = CHAIN
    topics: tuple[str, ...] = ()

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the chain table."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, hash bytea NOT NULL)"
            ).format(sql.Identifier(CHAIN_TABLE))
        )

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Not used: the sealer hashes stored records, not decoded events."""


class ChainSealer(ProjectionRunner):
    """Seals every committed event into the chain, batch by batch, exactly once."""

    def __init__(
        self,
        conninfo: str,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        batch_size: int = 2000,
        reader: LogReader | None = None,
    ) -> None:
        super().__init__(
            conninfo, ChainTable(), recorder, mapper, events_channel, batch_size, reader=reader
        )

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Hash the next batch of events and advance the tracking position in one transaction."""
        with conn.transaction(), conn.cursor() as cur:
            row = cur.execute(
                "SELECT position FROM ledgerflow_tracking WHERE name = %s FOR UPDATE", (CHAIN,)
            ).fetchone()
            position = row[0] if row else 0
            logged = self.reader.read_after(conn, position, self._batch_size)
            if not logged:
                self.position = self.head = position
                return 0
            previous = last_hash(cur, position)
            sealed = []
            for e in logged:
                previous = link(
                    previous, e.position, e.originator_id, e.originator_version, e.topic, e.state
                )
                sealed.append((e.position, previous))
            copy = sql.SQL("COPY {} (position, hash) FROM STDIN").format(
                sql.Identifier(CHAIN_TABLE)
            )
            with cur.copy(copy) as out:
                for sealed_row in sealed:
                    out.write_row(sealed_row)
            # Commit order equals id order (the writers' table lock): an id below the last one
            # read that is missing was deleted, and verify reports it.
            new_position = logged[-1].position
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now() WHERE name = %s",
                (new_position, CHAIN),
            )
            cur.execute(
                "SELECT pg_notify(%s, %s)",
                (PROJECTION_CHANNEL, progress_message([CHAIN], new_position)),
            )
        self.position = self.head = new_position
        return int(new_position - position)


def last_hash(cur: psycopg.Cursor[Any], position: int) -> bytes:
    """The chain's hash at ``position`` (the genesis value before the first event)."""
    if position == 0:
        return GENESIS
    row = cur.execute(
        sql.SQL("SELECT hash FROM {} WHERE position <= %s ORDER BY position DESC LIMIT 1").format(
            sql.Identifier(CHAIN_TABLE)
        ),
        (position,),
    ).fetchone()
    return bytes(row[0]) if row else GENESIS


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: how far it checked and the first position that is wrong."""

    checked: int
    sealed_head: int
    head: int
    first_bad: int | None
    reason: str | None
    head_hash: str

    @property
    def ok(self) -> bool:
        """True when every sealed event matches the chain."""
        return self.first_bad is None

    @property
    def unsealed(self) -> int:
        """Events recorded after the last sealed position (not covered yet)."""
        return max(0, self.head - self.sealed_head)


def _pairs(conn: psycopg.Connection[Any], events_table: str) -> Iterator[tuple[Any, ...]]:
    query = sql.SQL(
        "SELECT coalesce(e.notification_id, c.position), e.originator_id, e.originator_version,"
        " e.topic, e.state, c.hash FROM {} e FULL OUTER JOIN {} c ON c.position = e.notification_id"
        " WHERE coalesce(e.notification_id, c.position) <= %s"
        " ORDER BY coalesce(e.notification_id, c.position)"
    ).format(sql.Identifier(events_table), sql.Identifier(CHAIN_TABLE))
    sealed = sealed_position(conn)
    with conn.cursor(name="ledgerflow_verify") as cur:
        cur.itersize = 5000
        cur.execute(query, (sealed,))
        yield from cur


def sealed_position(conn: psycopg.Connection[Any]) -> int:
    """The last position the sealer has covered."""
    row = conn.execute(
        "SELECT position FROM ledgerflow_tracking WHERE name = %s", (CHAIN,)
    ).fetchone()
    return int(row[0]) if row else 0


def verify(conn: psycopg.Connection[Any], events_table: str) -> Verdict:
    """Recompute the chain from the events table and compare it with the sealed one."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sealed = sealed_position(conn)
        head_row = conn.execute(
            sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
                sql.Identifier(events_table)
            )
        ).fetchone()
        head = int(head_row[0]) if head_row else 0
        previous, checked = GENESIS, 0
        for position, originator_id, version, topic, state, stored in _pairs(conn, events_table):
            problem = None
            if originator_id is None:
                problem = "event missing (deleted)"
            elif stored is None:
                problem = "event not in the chain (inserted or chain row deleted)"
            else:
                previous = link(previous, position, originator_id, version, topic, state)
                if previous != bytes(stored):
                    problem = "hash mismatch (event changed, moved or chain altered)"
            if problem is not None:
                return Verdict(checked, sealed, head, position, problem, previous.hex())
            checked += 1
        return Verdict(checked, sealed, head, None, None, previous.hex())
