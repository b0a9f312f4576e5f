"""Schedules and triggers benchmark (issue 16, "Speed"): fire lateness, a burst, trigger matching.

    python -m bench.schedules [--schedules 10000] [--seconds 300] [--burst 1000]
                              [--triggers 1000] [--event-rate 500] [--event-seconds 10]
                              [--database-url URL]
    python -m bench.schedules --short      # 600 schedules, 70 s, burst 100, 100 triggers, 3 s

One process with the projections and reactors running (as ``ledgerflow serve`` does), on a
fresh database:
1. ``--schedules`` enabled schedules spread over the hour (``M * * * *``), measured for
   ``--seconds``: fire lateness (fire time -> run created) p50/p99, the process CPU per fire
   (the scheduler's share, since nothing else runs) and duplicates/misses. Between fire times
   the scheduler sleeps until its earliest timer: idle schedules cost nothing.
2. ``--burst`` schedules on the same minute: every run created, none twice, the last lateness.
3. ``--triggers`` event triggers (``task.status_changed``, each filtering its own task name)
   with tasks changing status at ``--event-rate``/s for ``--event-seconds``: the matcher's CPU per
   event (µs) and event -> run created p50/p99.
Targets: lateness p99 < 1 s, zero duplicates and misses; the burst's last run within 10 s; event
-> run p99 < 100 ms. Report medians of 3 runs (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from application.context import CommandContext
from application.flow import FlowCommands
from application.trigger_matcher import TriggerMatcher, passes
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres
from domain.task import Task
from domain.trigger import Trigger
from interfaces.bootstrap import build
from interfaces.settings import Settings
from projections.envelope import envelope, event_id
from projections.event_alias import EventMatcher

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


def spread(ledger: Any, flow_id: Any, count: int, seconds: float) -> None:
    now = datetime.now(UTC)
    crons = [f"{(now.minute + 1 + i % 60) % 60} * * * *" for i in range(count)]
    head = ledger.recorder.max_notification_id() or 0
    ids = define(ledger, flow_id, crons)
    time.sleep(
        max(
            0.0,
            (
                now.replace(second=0, microsecond=0) + timedelta(minutes=1) - datetime.now(UTC)
            ).total_seconds(),
        )
    )
    before = cpu()
    time.sleep(seconds)
    events = mine(fired(ledger, head), ids)
    expected = sum(1 for i in range(count) if i % 60 <= int(seconds // 60))
    delays = lateness(events)
    pairs = {(e.trigger_id, e.fire_time) for e in events}
    print(
        f"spread: {count} schedules, {len(events)} fires in {seconds:.0f} s ({expected} expected)"
    )
    print(f"  lateness p50 {percentile(delays, 50):.3f} s  p99 {percentile(delays, 99):.3f} s")
    print(
        f"  duplicates {len(events) - len(pairs)}  misses {max(0, expected - len(pairs))}"
        f"  CPU per fire {1000 * (cpu() - before) / max(len(events), 1):.2f} ms"
    )


def burst(ledger: Any, flow_id: Any, count: int) -> None:
    now = datetime.now(UTC)
    minute = (now + timedelta(minutes=1 if now.second < 50 else 2)).minute
    head = ledger.recorder.max_notification_id() or 0
    ids = define(ledger, flow_id, [f"{minute} * * * *"] * count)
    deadline = time.monotonic() + 200
    events: list[Any] = []
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(1)
        events = mine(fired(ledger, head), ids)
    delays = lateness(events)
    print(
        f"burst: {len(events)}/{count} runs, last after {max(delays, default=0):.2f} s, "
        f"duplicates {len(events) - len({e.trigger_id for e in events})}"
    )


def triggers(container: Any, flow_id: Any, count: int, rate: float, seconds: float) -> None:
    ledger = container.ledger
    names = [f"bench-{i}" for i in range(count)]
    for start in range(0, count, 500):
        batch = [
            Trigger.define(
                OWNER, "event_based", flow_id, {"event": "task.created", "filter": {"data.name": n}}
            )
            for n in names[start : start + 500]
        ]
        ledger.commit(CTX, *batch)
    print(f"triggers: matching costs {match_cost(ledger, batch_rows(ledger, count)):.1f} µs/event")
    time.sleep(2)
    head = ledger.recorder.max_notification_id() or 0
    before, sent, started = cpu(), 0, time.monotonic()
    created: dict[Any, datetime] = {}
    while time.monotonic() - started < seconds:  # queued, not awaited: the rate is the rate asked
        task = Task.create(OWNER, names[sent % count])
        created[event_id(task.id, 1)] = task.created_on
        ledger.submit(CTX, task)
        sent += 1
        time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    deadline = time.monotonic() + 60
    events: list[Any] = []
    while len(events) < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        events = [e for e in fired(ledger, head) if e.event_id in created]
    spent = cpu() - before
    delays = [(e.timestamp - created[e.event_id]).total_seconds() for e in events]
    print(f"  {count} triggers, {sent} events at {sent / seconds:.0f}/s, {len(events)} runs")
    print(f"  process CPU per event {1e6 * spent / max(sent, 1):.0f} µs (every write included)")
    print(
        f"  event -> run p50 {1000 * percentile(delays, 50):.1f} ms"
        f"  p99 {1000 * percentile(delays, 99):.1f} ms"
    )


def batch_rows(ledger: Any, count: int) -> list[dict[str, Any]]:
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
    """µs to find the triggers one task.created event matches, pattern and filter, in memory."""

    class Rows:
        def event_triggers(self, trigger_id: Any = None) -> list[dict[str, Any]]:
            return rows

        def reader_of(self, aggregate_id: Any) -> Any:
            return OWNER

    matcher = TriggerMatcher(
        ledger, Rows(), lambda e: envelope(e, None), lambda p: EventMatcher(p).matches
    )
    events = [Task.create(OWNER, f"bench-{i}").collect_events()[0] for i in range(2000)]
    start = time.perf_counter()
    for e in events:
        seen = envelope(e, None)
        [entry for entry in matcher.candidates(seen, OWNER) if passes(seen, entry.filter)]
    return 1e6 * (time.perf_counter() - start) / len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--event-rate", type=float, default=500)
    parser.add_argument("--event-seconds", type=float, default=10)
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.short:
        args.schedules, args.seconds, args.burst, args.triggers, args.event_seconds = (
            600,
            70,
            100,
            100,
            3,
        )
    with postgres(args.database_url) as server:
        container = build(Settings(database_url=fresh_database(server), secret_key=SECRET))
        container.start()
        try:
            flow = container.ledger[FlowCommands].define_flow(
                CTX, OWNER, {"name": "b", "steps": STEPS}
            )
            flow_id = flow.aggregate.id
            triggers(container, flow_id, args.triggers, args.event_rate, args.event_seconds)
            burst(container.ledger, flow_id, args.burst)
            spread(container.ledger, flow_id, args.schedules, args.seconds)
        finally:
            container.close()


if __name__ == "__main__":
    main()
