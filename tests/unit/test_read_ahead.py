"""Reading ahead in a thread: same items in order, errors where they happened, no stuck thread."""

import threading

import pytest

from projections.read_ahead import ReadAhead


def test_read_ahead_yields_every_item_in_order():
    with ReadAhead(iter(range(1000)), depth=3) as ahead:
        assert list(ahead) == list(range(1000))


def test_an_error_of_the_source_reaches_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("the log went away")

    seen = []
    with pytest.raises(ValueError, match="the log went away"), ReadAhead(source()) as ahead:
        for item in ahead:
            seen.append(item)
    assert seen == [1, 2]


def test_breaking_off_stops_the_reading_thread():
    before = threading.active_count()
    with ReadAhead(iter(range(10**9)), depth=2) as ahead:
        for item in ahead:
            if item == 5:
                break
    assert threading.active_count() == before
