"""Rebuild, read and verify rates over a large event log, measured in the same run.

    python -m bench.rebuild [--events 1000000] [--database-url URL] [--json FILE]

Fills a fresh database with task events (created, updated, status changed, then updated or
deleted: 4 per task) by COPY, then measures on the same log: reading and decoding every event
(the ceiling of any projection), rebuilding the tasks projection into a new table
(``projections/rebuild.py``, what ``ledgerflow projections rebuild`` runs, after the live
table has been brought up to date), sealing the hash chain,
and ``verify``. Uses an embedded PostgreSQL unless a server URL is given.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg

from bench.run import SECRET, fresh_database, postgres
from domain.task import Task
from interfaces.bootstrap import Container, build, conninfo
from interfaces.event_chain import ChainSealer, verify
from interfaces.settings import Settings
from projections.rebuild import Rebuild

CHUNK = 20_000


def fill(container: Container, events: int) -> float:
    """Write ``events`` task events with COPY; return the rate."""
    started = time.perf_counter()
    mapper, owner = container.ledger.mapper, uuid4()
    table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    with psycopg.connect(conninfo(container.database_url)) as conn, conn.cursor() as cur:
        copy = f"COPY {table} (originator_id, originator_version, topic, state) FROM STDIN"
        written = 0
        while written < events:
            rows = []
            for i in range(min(CHUNK, events - written) // 4):
                task = Task.create(owner, f"task {written + i}", tags=["bench"])
                task.update({"name": f"renamed {i}", "priority": "high"})
                task.update({"status": "in_progress"})
                task.delete() if i % 4 == 0 else task.update({"description": "done soon"})
                rows.extend(mapper.to_stored_event(e) for e in task.collect_events())
            with cur.copy(copy) as out:
                for s in rows:
                    out.write_row((s.originator_id, s.originator_version, s.topic, s.state))
            conn.commit()
            written += len(rows)
    return events / (time.perf_counter() - started)


def read_and_decode(container: Container) -> float:
    """Every event selected and decoded, in batches like the runner: the projection ceiling."""
    recorder, mapper = container.ledger.recorder, container.ledger.mapper
    started, position, count = time.perf_counter(), 0, 0
    while batch := recorder.select_notifications(start=position + 1, limit=2000):
        for notification in batch:
            mapper.to_domain_event(notification)
        count += len(batch)
        position = batch[-1].id
    return count / (time.perf_counter() - started)


def rebuild(container: Container, conn: psycopg.Connection[Any]) -> float:
    """The tasks projection rebuilt into a new table (build phase, then the swap)."""
    live = next(r for r in container.runners if r.projection.name == "tasks")
    ledger = container.ledger
    job = Rebuild(
        conninfo(container.database_url),
        live.projection,
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,  # type: ignore[attr-defined]
    )
    live.catch_up(conn)  # the old table is current, as in production
    started = time.perf_counter()
    done = job.build(conn)
    rate = done.position / (time.perf_counter() - started)
    started = time.perf_counter()
    swapped = job.swap(conn)
    assert swapped.identical
    print(f"swap (compare {swapped.new_rows} rows, rename): {time.perf_counter() - started:.2f}s")
    return rate


def seal_and_verify(container: Container, conn: psycopg.Connection[Any]) -> tuple[float, float]:
    sealer = next(r for r in container.runners if isinstance(r, ChainSealer))
    table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    started = time.perf_counter()
    sealed = sealer.catch_up(conn)
    seal_rate = sealed / (time.perf_counter() - started)
    started = time.perf_counter()
    verdict = verify(conn, table)
    assert verdict.ok
    return seal_rate, verdict.checked / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with postgres(args.database_url) as server:
        db = fresh_database(server)
        container = build(Settings(database_url=db, secret_key=SECRET, run_projections=False))
        try:
            container.ensure_read_models()
            results: dict[str, float] = {"events": args.events}
            results["fill_events_per_s"] = fill(container, args.events)
            results["read_decode_events_per_s"] = read_and_decode(container)
            with psycopg.connect(conninfo(db), autocommit=True) as conn:
                results["rebuild_events_per_s"] = rebuild(container, conn)
                seal, check = seal_and_verify(container, conn)
            results["seal_events_per_s"], results["verify_events_per_s"] = seal, check
            results["rebuild_vs_read_decode"] = (
                results["rebuild_events_per_s"] / results["read_decode_events_per_s"]
            )
        finally:
            container.close()
    for key, value in results.items():
        print(f"{key:28} {value:>14,.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
