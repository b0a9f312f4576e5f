"""Tables shared by every projection: where each one has got to in the log."""

from collections.abc import Sequence
from dataclasses import dataclass
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


_UPGRADED: set[str] = set()  # databases whose tracking table this process has brought up to date
STUCK_COLUMNS = (
    ("stuck_position", "bigint"),
    ("stuck_type", "text"),
    ("stuck_error", "text"),
    ("stuck_at", "timestamptz"),
)


SCHEMA_LOCK = 0x4C46_5343_4845_4D41  # "LFSCHEMA": one process at a time changes the schema


def ensure_tracking_table(cur: psycopg.Cursor[Any]) -> None:
    """Create the tracking table (one row per follower: its position in the log, and the event
    it cannot apply, if any) and the table of events operators told followers to skip.

    Call it first in the transaction that sets a follower up: it takes the schema lock until
    that transaction ends, so two processes starting at once cannot deadlock on each other's
    ``ALTER TABLE`` (the lock is re-entrant for a session that already holds it).
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
    stuck = ", ".join(f"{name} {kind}" for name, kind in STUCK_COLUMNS)
    cur.execute(
        "CREATE TABLE IF NOT EXISTS ledgerflow_tracking ("
        " name text PRIMARY KEY,"
        " position bigint NOT NULL DEFAULT 0,"
        f" updated_at timestamptz NOT NULL DEFAULT now(), {stuck})"
    )
    database = cur.connection.info.dsn
    if database in _UPGRADED:
        return
    present = {
        row[0]
        for row in cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'ledgerflow_tracking' AND table_schema = current_schema()"
        ).fetchall()
    }
    for name, kind in STUCK_COLUMNS:  # a database made before these columns existed
        if name not in present:
            cur.execute(f"ALTER TABLE ledgerflow_tracking ADD COLUMN IF NOT EXISTS {name} {kind}")
    cur.execute(
        "CREATE TABLE IF NOT EXISTS ledgerflow_skips (name text NOT NULL,"
        " position bigint NOT NULL, reason text NOT NULL, actor text NOT NULL,"
        " at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, position))"
    )
    _UPGRADED.add(database)


@dataclass(frozen=True)
class Stuck:
    """An event a follower cannot apply: where it is, what it is, and the error."""

    position: int
    type: str
    error: str


def record_stuck(cur: psycopg.Cursor[Any], name: str, stuck: Stuck | None) -> None:
    """Remember (or clear, with None) the event follower ``name`` cannot apply."""
    cur.execute(
        "UPDATE ledgerflow_tracking SET stuck_position = %s, stuck_type = %s, stuck_error = %s,"
        " stuck_at = CASE WHEN %s::bigint IS NULL THEN NULL ELSE now() END WHERE name = %s",
        (
            stuck and stuck.position,
            stuck and stuck.type,
            stuck and stuck.error[:2000],
            stuck and stuck.position,
            name,
        ),
    )


def skipped(cur: psycopg.Cursor[Any], name: str, after: int) -> set[int]:
    """The positions after ``after`` that an operator told follower ``name`` to skip."""
    rows = cur.execute(
        "SELECT position FROM ledgerflow_skips WHERE name = %s AND position > %s", (name, after)
    ).fetchall()
    return {int(row[0]) for row in rows}


def stuck_followers(conn: psycopg.Connection[Any]) -> dict[str, Stuck]:
    """Every follower that cannot apply an event, with that event (empty when all is well)."""
    exists = conn.execute("SELECT to_regclass('ledgerflow_tracking') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(
        "SELECT name, stuck_position, stuck_type, stuck_error FROM ledgerflow_tracking"
        " WHERE stuck_position IS NOT NULL"
    ).fetchall()
    return {name: Stuck(int(pos), kind or "", error or "") for name, pos, kind, error in rows}


def tracked_positions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """The position of every projection (empty before any runner has started)."""
    exists = conn.execute("SELECT to_regclass('ledgerflow_tracking') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT name, position FROM ledgerflow_tracking").fetchall()
    return {name: int(position) for name, position in rows}
