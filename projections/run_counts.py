"""How many runs each owner has per flow, trigger and status, in all and per UTC day and hour of
creation: the runs list's exact ``total`` as a sum over a few rows instead of a count over every
matching run (flat from 1k to 100k runs, with or without a time range).

A trigger on the runs table keeps ``<table>_counts`` (every change of a run's status, whichever
handler makes it): one row per (owner, unit, bucket, flow, trigger, status), ``unit`` being
``all`` (bucket 0), ``day`` (UTC days since the epoch) or ``hour`` (hours since the epoch).
A time range ``[since, until)`` is cut into whole days, whole hours at the edges of those days,
and the parts of an hour at its two ends: the total is the sum of the day and hour rows plus a
count of the runs in those two part-hours (an index range over at most an hour of the owner's
runs at each end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

COUNTS = (
    "owner_id uuid NOT NULL, unit text NOT NULL, bucket bigint NOT NULL, flow_id uuid NOT NULL,"
    " trigger text NOT NULL, status text NOT NULL, n bigint NOT NULL,"
    " PRIMARY KEY (owner_id, unit, bucket, flow_id, trigger, status)"
)
_KEY = (
    "owner_id = {r}.owner_id AND flow_id = {r}.flow_id AND trigger = {r}.trigger"
    " AND status = {r}.status"
)
_FUNCTION = """CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  e numeric;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status IS NOT DISTINCT FROM NEW.status THEN RETURN NULL; END IF;
    e := extract(epoch FROM OLD.created_at);
    UPDATE {counts} SET n = n - 1 WHERE %(old)s AND (unit, bucket) IN
      (('all', 0), ('day', floor(e / 86400)::bigint), ('hour', floor(e / 3600)::bigint));
  END IF;
  e := extract(epoch FROM NEW.created_at);
  INSERT INTO {counts} AS c (owner_id, unit, bucket, flow_id, trigger, status, n)
    SELECT NEW.owner_id, u.unit, u.bucket, NEW.flow_id, NEW.trigger, NEW.status, 1 FROM (VALUES
      ('all', 0::bigint), ('day', floor(e / 86400)::bigint), ('hour', floor(e / 3600)::bigint))
      AS u (unit, bucket)
    ON CONFLICT (owner_id, unit, bucket, flow_id, trigger, status) DO UPDATE SET n = c.n + 1;
  RETURN NULL;
