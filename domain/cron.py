"""Cron schedules in an IANA time zone: when a schedule fires next, DST included.

A cron expression (5 fields, croniter) names wall-clock times in its zone. The next fire time is
found by walking the wall clock, never the UTC clock, and each wall time is turned into an
instant once:

- a wall time that does not exist (the hour skipped when the clocks spring forward) fires at the
  instant that wall time would have had before the change: ``02:30`` on a spring-forward day in
  New York fires once, at 03:30 EDT;
- a wall time that happens twice (the hour repeated when the clocks fall back) fires at its first
  occurrence only: ``02:30`` on a fall-back day fires once.

Instants are returned in UTC and are strictly increasing, so two wall times that land on one
instant fire once.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from domain.error import InvalidValue

CRON_MAX = 200
MISSED_MAX = 1000  # fire times one catch-up looks at (a minute cron down for 16 hours)


class InvalidCron(InvalidValue):
    """A cron expression croniter cannot read, or not of 5 fields."""

    code = "INVALID_CRON"


class UnknownTimezone(InvalidValue):
    """A time zone name that is not in the IANA database."""

    code = "UNKNOWN_TIMEZONE"


def cron_expression(value: object) -> str:
    """A valid 5-field cron expression (``0 9 * * *``), whitespace normalised."""
    text = " ".join(str(value or "").split())
    if not isinstance(value, str) or len(text) > CRON_MAX or len(text.split(" ")) != 5:
        raise InvalidCron("cron", "must be a cron expression of 5 fields, e.g. '0 9 * * *'")
    if not _valid(text):
        raise InvalidCron("cron", f"{text!r} is not a valid cron expression")
    return text


def timezone_name(value: object) -> str:
    """An IANA time zone name (``Europe/Paris``, ``UTC``)."""
    if not isinstance(value, str) or not value or len(value) > 64 or value.startswith("/"):
        raise UnknownTimezone("timezone", "must be an IANA time zone name, e.g. 'Europe/Paris'")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimezone("timezone", f"{value!r} is not an IANA time zone") from None
    return value


_valid = lru_cache(maxsize=4096)(croniter.is_valid)  # 11,000 schedules defined: ~30 parses


@lru_cache(maxsize=4096)
def _parsed(cron: str) -> croniter:
    """The expression parsed once: parsing costs ~20 times what a copy set to a start does
    (a scheduler firing 10,000 schedules an hour walks each one at every fire)."""
    return croniter(cron, datetime(2000, 1, 1))


def _walker(cron: str, wall: datetime) -> croniter:
    """A walker of ``cron`` from the wall time ``wall`` (a copy of the parsed expression: the
    walk moves only the copy's current time, the parsed fields are shared and never written)."""
    walker = copy.copy(_parsed(cron))
    walker.set_current(wall, force=True)
    return walker


def fire_times(cron: str, timezone: str, after: datetime) -> Iterator[datetime]:
    """The instants (UTC) at which ``cron`` fires in ``timezone``, strictly after ``after``."""
    zone = ZoneInfo(timezone)
    after = after.astimezone(UTC)
    wall = after.astimezone(zone).replace(tzinfo=None)
    walker = _walker(cron, wall)
    last = after
    while True:
        local: datetime = walker.get_next(datetime)
        instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant > last:
            last = instant
            yield instant


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first instant (UTC) strictly after ``after`` at which the schedule fires."""
    return next(fire_times(cron, timezone, after))


def fire_times_between(
    cron: str, timezone: str, after: datetime, until: datetime, limit: int = MISSED_MAX
) -> list[datetime]:
    """The fire instants in ``(after, until]``, at most ``limit`` of them (the latest kept)."""
    found: list[datetime] = []
    for instant in fire_times(cron, timezone, after):
        if instant > until:
            break
        found.append(instant)
        if len(found) > limit:
            found.pop(0)
    return found


def fire_times_until(
    cron: str, timezone: str, after: datetime, until: datetime, limit: int = MISSED_MAX
) -> tuple[list[datetime], datetime]:
    """In one walk: the fire instants in ``(after, until]`` (at most ``limit``, the latest
    kept), and the first one after both ``after`` and ``until`` (the next fire time)."""
    found: deque[datetime] = deque(maxlen=limit)
    for instant in fire_times(cron, timezone, after):
        if instant > until:
            return list(found), instant
        found.append(instant)
    raise AssertionError("unreachable: a cron expression fires forever")  # pragma: no cover
