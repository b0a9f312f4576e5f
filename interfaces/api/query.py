"""Bounds of query parameters, shared by every route that takes them.

Every integer a client sends is bounded in the schema: PostgreSQL's ``bigint`` ends at 2**63 - 1,
and an unbounded ``?offset=`` or ``?page=`` once reached it and answered 500 (issue 11).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from domain.event_pattern import event_type_patterns

POSITION_MAX = 2**63 - 1  # the largest log position (and version) PostgreSQL can hold
OFFSET_MAX = 10_000_000  # offset pagination past ten million rows is a mistake, not a need
PAGE_MAX = 100_000  # with per_page <= 200: an offset of at most 20 million


def in_utc(value: datetime) -> datetime:
    """A time PostgreSQL can store: in UTC (``timestamptz`` refuses offsets beyond ±15:59, which
    Python accepts up to ±23:59, and once stopped the tasks read model); naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 0 or 10000 once in UTC
        raise ValueError("must be a time between the years 1 and 9999 in UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(in_utc)]


def type_patterns(types: list[str] | None) -> list[str]:
    """``types`` given repeated or comma-separated, as a list of checked patterns (422 if bad:
    too long, too many, or characters other than letters, digits, ``._-:`` and ``*``)."""
    given = [p for value in types or [] for p in value.split(",") if p.strip()]
    return event_type_patterns(given, "types")
