"""Schedules on the in-memory Ledger with a frozen clock: cron and DST, one run per fire time,
overlap and catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from eventsourcing.persistence import Transcoding
from freezegun import freeze_time
from freezegun.api import FakeDatetime

from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.scheduler import Scheduler
from application.trigger import TriggerCommands
from domain.cron import (
    InvalidCron,
    UnknownTimezone,
    cron_expression,
    fire_times_between,
    fire_times_until,
    next_fire,
)
from domain.run import Run
from domain.trigger import ScheduleNotFound, scheduled_run_id
from domain.trigger_outcome import TriggerOutcome
from tests.unit.engine_driver import CTX, OWNER, Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NY = "America/New_York"
START = datetime(2026, 12, 1, 8, 0, 30, tzinfo=UTC)


class FrozenTimeAsISO(Transcoding):
    """Events recorded while freezegun holds the clock carry its datetime class."""

    type = FakeDatetime
    name = "datetime_iso"

    def encode(self, obj: datetime) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> datetime:
        return datetime.fromisoformat(data)


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.mapper.transcoder.register(FrozenTimeAsISO())  # type: ignore[attr-defined]
    yield Driver(ledger, Scheduler(ledger))
    ledger.close()


def schedule(driver: Driver, cron: str = "0 9 * * *", **config: Any) -> Any:
    steps = [{"key": "t", "name": "t", "type": "task", "config": {"name": "t"}}]
    flow = driver.ledger[FlowCommands].define_flow(CTX, OWNER, {"name": "f", "steps": steps})
    written = driver.ledger[TriggerCommands].define_trigger(
        CTX, OWNER, "time_based", flow.aggregate.id, {"cron": cron, **config}, inputs={"a": 1}
    )
    driver.settle()
    return written.aggregate


def recorded(driver: Driver, kind: type) -> list[Any]:
    """The events of one class the log holds."""
    topic = kind.TOPIC  # type: ignore[attr-defined]
    found = driver.ledger.recorder.select_notifications(start=1, limit=10_000, topics=[topic])
    return [driver.ledger.mapper.to_domain_event(n) for n in found]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_0230_job_runs_once_on_the_spring_forward_day():
    times = fire_times_between("30 2 * * *", NY, at("2026-03-07T12:00"), at("2026-03-10T00:00"))
    assert [t.date().isoformat() for t in times] == ["2026-03-08", "2026-03-09"]
    assert times[0] == at("2026-03-08T07:30")  # 02:30 does not exist: 03:30 EDT, once


def test_a_0130_job_runs_once_on_the_fall_back_day():
    times = fire_times_between("30 1 * * *", NY, at("2026-10-31T12:00"), at("2026-11-03T00:00"))
    assert times == [at("2026-11-01T05:30"), at("2026-11-02T06:30")]  # the first 01:30 only
    hourly = fire_times_between("30 * * * *", NY, at("2026-11-01T04:00"), at("2026-11-01T09:00"))
    assert len(hourly) == len(set(hourly)) == 4  # 00:30, 01:30 (once), 02:30, 03:30


@pytest.mark.parametrize(
    ("cron", "after", "until"),
    [
        ("30 2 * * *", "2026-03-07T12:00", "2026-03-10T00:00"),  # spring forward
        ("30 * * * *", "2026-11-01T04:00", "2026-11-01T09:00"),  # fall back, hourly
        ("*/5 * * * *", "2026-12-01T08:00", "2026-12-01T08:00"),  # nothing between
        ("0 9 * * *", "2026-12-01T10:00", "2026-12-01T08:00"),  # until before after
    ],
)
def test_one_walk_finds_the_missed_fire_times_and_the_next_as_two_walks_do(cron, after, until):
    between, following = fire_times_until(cron, NY, at(after), at(until))
    assert between == fire_times_between(cron, NY, at(after), at(until))
    assert following == next_fire(cron, NY, max(at(after), at(until)))


def test_a_catch_up_keeps_the_latest_fire_times_up_to_the_limit():
    between, following = fire_times_until(
        "* * * * *", "UTC", at("2026-12-01T00:00"), at("2026-12-01T01:00"), limit=5
    )
    assert between == [at(f"2026-12-01T00:{m}") for m in range(56, 60)] + [at("2026-12-01T01:00")]
    assert following == at("2026-12-01T01:01")


@pytest.mark.parametrize("bad", ["", "* * * *", "0 9 * * * *", "61 * * * *", "every day", 5])
def test_an_invalid_cron_is_refused_with_its_code(bad):
    with pytest.raises(InvalidCron) as refused:
        cron_expression(bad)
    assert refused.value.code == "INVALID_CRON"


def test_an_unknown_time_zone_is_refused(driver):
    with pytest.raises(UnknownTimezone):
        schedule(driver, timezone="Mars/Olympus")


@freeze_time(START)
def test_a_schedule_starts_one_run_per_fire_time_with_its_deterministic_id(driver):
    sid = schedule(driver).id
    assert [t.due_at for t in driver.timers.values()] == [at("2026-12-01T09:00")]
    timer = next(iter(driver.timers.values()))
    with freeze_time(at("2026-12-01T09:00:00.300")):
        driver.fire_due(at("2026-12-01T09:00:01"))
        driver.engine.fire(timer).settle()  # fired again (a second scheduler, a replay)
    runs = recorded(driver, Run.Created)
    assert [r.originator_id for r in runs] == [scheduled_run_id(sid, at("2026-12-01T09:00"))]
    assert runs[0].trigger == "schedule" and runs[0].inputs == {"a": 1}
    assert len(recorded(driver, TriggerOutcome.Fired)) == 1
    assert [t.due_at for t in driver.timers.values()] == [at("2026-12-02T09:00")]


@freeze_time(START)
def test_a_disabled_schedule_does_not_fire(driver):
    trigger = schedule(driver)
    driver.ledger[TriggerCommands].toggle_trigger(CTX, OWNER, trigger.id, False)
    driver.settle()
    with freeze_time(at("2026-12-01T09:00:01")):
        driver.fire_due(at("2026-12-01T09:00:01"))
    assert recorded(driver, Run.Created) == []


@pytest.mark.parametrize(("policy", "runs"), [("skip", 1), ("allow", 2)])
@freeze_time(START)
def test_the_overlap_policy_decides_whether_a_second_run_starts(driver, policy, runs):
    schedule(driver, "*/10 * * * *", overlap_policy=policy)
    for minute in ("08:10", "08:20"):
        with freeze_time(at(f"2026-12-01T{minute}:01")):
            driver.fire_due(at(f"2026-12-01T{minute}:01"))
    assert len(recorded(driver, Run.Created)) == runs  # nothing finishes the first run here
    skipped = recorded(driver, TriggerOutcome.Skipped)
    assert [s.reason for s in skipped] == (["overlap"] if policy == "skip" else [])


@pytest.mark.parametrize(("policy", "runs"), [("skip", 0), ("latest", 1), ("all", 6)])
@freeze_time(START)
def test_after_downtime_the_missed_times_are_recorded_and_run_by_the_catchup_policy(
    driver, policy, runs
):
    sid = schedule(driver, "*/10 * * * *", catchup_policy=policy, overlap_policy="allow").id
    down_until = at("2026-12-01T09:05")  # the 08:10 ... 09:00 fire times were slept through
    with freeze_time(down_until):
        driver.fire_due(down_until)
    (missed,) = recorded(driver, TriggerOutcome.Missed)
    assert len(missed.fire_times) == 6 and missed.fire_times[0].startswith("2026-12-01T08:10")
    started = recorded(driver, Run.Created)
    assert len(started) == runs
    if policy == "latest":
        assert started[0].originator_id == scheduled_run_id(sid, at("2026-12-01T09:00"))
    assert [t.due_at for t in driver.timers.values()] == [at("2026-12-01T09:10")]


def fire_at(driver: Driver, minute: str) -> None:
    when = at(f"2026-12-01T{minute}")
    with freeze_time(when):
        driver.fire_due(when)


@freeze_time(START)
def test_buffer_one_starts_one_buffered_run_when_the_previous_finishes(driver):
    sid = schedule(driver, "*/10 * * * *", overlap_policy="buffer_one").id
    fire_at(driver, "08:10:01")
    fire_at(driver, "08:20:01")  # the 08:10 run still goes: 08:20 is buffered
    fire_at(driver, "08:20:04")  # the buffer checks again: still going
    fire_at(driver, "08:30:01")  # one is buffered already: 08:30 is skipped
    assert len(recorded(driver, Run.Created)) == 1
    first = scheduled_run_id(sid, at("2026-12-01T08:10"))
    driver.ledger[FlowCommands].cancel_run(CTX, OWNER, first)
    fire_at(driver, "08:30:07")  # the buffer finds the previous run finished
    started = [r.originator_id for r in recorded(driver, Run.Created)]
    assert started == [first, scheduled_run_id(sid, at("2026-12-01T08:20"))]
    assert [s.reason for s in recorded(driver, TriggerOutcome.Skipped)] == ["overlap"]


@freeze_time(START)
def test_cancel_previous_cancels_the_run_still_going_and_starts_the_next(driver):
    sid = schedule(driver, "*/10 * * * *", overlap_policy="cancel_previous").id
    fire_at(driver, "08:10:01")
    fire_at(driver, "08:20:01")
    first = driver.get(scheduled_run_id(sid, at("2026-12-01T08:10")))
    assert first.status == "cancelled"
    assert len(recorded(driver, Run.Created)) == 2


@freeze_time(START)
def test_a_schedule_of_an_inactive_flow_records_a_skip_and_starts_nothing(driver):
    trigger = schedule(driver)
    driver.ledger[FlowCommands].update_flow(CTX, OWNER, trigger.flow_id, {"is_active": False})
    fire_at(driver, "09:00:01")
    assert recorded(driver, Run.Created) == []
    assert [s.reason for s in recorded(driver, TriggerOutcome.Skipped)] == ["flow_inactive"]
    assert [t.due_at for t in driver.timers.values()] == [at("2026-12-02T09:00")]


@freeze_time(START)
def test_changing_the_cron_makes_the_armed_timer_stale(driver):
    trigger = schedule(driver)
    driver.ledger[TriggerCommands].update_trigger(
        CTX, OWNER, trigger.id, {"config": {"cron": "0 10 * * *"}}
    )
    driver.settle()
    fire_at(driver, "09:00:01")  # the 09:00 timer of the first generation: nothing
    assert recorded(driver, Run.Created) == []
    fire_at(driver, "10:00:01")
    assert len(recorded(driver, Run.Created)) == 1


def test_an_event_trigger_cannot_be_changed_or_deleted_as_a_schedule(driver):
    flow = driver.ledger[FlowCommands].define_flow(CTX, OWNER, {"name": "f", "steps": []})
    commands = driver.ledger[TriggerCommands]
    made = commands.define_trigger(
        CTX, OWNER, "event_based", flow.aggregate.id, {"event": "task.*"}
    ).aggregate
    with pytest.raises(ScheduleNotFound):
        commands.update_trigger(CTX, OWNER, made.id, {"name": "x"}, missing=ScheduleNotFound)
    with pytest.raises(ScheduleNotFound):
        commands.delete_trigger(CTX, OWNER, made.id, missing=ScheduleNotFound)
    assert not commands.get_trigger(OWNER, made.id).deleted  # as a trigger, it is there


def test_a_new_schedule_is_armed_from_its_created_event_without_loading_it(driver, monkeypatch):
    flow = driver.ledger[FlowCommands].define_flow(CTX, OWNER, {"name": "f", "steps": []})
    driver.settle()
    made = (
        driver.ledger[TriggerCommands]
        .define_trigger(CTX, OWNER, "time_based", flow.aggregate.id, {"cron": "0 9 * * *"})
        .aggregate
    )

    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("arming a new schedule loads nothing")

    monkeypatch.setattr(driver.ledger, "load", no_load)
    driver.settle()
    (timer,) = driver.timers.values()
    assert timer.payload["trigger_id"] == str(made.id) and timer.payload["generation"] == 1


@freeze_time(START)
def test_a_batch_of_fires_is_decided_first_then_committed_together(driver):
    made = [schedule(driver).id for _ in range(3)]
    timers = list(driver.timers.values())
    scheduler = driver.engine
    with freeze_time(at("2026-12-01T09:00:00.100")):
        scheduler.prepare_timers(timers)
        reactions = [scheduler.fire(timer) for timer in timers]
        assert recorded(driver, TriggerOutcome.Fired) == []  # decided, held
        for reaction in reactions:
            reaction.flush()
        for reaction in reactions:
            reaction.settle()
    fired = recorded(driver, TriggerOutcome.Fired)
    assert sorted(e.trigger_id for e in fired) == sorted(made)
    assert len(recorded(driver, Run.Created)) == 3
