"""The triggers read model: one row per live trigger (schedules are the time-based ones) with
its next fire time and last run, the history of its outcomes, and the queries on both.

``next_fire_at`` comes from the log only: a change computes it from the event's time, an outcome
carries the one the scheduler armed. So a rebuild gives the same table.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.cron import next_fire
from domain.trigger import Trigger
from domain.trigger_outcome import TriggerOutcome
from projections.table import page_of, update_row

Handler = Callable[[psycopg.Cursor[Any], Any, int], None]
COLUMNS = (
    "trigger_id, owner_id, name, type, flow_id, config, inputs, enabled, next_fire_at,"
    " last_fired_at, last_run_id, fire_count, created_at, updated_at, version"
)
HISTORY = "at, outcome, fire_time, event_id, run_id, detail"
OUTCOMES = {
    TriggerOutcome.Fired: "started",
    TriggerOutcome.Skipped: "skipped",
    TriggerOutcome.Missed: "missed",
}


class TriggerProjection:
    """Projects trigger events into ``<table>`` and outcomes into ``<table>_history``."""

    topics = tuple(
        str(cls.TOPIC)  # type: ignore[attr-defined]
        for cls in (
            Trigger.Created,
            Trigger.Updated,
            Trigger.Enabled,
            Trigger.Disabled,
            Trigger.Deleted,
            *OUTCOMES,
        )
    )

    def __init__(self, table: str = "triggers", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)
        self._h = sql.Identifier(f"{table}_history")
        started = ", last_fired_at = %s, last_run_id = %s, fire_count = fire_count + 1"
        update = "UPDATE {} SET next_fire_at = COALESCE(%s, next_fire_at){} WHERE trigger_id = %s"
        # An outcome's statements, composed once (composing them for every outcome was a tenth
        # of the read-model group's time at 500 fires/s).
        self._statements = {
            "history": sql.SQL(
                "INSERT INTO {} (outcome_id, trigger_id, owner_id, " + HISTORY + ", position)"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (outcome_id) DO NOTHING"
            )
            .format(self._h)
            .as_string(),
            "started": sql.SQL(update).format(self._t, sql.SQL(started)).as_string(),
            "next": sql.SQL(update).format(self._t, sql.SQL("")).as_string(),
        }
        self._handlers: dict[type, Handler] = {
            Trigger.Created: self._created,
            Trigger.Updated: self._updated,
            Trigger.Enabled: lambda cur, e, p: self._changed(cur, e, p, {"enabled": True}),
            Trigger.Disabled: lambda cur, e, p: self._changed(cur, e, p, {"enabled": False}),
            Trigger.Deleted: self._deleted,
            **dict.fromkeys(OUTCOMES, self._outcome),
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """The triggers table, its history and their indexes."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (trigger_id uuid PRIMARY KEY,"
                " owner_id uuid NOT NULL, name text NOT NULL, type text NOT NULL,"
                " flow_id uuid NOT NULL, config jsonb NOT NULL, inputs jsonb NOT NULL,"
                " enabled boolean NOT NULL, next_fire_at timestamptz,"
                " last_fired_at timestamptz, last_run_id uuid, fire_count integer NOT NULL,"
                " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
                " version integer NOT NULL, position bigint NOT NULL)"
            ).format(self._t)
        )
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (outcome_id uuid PRIMARY KEY,"
                " trigger_id uuid NOT NULL, owner_id uuid NOT NULL, at timestamptz NOT NULL,"
                " outcome text NOT NULL, fire_time timestamptz, event_id uuid, run_id uuid,"
                " detail jsonb NOT NULL, position bigint NOT NULL)"
            ).format(self._h)
        )
        for name, table, cols in (
            ("owner", self._t, "owner_id, created_at DESC, trigger_id"),
            ("flow", self._t, "flow_id, created_at"),
            ("history", self._h, "trigger_id, position DESC"),
        ):
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + cols + ")").format(
                    sql.Identifier(f"{self.table}_{name}_idx"), table
                )
            )

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop both tables (a rebuild thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(self._t, self._h))

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def _created(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        values = (
            *(e.originator_id, e.owner_id, e.name, e.kind, e.flow_id),
            *(Jsonb(e.config), Jsonb(e.inputs), e.enabled),
            _next(e.kind, e.config, e.enabled, e.timestamp),
            *(None, None, 0, e.timestamp, e.timestamp, e.originator_version, position),
        )
        cur.execute(
            sql.SQL(
                "INSERT INTO {} ("  # noqa: S608
                + COLUMNS
                + ", position) VALUES ("
                + ", ".join(["%s"] * len(values))
                + ") ON CONFLICT (trigger_id) DO NOTHING"
            ).format(self._t),
            values,
        )

    def _updated(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        changes = {
            k: Jsonb(v) if k in ("config", "inputs") else v
            for k, v in e.changes.items()
            if k in ("name", "flow_id", "config", "inputs")
        }
        self._changed(cur, e, position, changes)

    def _changed(
        self, cur: psycopg.Cursor[Any], e: Any, position: int, values: dict[str, Any]
    ) -> None:
        update_row(cur, self._t, "trigger_id", e, position, values)
        row = cur.execute(
            sql.SQL("SELECT type, config, enabled FROM {} WHERE trigger_id = %s").format(self._t),
            (e.originator_id,),
        ).fetchone()
        if row is not None:
            at = _next(row[0], row[1], row[2], e.timestamp)
            cur.execute(
                sql.SQL("UPDATE {} SET next_fire_at = %s WHERE trigger_id = %s").format(self._t),
                (at, e.originator_id),
            )

    def _deleted(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE trigger_id = %s").format(self._t), (e.originator_id,)
        )

    def _outcome(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        outcome = OUTCOMES[type(e)]
        reason = getattr(e, "reason", None)
        if outcome == "skipped" and reason == "filtered":
            outcome = "filtered"
        detail = {"reason": reason} if reason else {}
        if isinstance(e, TriggerOutcome.Missed):
            detail = {"fire_times": list(e.fire_times)}
        fire_time = _instant(getattr(e, "fire_time", None))
        run_id = getattr(e, "run_id", None)
        cur.execute(
            self._statements["history"],
            (
                *(e.originator_id, e.trigger_id, e.owner_id, e.timestamp, outcome, fire_time),
                *(getattr(e, "event_id", None), run_id, Jsonb(detail), position),
            ),
        )
        cur.execute(
            self._statements["started" if outcome == "started" else "next"],
            (
                _instant(e.next_fire_at),
                *((e.timestamp, run_id) if outcome == "started" else ()),
                e.trigger_id,
            ),
        )


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _next(kind: str, config: dict[str, Any], enabled: bool, after: datetime) -> datetime | None:
    if kind != "time_based" or not enabled:
        return None
    return next_fire(config["cron"], config["timezone"], after)


@dataclass(frozen=True)
class TriggerPage:
    """One page of rows and how many there are in all."""

    rows: list[dict[str, Any]]
    total: int


class TriggerQueries:
    """The owner's queries on triggers and their history; the matcher's index and readers."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "triggers") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self._h = sql.Identifier(f"{table}_history")
        self.name = table

    def list(
        self,
        owner_id: UUID,
        kind: str | None = None,
        enabled: bool | None = None,
        flow_id: UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> TriggerPage:
        """The owner's triggers, newest first, filtered."""
        where: builtins.list[str] = ["owner_id = %s"]
        params: builtins.list[Any] = [owner_id]
        for column, value in (("type", kind), ("enabled", enabled), ("flow_id", flow_id)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        condition = " AND ".join(where)
        query = sql.SQL(
            "SELECT "  # noqa: S608
            + COLUMNS
            + ", count(*) OVER () AS total FROM {} WHERE "
            + condition
            + " ORDER BY created_at DESC, trigger_id LIMIT %s OFFSET %s"
        ).format(self._t)
        count = sql.SQL("SELECT count(*) FROM {} WHERE " + condition).format(self._t)  # noqa: S608
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, params, limit, offset)
        return TriggerPage(rows, total)

    def get(self, owner_id: UUID | None, trigger_id: UUID) -> dict[str, Any] | None:
        """One trigger of the owner (any owner's when ``owner_id`` is None), or None."""
        query = sql.SQL(
            "SELECT " + COLUMNS + " FROM {} WHERE trigger_id = %s"  # noqa: S608
            " AND (%s::uuid IS NULL OR owner_id = %s::uuid)"
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(
                query, (trigger_id, owner_id, owner_id)
            ).fetchone()
        return row

    def history(self, trigger_id: UUID, limit: int = 50, offset: int = 0) -> TriggerPage:
        """A trigger's outcomes, newest first."""
        query = sql.SQL(
            "SELECT " + HISTORY + ", count(*) OVER () AS total FROM {}"  # noqa: S608
            " WHERE trigger_id = %s ORDER BY position DESC LIMIT %s OFFSET %s"
        ).format(self._h)
        count = sql.SQL("SELECT count(*) FROM {} WHERE trigger_id = %s").format(self._h)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, [trigger_id], limit, offset)
        return TriggerPage(rows, total)

    def for_flows(
        self, owner_id: UUID, flow_ids: builtins.list[UUID]
    ) -> dict[UUID, builtins.list[dict[str, Any]]]:
        """The enabled triggers of these flows, oldest first, by flow (Behflow's processes)."""
        query = sql.SQL(
            "SELECT flow_id, type, config FROM {} WHERE owner_id = %s AND enabled"
            " AND flow_id = ANY(%s) ORDER BY created_at, trigger_id"
        ).format(self._t)
        found: dict[UUID, builtins.list[dict[str, Any]]] = {}
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            for row in cur.execute(query, (owner_id, flow_ids)):
                found.setdefault(row["flow_id"], []).append(row)
        return found

    def event_triggers(self, trigger_id: UUID | None = None) -> builtins.list[dict[str, Any]]:
        """Enabled event triggers (or the one named, if it is one): the matcher's index."""
        query = sql.SQL(
            "SELECT trigger_id, owner_id, config FROM {} WHERE type = 'event_based' AND enabled"
            " AND (%s::uuid IS NULL OR trigger_id = %s::uuid)"
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: builtins.list[dict[str, Any]] = cur.execute(
                query, (trigger_id, trigger_id)
            ).fetchall()
        return rows

    def readers_of(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        """Who may read the events of these aggregates (the event feed's owners table); an
        aggregate nobody owns is left out."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT aggregate_id, owner_id FROM event_feed_owners WHERE aggregate_id = ANY(%s)",
                (list(aggregate_ids),),
            ).fetchall()
        return dict(rows)
