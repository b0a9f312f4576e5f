"""Export the stored event log as JSON lines, and import such a file into an empty store.

Each line is one stored record exactly as it is in the table (``state`` as UTF-8 text, or
``state_b64`` when it is not UTF-8), so an import reproduces the same rows at the same positions:
the same read models and the same hash chain.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql


class StoreNotEmpty(Exception):
    """Importing is only allowed into an event store that has no events."""


def export_records(
    conn: psycopg.Connection[Any], events_table: str, after: int = 0
) -> Iterator[dict[str, Any]]:
    """Every stored record after position ``after``, in order, as a JSON-ready dict."""
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM {} WHERE notification_id > %s ORDER BY notification_id"
    ).format(sql.Identifier(events_table))
    with conn.transaction(), conn.cursor(name="ledgerflow_export") as cur:
        cur.itersize = 5000
        cur.execute(query, (after,))
        for position, originator_id, version, topic, state in cur:
            yield {
                "position": position,
                "originator_id": str(originator_id),
                "originator_version": version,
                "topic": topic,
                **_state_field(bytes(state)),
            }


def _state_field(state: bytes) -> dict[str, str]:
    try:
        return {"state": state.decode()}
    except UnicodeDecodeError:
        return {"state_b64": base64.b64encode(state).decode()}


def _row(record: dict[str, Any]) -> tuple[int, UUID, int, str, bytes]:
    state = record["state"].encode() if "state" in record else base64.b64decode(record["state_b64"])
    return (
        int(record["position"]),
        UUID(record["originator_id"]),
        int(record["originator_version"]),
        str(record["topic"]),
        state,
    )


def import_lines(
    conn: psycopg.Connection[Any],
    events_table: str,
    lines: Iterable[str],
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Insert exported records at their own positions into an empty store; return how many."""
    table = sql.Identifier(events_table)
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
        if cur.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(table)).fetchone():
            raise StoreNotEmpty("the event store already has events; import needs an empty one")
        copy = sql.SQL(
            "COPY {} (notification_id, originator_id, originator_version, topic, state) FROM STDIN"
        ).format(table)
        with cur.copy(copy) as rows:
            for line in lines:
                if line.strip():
                    rows.write_row(_row(json.loads(line)))
                    count += 1
                    if count % 10_000 == 0:
                        progress(count)
        cur.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'),"
                " greatest((SELECT max(notification_id) FROM {}), 1))"
            ).format(table),
            (events_table,),
        )
    progress(count)
    return count
