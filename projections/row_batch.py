"""Applying a batch of events to a read-model table in a few statements instead of one per event.

A projection turns each event into a change of one row: insert the whole row, set some of its
columns, or delete it. ``write_changes`` folds a batch's changes per row in memory, in order, and
then writes what is left with one ``DELETE … WHERE key = ANY(…)``, one ``executemany`` UPDATE per
set of columns and one COPY per set of inserted columns.

The table ends up exactly as if the changes had been applied one by one, in order, for every batch
that the one-by-one path accepts (the folding rules below). Where that path fails (inserting a row
that exists), the batch may fail too or may not; events of one aggregate never do that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Insert:
    """Insert the row ``values`` (keyed by ``key``)."""

    key: Any
    values: dict[str, Any]


@dataclass(frozen=True)
class Set:
    """Set ``values`` on the row of ``key``, if there is one."""

    key: Any
    values: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    """Delete the row of ``key``, if there is one."""

    key: Any


Change = Insert | Set | Delete


def stamped(event: Any, position: int, values: dict[str, Any]) -> Set:
    """Set ``values`` on the event's aggregate's row with its time, version and position."""
    stamp = {"updated_at": event.timestamp, "version": event.originator_version}
    return Set(event.originator_id, {**values, **stamp, "position": position})


@dataclass
class _Folded:
    """What a batch does to one row. ``row`` is the whole row when the batch inserted it (and
    ``gone`` then False); otherwise ``sets`` are the columns to set on a row that may exist."""

    delete_first: bool = False
    gone: bool = False
    row: dict[str, Any] | None = None
    sets: dict[str, Any] = field(default_factory=dict)

    def add(self, change: Change, duplicates: list[dict[str, Any]]) -> None:
        if isinstance(change, Set):
            target = self.row if self.row is not None else None if self.gone else self.sets
            if target is not None:
                target.update(change.values)
        elif isinstance(change, Delete):
            # Deleting a row the batch inserted cancels the insert; a row that was there before
            # the batch needs a DELETE.
            self.delete_first = self.delete_first or (self.row is None and not self.gone)
            self.gone, self.row, self.sets = True, None, {}
        else:
            if self.row is not None:
                duplicates.append(self.row)  # written too, so the key conflict still fails
            # Sets before an insert either hit no row (no-op) or the insert fails: drop them.
            self.gone, self.row, self.sets = False, dict(change.values), {}


def write_changes(
    cur: psycopg.Cursor[Any], table: sql.Identifier, key: str, changes: Iterable[Change | None]
) -> None:
    """Fold ``changes`` (in event order; None is skipped) per row and write the result."""
    folded: dict[Any, _Folded] = {}
    duplicates: list[dict[str, Any]] = []
    for change in changes:
        if change is not None:
            row = folded.get(change.key)
            if row is None:
                row = folded[change.key] = _Folded()
            row.add(change, duplicates)
    deleted = [k for k, f in folded.items() if f.delete_first]
    if deleted:
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(table, sql.Identifier(key)),
            (deleted,),
        )
    _update(cur, table, key, {k: f.sets for k, f in folded.items() if f.row is None and f.sets})
    _insert(cur, table, [f.row for f in folded.values() if f.row is not None] + duplicates)


def _update(
    cur: psycopg.Cursor[Any], table: sql.Identifier, key: str, sets: dict[Any, dict[str, Any]]
) -> None:
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row_key, values in sets.items():
        by_columns.setdefault(tuple(values), []).append((*values.values(), row_key))
    for columns, params in by_columns.items():
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns
        )
        statement = sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
            table, assignments, sql.Identifier(key)
        )
        cur.executemany(statement, params)


def _insert(cur: psycopg.Cursor[Any], table: sql.Identifier, rows: list[dict[str, Any]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    for columns, group in by_columns.items():
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table, sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cur.copy(statement) as copy:
            for row in group:
                copy.write_row(tuple(row.values()))
