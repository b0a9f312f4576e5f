"""How the runs list cuts a time range for its total: whole days and hours are summed from the
counts, only the part-hours at its ends are counted over the runs."""

from datetime import UTC, datetime

from projections.run_counts import UNBOUNDED, Range

HOURS_TO_2026 = (datetime(2026, 3, 2, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days * 24


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_a_range_on_hours_edges_is_summed_with_nothing_counted():
    cut = Range.of(at(2, 0), at(4, 5))
    day = HOURS_TO_2026 // 24
    assert cut.days == (day, day + 2)  # March 2 and 3
    assert cut.hours == [(HOURS_TO_2026 + 48, HOURS_TO_2026 + 53)]  # March 4, 00:00-05:00
    assert cut.instants == []


def test_ends_inside_hours_count_only_those_part_hours():
    cut = Range.of(at(2, 22, 30), at(4, 1, 15))
    assert cut.instants == [(at(2, 22, 30), at(2, 23)), (at(4, 1), at(4, 1, 15))]
    assert cut.hours == [
        (HOURS_TO_2026 + 23, HOURS_TO_2026 + 24),
        (HOURS_TO_2026 + 48, HOURS_TO_2026 + 49),
    ]
    assert cut.days == (HOURS_TO_2026 // 24 + 1, HOURS_TO_2026 // 24 + 2)  # March 3


def test_a_range_within_an_hour_is_counted_and_an_empty_one_is_nothing():
    assert Range.of(at(2, 10, 5), at(2, 10, 50)).instants == [(at(2, 10, 5), at(2, 10, 50))]
    assert Range.of(at(2, 10, 5), at(2, 11, 50)).instants == [(at(2, 10, 5), at(2, 11, 50))]
    empty = Range.of(at(2, 10), at(2, 9))
    assert (empty.days, empty.hours, empty.instants) == ((0, 0), [], [])


def test_an_open_end_reaches_every_day():
    since = Range.of(at(2, 0), None)
    assert since.days == (HOURS_TO_2026 // 24, UNBOUNDED) and since.hours == []
    until = Range.of(None, at(2, 3))
    assert until.days == (-UNBOUNDED, HOURS_TO_2026 // 24)
    assert until.hours == [(HOURS_TO_2026, HOURS_TO_2026 + 3)] and until.instants == []