END $$""".replace("%(old)s", _KEY.format(r="OLD"))
_TRIGGER = (
    "CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT OR UPDATE OF status ON {runs}"
    " FOR EACH ROW EXECUTE FUNCTION {function}()"
)
_FILL = (
    "INSERT INTO {counts} SELECT owner_id, u.unit, u.bucket, flow_id, trigger, status, count(*)"
    " FROM {runs}, LATERAL (VALUES ('all', 0::bigint),"
    " ('day', floor(extract(epoch FROM created_at) / 86400)::bigint),"
    " ('hour', floor(extract(epoch FROM created_at) / 3600)::bigint)) AS u (unit, bucket)"
    " GROUP BY 1, 2, 3, 4, 5, 6"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
UNBOUNDED = 2**62  # a bucket number past every real one


def create_counts(cur: psycopg.Cursor[Any], table: str) -> None:
    """The counts table and its trigger, when missing or of an older shape (one row per status
    without time buckets: dropped and made again); filled from the runs already projected, in
    the transaction that creates it (under the schema lock the runner's setup holds)."""
    names = {
        "function": sql.Identifier(f"{table}_count_status"),
        "trigger": sql.Identifier(f"{table}_count_status"),
        "counts": sql.Identifier(f"{table}_counts"),
        "runs": sql.Identifier(table),
    }
    found = cur.execute(
        "SELECT to_regclass(%s), EXISTS (SELECT 1 FROM information_schema.columns WHERE"
        " table_schema = current_schema() AND table_name = %s AND column_name = 'bucket')",
        (f"{table}_counts", f"{table}_counts"),
    ).fetchone()
    if found is not None and found[0] is not None and found[1]:
        return
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {counts}").format(**names))
    cur.execute(sql.SQL("CREATE TABLE {} (" + COUNTS + ")").format(names["counts"]))
    cur.execute(sql.SQL(_FUNCTION).format(**names))
    cur.execute(sql.SQL(_TRIGGER).format(**names))
    cur.execute(sql.SQL(_FILL).format(**names))


def drop_counts(cur: psycopg.Cursor[Any], table: str) -> None:
    """Drop the counts table and its function (the trigger goes with the runs table)."""
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{table}_counts")))
    function = sql.Identifier(f"{table}_count_status")
    cur.execute(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(function))


def _hours(at: datetime) -> tuple[int, int]:
    """The hour ``at`` falls in, and the first hour starting at or after it."""
    floor = (at - EPOCH) // HOUR
    return floor, floor + (EPOCH + floor * HOUR < at)


@dataclass(frozen=True)
class Range:
    """A time range ``[since, until)`` cut into what is summed and what is counted."""

    days: tuple[int, int]  # whole days [first, end)
    hours: list[tuple[int, int]]  # whole hours [first, end) outside those days
    instants: list[tuple[datetime, datetime]]  # part-hours whose runs are counted

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None) -> Range:
        """The cut of ``[since, until)``; an open end is unbounded."""
        first = _hours(since)[1] if since is not None else -UNBOUNDED
        end = _hours(until)[0] if until is not None else UNBOUNDED
        if since is not None and until is not None and first >= end:
            return cls((0, 0), [], [(since, until)] if since < until else [])
        instants = []
        if since is not None and EPOCH + first * HOUR > since:
            instants.append((since, EPOCH + first * HOUR))
        if until is not None and EPOCH + end * HOUR < until:
            instants.append((EPOCH + end * HOUR, until))
        day_first = -(-first // 24) if since is not None else -UNBOUNDED
        day_end = end // 24 if until is not None else UNBOUNDED
        if day_first >= day_end:
            return cls((0, 0), [(first, end)], instants)
        hours = [(first, day_first * 24)] if since is not None else []
        hours += [(day_end * 24, end)] if until is not None else []
        return cls((day_first, day_end), [h for h in hours if h[0] < h[1]], instants)


def total_query(
    counts: sql.Identifier,
    runs: sql.Identifier,
    condition: sql.Composable,
    params: list[Any],
    since: datetime | None,
    until: datetime | None,
) -> tuple[sql.Composable, list[Any]]:
    """One statement answering how many of the owner's runs match ``condition`` (owner, flow,
    status, trigger; ``params`` its values) created in ``[since, until)``; its parameters."""
    if since is None and until is None:
        text = "SELECT coalesce(sum(n), 0) FROM {} WHERE unit = 'all' AND bucket = 0 AND {}"
        return sql.SQL(text).format(counts, condition), list(params)
    cut = Range.of(since, until)
    parts: list[sql.Composable] = []
    values: list[Any] = []
    buckets = [("day", *cut.days)] if cut.days[0] < cut.days[1] else []
    for unit, first, end in buckets + [("hour", *h) for h in cut.hours]:
        parts.append(
            sql.SQL(
                "(SELECT coalesce(sum(n), 0) FROM {} WHERE unit = %s AND bucket >= %s"
                " AND bucket < %s AND {})"
            ).format(counts, condition)
        )
        values += [unit, first, end, *params]
    for start, stop in cut.instants:
        parts.append(
            sql.SQL(
                "(SELECT count(*) FROM {} WHERE created_at >= %s AND created_at < %s AND {})"
            ).format(runs, condition)
        )
        values += [start, stop, *params]
    if not parts:
        return sql.SQL("SELECT 0"), []
    return sql.Composed([sql.SQL("SELECT "), sql.SQL(" + ").join(parts)]), values
