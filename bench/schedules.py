"""Schedules and triggers benchmark (issue 16, "Speed"): fire lateness, a burst, trigger matching.

    python -m bench.schedules [--schedules 10000] [--seconds 300] [--burst 1000]
                              [--triggers 1000] [--event-rate 500] [--event-seconds 10]
                              [--lead 40] [--only schedules|triggers] [--database-url URL]
    python -m bench.schedules --short      # 600 schedules, 120 s, burst 100, 100 triggers, 3 s

One process with the projections and reactors running (as ``ledgerflow serve`` does), on a
fresh database. The in-memory matching cost is measured first, before the process starts. Then
every schedule is defined at once, the first fire minute M at least ``--lead`` seconds ahead:
1. ``--schedules`` enabled schedules spread over the hour (``m * * * *``, every minute but the
   burst's), measured from M for ``--seconds`` (whole minutes): fire lateness (fire time -> run
   created) p50/p99, duplicates/misses, the process CPU per fire (everything the fires cause
   included) and the process CPU between fires (seconds 20-55 of each minute, every schedule
   armed): idle schedules cost nothing, the runner sleeps until its earliest timer.
2. ``--burst`` schedules on the minute after the window: every run created, none twice, the
   lateness of the last.
3. ``--triggers`` event triggers (``task.created``, each filtering its own task name) with tasks
   created at ``--event-rate``/s for ``--event-seconds`` by a separate producer process (the
   measured process does what a server does for an event in the log): event -> run created
   p50/p99 and the process CPU per event (the producer's apart).
A full run takes the lead (40-100 s), the window, ~10 s of burst and ~30 s of triggers: under 7
minutes with the defaults. Targets: lateness p99 < 1 s, zero duplicates and misses; the burst's
last run within 10 s; event -> run p99 < 100 ms. Report medians of 3 runs (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg

from application.context import CommandContext
from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.trigger_matcher import TriggerMatcher
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres
from domain.task import Task
from domain.trigger import Trigger
from interfaces.bootstrap import build, eventsourcing_env
from interfaces.features.triggers import TriggerPattern
from interfaces.settings import Settings
from projections.envelope import envelope, event_id

OWNER = uuid4()
CTX = CommandContext(actor=f"user:{OWNER}")
STEPS: list[dict[str, Any]] = []  # runs of an empty flow succeed at once: the bench is the start


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fired(ledger: Any, after: int) -> list[Any]:
    found = ledger.recorder.select_notifications(
        start=after + 1, limit=1_000_000, topics=["trigger.fired"]
    )
    return [ledger.mapper.to_domain_event(n) for n in found]


def define(ledger: Any, flow_id: Any, crons: list[str]) -> set[Any]:
    """Schedules, committed 500 at a time; their ids."""
    ids: set[Any] = set()
    for start in range(0, len(crons), 500):
        batch = [
            Trigger.define(OWNER, "time_based", flow_id, {"cron": c, "overlap_policy": "allow"})
            for c in crons[start : start + 500]
        ]
        ledger.commit(CTX, *batch)
        ids |= {t.id for t in batch}
    return ids


def mine(events: list[Any], ids: set[Any]) -> list[Any]:
    return [e for e in events if e.trigger_id in ids]


def lateness(events: list[Any]) -> list[float]:
    return [
        (e.timestamp - datetime.fromisoformat(e.fire_time)).total_seconds()
        for e in events
        if e.fire_time
    ]


def minute_ahead(lead: float) -> datetime:
    """The first minute boundary at least ``lead`` seconds from now."""
    now = datetime.now(UTC)
    at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while (at - now).total_seconds() < lead:
        at += timedelta(minutes=1)
    return at


def sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


def armed(database_url: str, head: int, deadline: datetime) -> float:
    """Wait until the scheduler has reacted to every definition (one timer armed each);
    seconds it took."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while datetime.now(UTC) < deadline:
            row = conn.execute(
                "SELECT position FROM ledgerflow_tracking WHERE name = 'reactor.scheduler'"
            ).fetchone()
            if row and row[0] >= head:
                break
            time.sleep(0.2)
    return time.monotonic() - started


def window_minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))


def spread_crons(first: datetime, count: int, minutes: int) -> list[str]:
    """``count`` hourly schedules over every minute of the hour but the burst's (``minutes``
    after ``first``), the first ones from ``first`` on."""
    offsets = [k for k in range(60) if k != minutes]
    return [f"{(first.minute + offsets[i % 59]) % 60} * * * *" for i in range(count)]


