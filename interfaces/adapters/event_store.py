"""The PostgreSQL recorder Ledgerflow uses: the library's table lock, in one server round trip.

The library's ``PostgresApplicationRecorder.insert_events`` sends ``SET LOCAL lock_timeout``,
``LOCK TABLE … IN EXCLUSIVE MODE``, ``NOTIFY`` and the insert through a psycopg pipeline inside
a transaction. Two problems were measured here:

- the events table stays locked across client round trips (BEGIN … COMMIT), which is what caps
  the library near 1k saves/s, and in a threaded server every round trip also waits for the GIL;
- a pipeline whose insert carries more than roughly 300 KB of event state never completes
  (psycopg 3.3.9, both implementations): the client waits for the sync while the server waits for
  more input, and every other writer waits on the lock.

This recorder does the same four things inside ONE PL/pgSQL function called in autocommit mode:
one round trip, the lock held only while the server inserts and commits. The lock still makes
commit order equal notification-id order, so readers following the log never skip an event.

Creating the schema is idempotent and safe when several processes start at once (the API and the
worker of a deployment): one transaction under an advisory lock, and the composite type, which
PostgreSQL cannot create ``IF NOT EXISTS``, created in a block that catches the duplicate, so
the server does not log ``ERROR: type "stored_event_uuid" already exists`` at every start.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Connection, InterfaceError, OperationalError
from psycopg.sql import SQL, Composed, Identifier

from projections.schema import SCHEMA_LOCK

# The advisory lock key (outside the int4 range of the runners' hashtext keys) held while any
# process creates or upgrades the schema.


@contextmanager
def schema_lock(conn: Connection[Any]) -> Iterator[None]:
    """Hold the schema lock on ``conn`` (autocommit) for the duration of the block."""
    conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class LedgerflowRecorder(PostgresApplicationRecorder):
    """Inserts events under the events table lock with a single statement."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        function = Identifier(f"lf_insert_event_columns_locked_{self.events_table_name}")
        id_type = SQL(self.datastore.originator_id_type)
        # The events travel as four arrays, one per column: psycopg dumps a bytea[] or a uuid[]
        # in binary at C speed, while an array of the composite type went through its Python
        # text dumper, quoting and escaping every state (half of the group commit's time).
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(ids {id_type}[], versions bigint[],"
            " topics text[], states bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN"
            "  SET LOCAL lock_timeout = '{lock_timeout}s';"
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            "  NOTIFY {channel};"
            "  RETURN QUERY"
            "  INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            "  SELECT * FROM unnest(ids, versions, topics, states)"
            "  RETURNING notification_id;"
            " END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            id_type=id_type,
            lock_timeout=self.datastore.lock_timeout,
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
        )
        self._insert_locked = SQL(
            "SELECT * FROM {schema}.{function}(%s::{id_type}[], %s::bigint[], %s::text[],"
            " %s::bytea[])"
        ).format(schema=schema, function=function, id_type=id_type)

    def create_table(self) -> None:
        """Create the events table, its type and function once, whoever starts at the same time."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    curs.execute(_unless_it_exists(statement), prepare=False)
            self._create_table(curs)
        self.datastore.register_type_adapters()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Lock, notify, insert and commit in one statement; return the notification ids."""
        if not stored_events:
            return []
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._insert_locked, columns, prepare=True)
            return [next(iter(row.values())) for row in curs.fetchall()]

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, in one query, in order of aggregate and version
        (``Ledger.load_many``: a reactor's batch reads its aggregates in one round trip)."""
        query = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        # In binary: the states come as they are stored, not hex-escaped to be unescaped.
        with self.datastore.get_connection() as conn, conn.cursor(binary=True) as curs:
            curs.execute(query, (list(originator_ids),), prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def positions_of(self, originator_id: UUID) -> dict[int, int]:
        """The position (notification id) of each version of one aggregate."""
        query = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table}"
            " WHERE originator_id = %s ORDER BY originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (originator_id,))
            return {int(r["originator_version"]): int(r["notification_id"]) for r in curs}


def _unless_it_exists(create: Composed) -> Composed:
    """``create`` in a PL/pgSQL block that ignores a duplicate (an error caught there is not
    written to the server's log)."""
    block = SQL("DO $LF$ BEGIN {create}; EXCEPTION WHEN duplicate_object THEN NULL; END $LF$")
    return block.format(create=create)


TOPIC = f"{LedgerflowRecorder.__module__}:{LedgerflowRecorder.__qualname__}"
