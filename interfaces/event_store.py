"""The PostgreSQL recorder Ledgerflow uses: the library's, without psycopg pipeline mode.

The library's ``PostgresApplicationRecorder.insert_events`` sends the table lock, the NOTIFY
and the insert in one psycopg pipeline. Measured here (psycopg 3.3.9, both the C and the Python
implementations): a pipeline whose insert carries more than roughly 300 KB of event state never
completes: the client waits for the sync while the server waits for more input, and the
events table stays locked for every other writer. Group commit makes such batches normal, so
this recorder runs the same statements in an ordinary transaction instead: three round trips
per batch rather than one, paid once per group of commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import InterfaceError, OperationalError


class LedgerflowRecorder(PostgresApplicationRecorder):
    """Inserts events under the library's table lock, in a plain (non-pipelined) transaction."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Lock, notify, insert and return the notification ids, all in one transaction."""
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)


TOPIC = f"{LedgerflowRecorder.__module__}:{LedgerflowRecorder.__qualname__}"