def spread(ledger: Any, ids: set[Any], head: int, first: datetime, minutes: int) -> None:
    """Measure the spread schedules' fires from ``first`` for ``minutes`` minutes."""
    sleep_until(first)
    before, idle = cpu(), 0.0
    for m in range(minutes):
        sleep_until(first + timedelta(minutes=m, seconds=20))
        quiet = cpu()
        sleep_until(first + timedelta(minutes=m, seconds=55))
        idle += cpu() - quiet
    end = first + timedelta(minutes=minutes)
    sleep_until(end - timedelta(seconds=1))
    spent = cpu() - before - idle
    expected = sum(1 for i in range(len(ids)) if i % 59 < minutes)
    events = [e for e in mine(fired(ledger, head), ids) if e.fire_time]
    # (schedules whose minute falls between their definition and ``first`` fired before)
    events = [e for e in events if first <= datetime.fromisoformat(e.fire_time) < end]
    delays = lateness(events)
    pairs = {(e.trigger_id, e.fire_time) for e in events}
    print(
        f"spread: {len(ids)} schedules, {len(events)} fires in {minutes} min ({expected} expected)"
    )
    print(f"  lateness p50 {percentile(delays, 50):.3f} s  p99 {percentile(delays, 99):.3f} s")
    print(
        f"  duplicates {len(events) - len(pairs)}  misses {max(0, expected - len(pairs))}"
        f"  process CPU per fire {1000 * spent / max(len(events), 1):.2f} ms"
    )
    print(
        f"  process CPU between fires {1000 * idle / (35 * minutes):.2f} ms/s"
        f" ({len(ids)} schedules armed)"
    )


def burst(ledger: Any, ids: set[Any], head: int, at: datetime) -> None:
    """Wait for the burst's runs (at most a minute after ``at``)."""
    sleep_until(at)
    deadline = at + timedelta(seconds=60)
    events: list[Any] = []
    while len(events) < len(ids) and datetime.now(UTC) < deadline:
        time.sleep(0.5)
        events = mine(fired(ledger, head), ids)
    delays = lateness(events)
    print(
        f"burst: {len(events)}/{len(ids)} runs, last after {max(delays, default=0):.2f} s, "
        f"duplicates {len(events) - len({e.trigger_id for e in events})}"
    )


def schedules(container: Any, url: str, flow_id: Any, args: argparse.Namespace) -> None:
    """Define the spread and the burst at once, then measure the spread, then the burst."""
    ledger = container.ledger
    minutes = window_minutes(args.seconds)
    first = minute_ahead(args.lead)
    burst_at = first + timedelta(minutes=minutes)
    head = ledger.recorder.max_notification_id() or 0
    spread_ids = define(ledger, flow_id, spread_crons(first, args.schedules, minutes))
    burst_ids = define(ledger, flow_id, [f"{burst_at.minute} * * * *"] * args.burst)
    defined = ledger.recorder.max_notification_id() or 0
    took = armed(url, defined, first)
    left = (first - datetime.now(UTC)).total_seconds()
    print(f"schedules: {args.schedules + args.burst} defined and armed in {took:.1f} s", end="")
    print(f" ({left:.0f} s before the first fire)" if left > 0 else " (LATE: raise --lead)")
    spread(ledger, spread_ids, head, first, minutes)
    burst(ledger, burst_ids, head, burst_at)


def produce(url: str, owner: Any, names: list[str], rate: float, seconds: float, out: Any) -> None:
    """The event source, in a process of its own: ``task.created`` events committed at
    ``rate``/s for ``seconds`` through a bare Ledger (no projection, no reactor); puts
    ``({event_id: created_on}, CPU seconds spent)`` on ``out``."""
    ledger = Ledger(eventsourcing_env(url, 4), credentials=CredentialVault(SECRET))
    context = CommandContext(actor=f"user:{owner}")
    created: dict[Any, datetime] = {}
    queued = []
    sent, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:  # queued, not awaited: the rate is the rate asked
        task = Task.create(owner, names[sent % len(names)])
        created[event_id(task.id, 1)] = task.created_on
        queued.append(ledger.submit(context, task))
        sent += 1
        time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    for future in queued:
        future.result()
    ledger.close()
    out.put((created, cpu()))


