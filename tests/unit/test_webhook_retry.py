"""The retry schedule, its jitter, Retry-After and the circuit breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.webhook_retry import DEFAULT_SCHEDULE, CircuitBreaker, RetrySchedule, retry_after

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_default_schedule_is_the_documented_one() -> None:
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert RetrySchedule().attempts == 8


def test_without_jitter_each_retry_waits_exactly_its_planned_delay() -> None:
    schedule = RetrySchedule(jitter=0)
    waits = [schedule.next_attempt_at(n, T0) for n in range(1, 8)]
    assert [w - T0 for w in waits if w] == [timedelta(seconds=s) for s in DEFAULT_SCHEDULE[1:]]


def test_after_the_last_attempt_there_is_none_left() -> None:
    assert RetrySchedule().next_attempt_at(8, T0) is None


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_jitter_stays_within_its_share_of_the_delay(draw: float) -> None:
    schedule = RetrySchedule(jitter=0.2, rand=lambda: draw)
    wait = schedule.delay_before(3).total_seconds()
    assert 240 <= wait <= 360
    assert (wait == 300) == (draw == 0.5)


def test_jitter_of_random_draws_spreads_within_bounds() -> None:
    waits = {RetrySchedule(jitter=0.2).delay_before(2).total_seconds() for _ in range(200)}
    assert all(4 <= w <= 6 for w in waits)
    assert len(waits) > 100


def test_a_longer_retry_after_wins_and_a_shorter_one_does_not_shorten_the_wait() -> None:
    schedule = RetrySchedule(jitter=0)
    assert schedule.next_attempt_at(1, T0, timedelta(seconds=60)) == T0 + timedelta(seconds=60)
    assert schedule.next_attempt_at(2, T0, timedelta(seconds=60)) == T0 + timedelta(minutes=5)


def test_retry_after_is_capped_at_a_day() -> None:
    later = RetrySchedule(jitter=0).next_attempt_at(1, T0, timedelta(days=30))
    assert later == T0 + timedelta(days=1)


def test_an_invalid_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        RetrySchedule(delays=())
    with pytest.raises(ValueError, match="jitter"):
        RetrySchedule(jitter=1.5)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("Mon, 30 Nov 2026 12:01:30 GMT", timedelta(seconds=90)),
        ("Mon, 30 Nov 2026 11:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    header: str | None, expected: timedelta | None
) -> None:
    assert retry_after(header, T0) == expected


def test_the_breaker_opens_after_its_threshold_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=timedelta(seconds=30))
    for _ in range(2):
        breaker.failed(T0)
    assert breaker.allows(T0)
    breaker.failed(T0)
    assert not breaker.allows(T0 + timedelta(seconds=29))


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(threshold=2)
    breaker.failed(T0)
    breaker.succeeded()
    breaker.failed(T0)
    assert breaker.allows(T0) and not breaker.is_open


def test_after_the_cooldown_one_trial_goes_through_and_its_success_closes() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=timedelta(seconds=30))
    breaker.failed(T0)
    later = T0 + timedelta(seconds=31)
    assert breaker.allows(later)
    assert not breaker.allows(later)  # only one trial at a time
    breaker.succeeded()
    assert breaker.allows(later) and breaker.allows(later)


def test_a_failed_trial_opens_again_for_twice_as_long() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=timedelta(seconds=30))
    breaker.failed(T0)
    trial_at = T0 + timedelta(seconds=31)
    assert breaker.allows(trial_at)
    breaker.failed(trial_at)
    assert not breaker.allows(trial_at + timedelta(seconds=59))
    assert breaker.allows(trial_at + timedelta(seconds=61))


def test_endpoint_gates_cap_sends_per_endpoint_and_skip_an_open_breaker() -> None:
    from uuid import uuid4

    from interfaces.adapters.webhook_dispatcher import EndpointGates

    gates = EndpointGates(2, lambda: CircuitBreaker(threshold=1, cooldown=timedelta(seconds=30)))
    busy, other = uuid4(), uuid4()
    assert gates.enter(busy, T0) and gates.enter(busy, T0)
    assert not gates.enter(busy, T0)
    assert gates.closed(T0) == {busy}
    assert gates.enter(other, T0)
    gates.leave(other, ok=False, at=T0)
    assert gates.closed(T0) == {busy, other}
    assert other not in gates.closed(T0 + timedelta(seconds=31))
    gates.leave(busy, ok=True, at=T0)
    assert busy not in gates.closed(T0)


def test_webhook_settings_read_a_json_schedule_an_iso_duration_and_refuse_a_short_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from interfaces.settings import Settings

    monkeypatch.setenv("LEDGERFLOW_WEBHOOK_RETRY_SCHEDULE", "[0, 1.5, 60]")
    monkeypatch.setenv("LEDGERFLOW_WEBHOOK_DISABLE_AFTER", "P2D")
    settings = Settings()
    assert settings.webhook_retry_schedule == [0, 1.5, 60]
    assert settings.webhook_disable_after == timedelta(days=2)
    monkeypatch.setenv("LEDGERFLOW_WEBHOOK_LEASE_SECONDS", "5")
    with pytest.raises(ValueError, match="LEASE"):
        Settings()
