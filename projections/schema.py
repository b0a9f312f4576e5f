"""Tables shared by every projection: where each one has got to in the log."""

from collections.abc import Sequence
from typing import Any

import psycopg

PROJECTION_CHANNEL = "ledgerflow_projection"


def progress_message(names: list[str], position: int, changed: Sequence[str] = ()) -> str:
    """The payload NOTIFYed on ``PROJECTION_CHANNEL``: ``name[,name…]:position``, then
    ``!name[,name…]`` for the read models whose rows the batch changed (the others only moved)."""
    moved = f"{','.join(names)}:{position}"
    return f"{moved}!{','.join(changed)}" if changed else moved


def parse_progress(payload: str) -> dict[str, int]:
    """The projections and the position a ``progress_message`` says they have committed."""
    names, _, position = payload.partition("!")[0].rpartition(":")
    return dict.fromkeys(names.split(","), int(position))


def parse_changed(payload: str) -> set[str]:
    """The read models a ``progress_message`` says have changed rows."""
    changed = payload.partition("!")[2]
    return set(changed.split(",")) if changed else set()


def ensure_tracking_table(cur: psycopg.Cursor[Any]) -> None:
    """Create the tracking table: one row per projection, its position in the log."""
    cur.execute(
        "CREATE TABLE IF NOT EXISTS ledgerflow_tracking ("
        " name text PRIMARY KEY,"
        " position bigint NOT NULL DEFAULT 0,"
        " updated_at timestamptz NOT NULL DEFAULT now())"
    )


def tracked_positions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """The position of every projection (empty before any runner has started)."""
    exists = conn.execute("SELECT to_regclass('ledgerflow_tracking') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT name, position FROM ledgerflow_tracking").fetchall()
    return {name: int(position) for name, position in rows}