def fired_count(url: str, after: int) -> int:
    """How many ``trigger.fired`` are in the log after ``after`` (counted by the server: the
    wait must not decode events in the measured process while runs are still being started)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledgerflow_events"
            " WHERE notification_id > %s AND topic = 'trigger.fired'",
            (after,),
        ).fetchone()
    return int(row[0]) if row else 0


def triggers(container: Any, url: str, flow_id: Any, args: argparse.Namespace) -> None:
    """Event triggers fed by a separate producer process (see ``produce``): the measured
    process does only what a server does for an event in the log, from reading it to the run."""
    ledger, count, rate, seconds = (
        container.ledger,
        args.triggers,
        args.event_rate,
        args.event_seconds,
    )
    names = [f"bench-{i}" for i in range(count)]
    for start in range(0, count, 500):
        batch = [
            Trigger.define(
                OWNER, "event_based", flow_id, {"event": "task.created", "filter": {"data.name": n}}
            )
            for n in names[start : start + 500]
        ]
        ledger.commit(CTX, *batch)
    time.sleep(2)
    head = ledger.recorder.max_notification_id() or 0
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    producer = spawn.Process(target=produce, args=(url, OWNER, names, rate, seconds, out))
    before = cpu()
    producer.start()
    created, producer_cpu = out.get(timeout=seconds + 120)
    producer.join()
    sent = len(created)
    deadline = time.monotonic() + 60
    while fired_count(url, head) < sent and time.monotonic() < deadline:
        time.sleep(0.5)
    spent = cpu() - before
    events = [e for e in fired(ledger, head) if e.event_id in created]
    delays = [(e.timestamp - created[e.event_id]).total_seconds() for e in events]
    print(f"  {count} triggers, {sent} events at {sent / seconds:.0f}/s, {len(events)} runs")
    print(
        f"  process CPU per event {1e6 * spent / max(sent, 1):.0f} µs (everything an event in"
        f" the log causes); the producer's {1e6 * producer_cpu / max(sent, 1):.0f} µs"
    )
    print(
        f"  event -> run p50 {1000 * percentile(delays, 50):.1f} ms"
        f"  p99 {1000 * percentile(delays, 99):.1f} ms"
    )


def batch_rows(count: int) -> list[dict[str, Any]]:
    """``count`` event triggers as the matcher's index holds them."""
    return [
        {
            "trigger_id": uuid4(),
            "owner_id": OWNER,
            "config": {"event": "task.created", "filter": {"data.name": f"bench-{i}"}},
        }
        for i in range(count)
    ]


def match_cost(ledger: Any, rows: list[dict[str, Any]]) -> float:
    """µs to find the triggers one task.created event matches, pattern and filter, in memory
    (the envelope included: the matcher builds it when the reader has a candidate)."""

    class Rows:
        def event_triggers(self, trigger_id: Any = None) -> list[dict[str, Any]]:
            return rows

        def readers_of(self, aggregate_ids: Any) -> dict[Any, Any]:
            return dict.fromkeys(aggregate_ids, OWNER)

    matcher = TriggerMatcher(ledger, Rows(), lambda e: envelope(e, None), TriggerPattern)
    events = [Task.create(OWNER, f"bench-{i}").collect_events()[0] for i in range(2000)]
    start = time.perf_counter()
    found = 0
    for e in events:
        if matcher.handles(e.TOPIC):
            found += len(matcher.candidates(envelope(e, None), OWNER))
    spent = time.perf_counter() - start
    assert found == min(len(rows), len(events)), "each bench-i event matches its trigger"
    return 1e6 * spent / len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--event-rate", type=float, default=500)
    parser.add_argument("--event-seconds", type=float, default=10)
    parser.add_argument("--lead", type=float, default=40, help="seconds to define and arm")
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--only", choices=("schedules", "triggers"))
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.short:
        args.schedules, args.seconds, args.burst, args.triggers, args.event_seconds = (
            600,
            120,
            100,
            100,
            3,
        )
    with postgres(args.database_url) as server:
        url = fresh_database(server)
        container = build(Settings(database_url=url, secret_key=SECRET))
        if args.only != "schedules":
            cost = match_cost(container.ledger, batch_rows(args.triggers))
            print(f"triggers: matching costs {cost:.1f} µs/event ({args.triggers} triggers)")
        container.start()
        try:
            flow = container.ledger[FlowCommands].define_flow(
                CTX, OWNER, {"name": "b", "steps": STEPS}
            )
            flow_id = flow.aggregate.id
            if args.only != "triggers":
                schedules(container, url, flow_id, args)
            if args.only != "schedules":
                triggers(container, url, flow_id, args)
        finally:
            container.close()


if __name__ == "__main__":
    main()
