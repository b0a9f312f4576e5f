"""What observability costs: the metrics middleware on POST /api/v1/tasks, and export speed.

    python -m bench.observability [--seconds 10] [--runs 3] [--rows 100000] [--database-url URL]

1. POST /api/v1/tasks throughput (wrk, 16 connections) with ``LEDGERFLOW_METRICS_ENABLED`` false
   and true, alternating, ``--runs`` times each on a fresh database; reports the medians and the
   ratio (the issue asks for < 3 % cost).
2. ``--rows`` tasks of one user saved straight into the event store, then
   ``GET /api/v1/exports/{csv,json,xlsx}?type=tasks`` read to the end: rows/s, and the server's
   peak RSS growth during the export (the issue asks for >= 20,000 rows/s and < 30 MB).

Run it on a quiet machine; it prints ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any
from uuid import UUID

import httpx

from bench.run import SECRET, account, free_port, fresh_database, postgres, start, wrk
from domain.task import Task
from interfaces.bootstrap import build
from interfaces.settings import Settings


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
    process, base_url = server(
        fresh_database(server_url), LEDGERFLOW_METRICS_ENABLED=str(metrics).lower()
    )
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
    db_url = fresh_database(server_url)
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
    args = parser.parse_args()
    with postgres(args.database_url) as server_url:
        off, on = [], []
        for _ in range(args.runs):
            off.append(post_rps(server_url, args.seconds, metrics=False))
            on.append(post_rps(server_url, args.seconds, metrics=True))
        cost = 1 - median(on) / median(off)
        print(
            f"POST /api/v1/tasks: {median(off):.0f} req/s without metrics,"
            f" {median(on):.0f} with (cost {cost:.1%}; runs {off} / {on})"
        )
        for fmt, figures in exports(server_url, args.rows).items():
            print(
                f"export {fmt}: {figures['rows_per_s']:.0f} rows/s ({figures['seconds']:.1f} s,"
                f" {figures['mb']:.1f} MB), peak RSS growth {figures['peak_rss_growth_mb']:.1f} MB"
            )


if __name__ == "__main__":
    main()
