"""Rebuild, read and verify rates over a large event log, measured in the same run.

    python -m bench.rebuild [--events 1000000] [--runs 3] [--batch-size 10000]
                            [--before-events 100000] [--database-url URL] [--json FILE]

Fills a template database ONCE with task events (created, updated, status changed, then updated
or deleted: 4 per task; 2,000 tasks encoded once and repeated under fresh ids) by COPY and brings
its live tasks table up to date; every run then starts
from a copy of that template (``CREATE DATABASE … TEMPLATE``, seconds instead of minutes) and
measures on the same log: reading and decoding every event (the ceiling of any projection),
rebuilding the tasks projection into a new table (``projections/rebuild.py``, what
``ledgerflow projections rebuild`` runs) and swapping it in, the one-event-at-a-time path that
rebuild used before (on the first ``--before-events`` events), sealing the hash chain, and
``verify``. Prints every run, the medians and the ratios. Uses an embedded PostgreSQL unless a
server URL is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any
from uuid import uuid4

import psycopg

from bench.run import SECRET, database_url, postgres
from domain.task import Task
from interfaces.adapters.event_chain import ChainSealer, verify
from interfaces.bootstrap import Container, build, conninfo
from interfaces.settings import Settings
from projections.rebuild import DEFAULT_BATCH_SIZE, Rebuild
from projections.runner import ProjectionRunner
from projections.task import TaskProjection

TASKS = "tasks"

CHUNK = 25_000  # tasks per COPY transaction
SHAPES = 2_000
FIGURES = (
    "read_decode_events_per_s",
    "rebuild_events_per_s",
    "per_event_rebuild_events_per_s",
    "seal_events_per_s",
    "verify_events_per_s",
    "swap_seconds",
)


@contextmanager
def container_on(url: str) -> Iterator[Container]:
    """Ledgerflow on database ``url`` with its followers stopped (the benchmark drives them)."""
    built = build(Settings(database_url=url, secret_key=SECRET, run_projections=False))
    try:
        built.ensure_read_models()
        yield built
    finally:
        built.close()


def task_shapes(container: Container, count: int) -> list[list[tuple[int, str, bytes]]]:
    """The stored events (version, topic, state) of ``count`` different tasks of one owner:
    created, updated, status changed, then updated or (one in four) deleted."""
    mapper, owner, shapes = container.ledger.mapper, uuid4(), []
    for i in range(count):
        task = Task.create(owner, f"task {i}", tags=["bench"])
        task.update({"name": f"renamed {i}", "priority": "high"})
        task.update({"status": "in_progress"})
        task.delete() if i % 4 == 0 else task.update({"description": "done soon"})
        stored = [mapper.to_stored_event(e) for e in task.collect_events()]
        shapes.append([(s.originator_version, s.topic, s.state) for s in stored])
    return shapes


def fill(container: Container, events: int) -> float:
    """Write ``events`` task events with COPY; return the rate.

    Encoding events is the slow part, so ``SHAPES`` tasks are encoded once and their stored
    events repeated under fresh task ids (a stored state does not hold its aggregate's id).
    """
    started = time.perf_counter()
    shapes = task_shapes(container, SHAPES)
    table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    copy = f"COPY {table} (originator_id, originator_version, topic, state) FROM STDIN"
    with psycopg.connect(conninfo(container.database_url)) as conn, conn.cursor() as cur:
        for start in range(0, events // 4, CHUNK):
            with cur.copy(copy) as out:
                for n in range(start, min(start + CHUNK, events // 4)):
                    task_id = uuid4()
                    for version, topic, state in shapes[n % SHAPES]:
                        out.write_row((task_id, version, topic, state))
            conn.commit()
    return events / (time.perf_counter() - started)


def make_template(server: str, events: int) -> tuple[str, dict[str, float]]:
    """A database holding the log and its current live tasks table, to copy for each run."""
    name = f"bench_rebuild_{uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with container_on(database_url(server, name)) as container:
        rate = fill(container, events)
        live = next(r for r in container.runners if r.projection.name == TASKS)
        started = time.perf_counter()
        with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
            live.catch_up(conn)  # the old table is current, as in production
        catch_up = events / (time.perf_counter() - started)
    return name, {"fill_events_per_s": rate, "live_catch_up_events_per_s": catch_up}


def read_and_decode(container: Container, batch_size: int) -> float:
    """Every event selected and decoded, in batches like the rebuild: the projection ceiling."""
    recorder, mapper = container.ledger.recorder, container.ledger.mapper
    started, position, count = time.perf_counter(), 0, 0
    while batch := recorder.select_notifications(start=position + 1, limit=batch_size):
        for notification in batch:
            mapper.to_domain_event(notification)
        count += len(batch)
        position = batch[-1].id
    return count / (time.perf_counter() - started)


def rebuild(
    container: Container, conn: psycopg.Connection[Any], batch_size: int
) -> dict[str, float]:
    """The tasks projection rebuilt into a new table (build phase), then the swap."""
    live = next(r for r in container.runners if r.projection.name == TASKS)
    ledger = container.ledger
    job = Rebuild(
        conninfo(container.database_url),
        live.projection,
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,  # type: ignore[attr-defined]
        batch_size,
    )
    started = time.perf_counter()
    done = job.build(conn)
    rate = done.position / (time.perf_counter() - started)
    started = time.perf_counter()
    swapped = job.swap(conn)
    assert swapped.identical, "the rebuilt table differs from the live one"
    return {"rebuild_events_per_s": rate, "swap_seconds": time.perf_counter() - started}


class OneByOne:
    """The tasks projection without its batch path: what every rebuild ran before."""

    def __init__(self, table: str) -> None:
        self._inner = TaskProjection(table)
        self.name, self.topics = table, self._inner.topics
        self.create_tables, self.apply = self._inner.create_tables, self._inner.apply


def per_event_rebuild(container: Container, conn: psycopg.Connection[Any], events: int) -> float:
    """The earlier rebuild path (one statement per event, batches of 2,000) over the first
    ``events`` events."""
    ledger = container.ledger
    runner = ProjectionRunner(
        conninfo(container.database_url),
        OneByOne("tasks_one_by_one"),
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,  # type: ignore[attr-defined]
        batch_size=2000,
    )
    runner.setup(conn)
    started = time.perf_counter()
    while runner.status().position < events and runner.process_batch(conn):
        pass
    return runner.status().position / (time.perf_counter() - started)


def seal_and_verify(container: Container, conn: psycopg.Connection[Any]) -> dict[str, float]:
    sealer = next(r for r in container.runners if isinstance(r, ChainSealer))
    table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    started = time.perf_counter()
    sealed = sealer.catch_up(conn)
    seal_rate = sealed / (time.perf_counter() - started)
    started = time.perf_counter()
    verdict = verify(conn, table)
    assert verdict.ok
    return {
        "seal_events_per_s": seal_rate,
        "verify_events_per_s": verdict.checked / (time.perf_counter() - started),
    }


def one_run(server: str, template: str, args: argparse.Namespace) -> dict[str, float]:
    name = f"{template}_run_{uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        with (
            container_on(database_url(server, name)) as container,
            psycopg.connect(conninfo(container.database_url), autocommit=True) as conn,
        ):
            results = {"read_decode_events_per_s": read_and_decode(container, args.batch_size)}
            results |= rebuild(container, conn, args.batch_size)
            results["per_event_rebuild_events_per_s"] = per_event_rebuild(
                container, conn, args.before_events
            )
            results |= seal_and_verify(container, conn)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def report(runs: list[dict[str, float]], setup: dict[str, float]) -> dict[str, Any]:
    if not runs:  # --runs 0: only the template (fill and live catch-up)
        for key, value in setup.items():
            print(f"{key:34}{value:>14,.2f}")
        return {"setup": setup}
    medians = {k: median(run[k] for run in runs) for k in FIGURES}
    ceiling = medians["read_decode_events_per_s"]
    ratios = {
        "rebuild_vs_read_decode": medians["rebuild_events_per_s"] / ceiling,
        "per_event_rebuild_vs_read_decode": medians["per_event_rebuild_events_per_s"] / ceiling,
        "rebuild_vs_per_event_rebuild": medians["rebuild_events_per_s"]
        / medians["per_event_rebuild_events_per_s"],
        "seal_vs_read_decode": medians["seal_events_per_s"] / ceiling,
        "verify_vs_read_decode": medians["verify_events_per_s"] / ceiling,
    }
    print(
        f"{'figure':34}" + "".join(f"{f'run {i + 1}':>14}" for i in range(len(runs))) + "  median"
    )
    for key in FIGURES:
        cells = "".join(f"{run[key]:>14,.2f}" for run in runs)
        print(f"{key:34}{cells}  {medians[key]:,.2f}")
    for key, value in {**ratios, **setup}.items():
        print(f"{key:34}{value:>14,.2f}")
    return {"runs": runs, "median": medians, "ratios": ratios, "setup": setup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--before-events", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with postgres(args.database_url) as server:
        started = time.perf_counter()
        template, setup = make_template(server, args.events)
        setup["template_seconds"] = time.perf_counter() - started
        print(f"template of {args.events:,} events ready in {setup['template_seconds']:.0f}s")
        try:
            runs = []
            for i in range(args.runs):
                runs.append(one_run(server, template, args))
                print(f"run {i + 1}: " + ", ".join(f"{k} {v:,.2f}" for k, v in runs[-1].items()))
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    results = report(runs, setup)
    results["events"], results["machine"] = args.events, machine()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def machine() -> str:
    """The machine the figures come from."""
    python = platform.python_version()
    return f"{os.cpu_count()} CPUs, {platform.platform()}, {platform.processor()}, Python {python}"


if __name__ == "__main__":
    main()
