"""What observability costs: the metrics middleware on POST /api/v1/tasks, and export speed.

    python -m bench.observability [--seconds 10] [--runs 3] [--rows 100000] [--database-url URL]
    python -m bench.observability --quick    # a short pass (2 s, 1 run, 5,000 rows): it runs

1. POST /api/v1/tasks throughput (wrk, 16 connections) with ``LEDGERFLOW_METRICS_ENABLED`` false
   and true, alternating, ``--runs`` times each on a fresh database; reports the medians and the
   ratio (the issue asks for < 3 % cost).
2. ``--rows`` tasks of one user saved straight into the event store, then
   ``GET /api/v1/exports/{csv,json,xlsx}?type=tasks`` read to the end: rows/s, and the server's
   peak RSS growth during the export (the issue asks for >= 20,000 rows/s and < 30 MB).

Run it on a quiet machine; it prints ratios measured in the same run, each beside its target.
The databases it creates on the server are dropped at the end. ``--quick`` only shows that the
bench works: its figures are too short to mean anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench.run import SECRET, account, free_port, fresh_database, postgres, start, wrk
from domain.task import Task
from interfaces.bootstrap import build
from interfaces.settings import Settings

TARGET_COST = 0.03  # the metrics middleware's share of POST throughput (issue 17)
TARGET_ROWS_PER_S = 20_000
TARGET_RSS_MB = 30.0


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server, dropped when done."""
    db_url = fresh_database(server_url)
    try:
        yield db_url
    finally:
        name = conninfo_to_dict(db_url)["dbname"]
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server(db_url: str, **env: str) -> tuple[Any, str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    values = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": db_url,
        "LEDGERFLOW_SECRET_KEY": SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_RATE_LIMIT": "100000000/minute",
        **env,
    }
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)]
    return start(command, values, base_url, "/health"), base_url


def post_rps(server_url: str, seconds: int, metrics: bool) -> float:
    with scratch_database(server_url) as db_url:
        process, base_url = server(db_url, LEDGERFLOW_METRICS_ENABLED=str(metrics).lower())
        try:
            token, _ = account(base_url, "bench_writer")
            return wrk(f"{base_url}/api/v1/tasks", "post_task.lua", token, seconds)["rps"]
        finally:
            process.terminate()
            process.wait(30)


def save_tasks(db_url: str, owner: UUID, rows: int) -> None:
    container = build(Settings(database_url=db_url, secret_key=SECRET, run_projections=False))
    try:
        for start_at in range(0, rows, 5000):
            batch = [
                Task.create(owner, f"export {n}", "a description", "high", None, ["x"])
                for n in range(start_at, min(rows, start_at + 5000))
            ]
            container.ledger.save(*batch)
    finally:
        container.close()


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wait_caught_up(base_url: str) -> None:
    while httpx.get(f"{base_url}/health").json()["checks"]["projections"]["tasks"]["lag"]:
        time.sleep(0.5)


def exports(server_url: str, rows: int) -> dict[str, dict[str, float]]:
    with scratch_database(server_url) as db_url:
        return exports_from(db_url, rows)


def exports_from(db_url: str, rows: int) -> dict[str, dict[str, float]]:
    process, base_url = server(db_url)
    found: dict[str, dict[str, float]] = {}
    try:
        token, user_id = account(base_url, "bench_exporter")
        save_tasks(db_url, UUID(user_id), rows)
        wait_caught_up(base_url)
        for fmt in ("csv", "json", "xlsx"):
            Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # peak RSS := RSS now
            before = rss_kb(process.pid, "VmRSS")
            started = time.perf_counter()
            size = 0
            url = f"{base_url}/api/v1/exports/{fmt}?type=tasks"
            with httpx.stream("GET", url, headers={"Authorization": token}, timeout=600) as answer:
                for chunk in answer.iter_bytes():
                    size += len(chunk)
            took = time.perf_counter() - started
            found[fmt] = {
                "rows_per_s": rows / took,
                "seconds": took,
                "mb": size / 1e6,
                "peak_rss_growth_mb": (rss_kb(process.pid, "VmHWM") - before) / 1024,
            }
    finally:
        process.terminate()
        process.wait(30)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--quick", action="store_true", help="2 s, 1 run, 5,000 rows: it runs")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs, args.rows = 2, 1, 5000
    with postgres(args.database_url) as server_url:
        off, on = [], []
        for _ in range(args.runs):
            off.append(post_rps(server_url, args.seconds, metrics=False))
            on.append(post_rps(server_url, args.seconds, metrics=True))
        cost = 1 - median(on) / median(off)
        print(
            f"POST /api/v1/tasks: {median(off):.0f} req/s without metrics,"
            f" {median(on):.0f} with (cost {cost:.1%}, target < {TARGET_COST:.0%};"
            f" runs {off} / {on})"
        )
        for fmt, figures in exports(server_url, args.rows).items():
            print(
                f"export {fmt}: {figures['rows_per_s']:.0f} rows/s ({figures['seconds']:.1f} s,"
                f" {figures['mb']:.1f} MB; target >= {TARGET_ROWS_PER_S}), peak RSS growth"
                f" {figures['peak_rss_growth_mb']:.1f} MB (target < {TARGET_RSS_MB:.0f})"
            )
        if args.quick:
            print("(--quick: the bench works; these figures are too short to be measurements)")


if __name__ == "__main__":
    main()
