"""What the alias layer and Idempotency-Key cost, measured in one run (issue 13's speed items).

    python -m bench.aliases [--seconds 10] [--rounds 3] [--database-url URL] [--json FILE]
    python -m bench.aliases --seconds 2 --rounds 1      # short: shows that it runs

Two API processes on one PostgreSQL (an embedded one unless ``--database-url`` or
``LEDGERFLOW_BENCH_DATABASE_URL`` names a server), each on its own database and with its
projections in-process: the product, and the same app without the alias layer
(``bench/alias_app.py``, ``BENCH_ALIASES=off``: no alias routes, no path rules). Each round runs,
one after the other, with wrk (16 connections unless said):

1. ``POST /api/v1/tasks`` and ``GET /api/v1/tasks?limit=50`` on both: the throughput the layer
   costs the canonical paths (the issue: < 3 %);
2. on the product, a seed's path against its canonical one: 002's ``GET /api/v1/tasks/``
   (a renamed query) and DevFlow's ``GET /api/tasks/{id}`` (a presenter reshaping the answer)
   against ``GET /api/v1/tasks`` and ``GET /api/v1/tasks/{id}``: what serving through an alias
   costs;
3. on the product, ``POST /api/v1/tasks`` with a new ``Idempotency-Key`` on every request
   against none, at 2 connections (latency, not queueing): the p50 the key adds (the issue:
   < 1 ms); and, in this process, the p50 of the store's claim and record of a key (the
   PostgreSQL part of it).

Every comparison is within one round; the figures printed are the medians over the rounds.
Timings on a shared machine vary a lot: measure on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from psycopg_pool import ConnectionPool

from bench.run import (
    SECRET,
    account,
    drain_seconds,
    free_port,
    fresh_database,
    postgres,
    start,
    wrk,
)
from interfaces.api.idempotency import IdempotencyStore

LIST = "/api/v1/tasks?limit=50"


def serve(db_url: str, aliases: bool) -> tuple[subprocess.Popen[bytes], str]:
    """An API process (bench/alias_app.py) on ``db_url``, with or without the alias layer."""
    port = free_port()
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": db_url,
        "LEDGERFLOW_SECRET_KEY": SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_RATE_LIMIT": "100000000/minute",
        "BENCH_ALIASES": "on" if aliases else "off",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.alias_app:app"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    base_url = f"http://127.0.0.1:{port}"
    return start(command, env, base_url, "/health"), base_url


@dataclass(frozen=True)
class Server:
    """One API process: its URL, a writer's token (the POST load) and a reader's (the GETs:
    they never wait for their own writes) with 100 tasks, one of whose ids."""

    url: str
    writer: str
    reader: str
    task_id: str


def prepare(url: str) -> Server:
    """The accounts and tasks of a server's load."""
    writer, _ = account(url, "bench_writer")
    reader, _ = account(url, "bench_reader")
    headers = {"Authorization": f"Bearer {reader}"}
    task_id = ""
    for i in range(100):
        answer = httpx.post(
            f"{url}/api/v1/tasks", json={"name": f"read {i}", "tags": ["a"]}, headers=headers
        )
        task_id = answer.json()["task_id"]
    return Server(url, writer, reader, task_id)


def one_round(product: Server, plain: Server, seconds: int) -> dict[str, dict[str, float]]:
    """Every figure of one round; the read models catch up after each write load."""
    os.environ["RUN"] = uuid.uuid4().hex[:8]  # Idempotency-Keys of this round (post_task_keyed)
    p, q = product, plain
    figures = {
        "post_with": wrk(f"{p.url}/api/v1/tasks", "post_task.lua", p.writer, seconds),
        "post_without": wrk(f"{q.url}/api/v1/tasks", "post_task.lua", q.writer, seconds),
    }
    drain_seconds(p.url), drain_seconds(q.url)
    one = f"/api/v1/tasks/{p.task_id}"
    figures |= {
        "get_with": wrk(p.url + LIST, "get_tasks.lua", p.reader, seconds),
        "get_without": wrk(q.url + LIST, "get_tasks.lua", q.reader, seconds),
        "get_002_alias": wrk(f"{p.url}/api/v1/tasks/?limit=50", "get_tasks.lua", p.reader, seconds),
        "get_one": wrk(p.url + one, "get_tasks.lua", p.reader, seconds),
        "get_one_devflow": wrk(
            f"{p.url}/api/tasks/{p.task_id}", "get_tasks.lua", p.reader, seconds
        ),
    }
    figures["post_unkeyed"] = wrk(f"{p.url}/api/v1/tasks", "post_task.lua", p.writer, seconds, 2)
    keyed = wrk(f"{p.url}/api/v1/tasks", "post_task_keyed.lua", p.writer, seconds, 2)
    drain_seconds(p.url)
    return {**figures, "post_keyed": keyed}


def store_p50_ms(db_url: str, count: int = 300) -> float:
    """p50 of claiming a new key and recording an answer (IdempotencyStore, in this process)."""
    pool: ConnectionPool[Any] = ConnectionPool(db_url, min_size=1, max_size=1, open=True)
    store, took = IdempotencyStore(pool), []
    try:
        store.claim("bench", "warm-up", b"f")
        for _ in range(count):
            key, started = uuid.uuid4().hex, time.perf_counter()
            store.claim("bench", key, b"fingerprint")
            store.record("bench", key, 201, [["content-type", "application/json"]], b"{}" * 200)
            took.append(time.perf_counter() - started)
    finally:
        pool.close()
    return median(took) * 1000


def summary(rounds: list[dict[str, dict[str, float]]]) -> dict[str, float]:
    """Medians over the rounds of each within-round comparison."""

    def ratio(a: str, b: str) -> float:
        return median(r[a]["rps"] / r[b]["rps"] for r in rounds)

    def figure(name: str, key: str) -> float:
        return median(r[name][key] for r in rounds)

    return {
        "post_with_rps": figure("post_with", "rps"),
        "post_without_rps": figure("post_without", "rps"),
        "post_overhead_pct": (1 - ratio("post_with", "post_without")) * 100,
        "get_with_rps": figure("get_with", "rps"),
        "get_without_rps": figure("get_without", "rps"),
        "get_overhead_pct": (1 - ratio("get_with", "get_without")) * 100,
        "alias_002_list_ratio": ratio("get_002_alias", "get_with"),
        "alias_devflow_get_ratio": ratio("get_one_devflow", "get_one"),
        "post_unkeyed_p50_ms": figure("post_unkeyed", "p50_ms"),
        "post_keyed_p50_ms": figure("post_keyed", "p50_ms"),
        "idempotency_added_p50_ms": median(
            r["post_keyed"]["p50_ms"] - r["post_unkeyed"]["p50_ms"] for r in rounds
        ),
        "errors": sum(r[k]["errors"] for r in rounds for k in r),
    }


def report(s: dict[str, float], rounds: int) -> str:
    return "\n".join(
        [
            f"(medians of {rounds} round(s); wrk errors {s['errors']:.0f})",
            f"alias layer, POST /api/v1/tasks: with {s['post_with_rps']:,.0f}/s"
            f"   without {s['post_without_rps']:,.0f}/s"
            f"   overhead {s['post_overhead_pct']:.1f} %   (issue: < 3 %)",
            f"alias layer, GET {LIST}: with {s['get_with_rps']:,.0f}/s"
            f"   without {s['get_without_rps']:,.0f}/s"
            f"   overhead {s['get_overhead_pct']:.1f} %   (issue: < 3 %)",
            "through an alias, same server: GET /api/v1/tasks/ (002)"
            f" {s['alias_002_list_ratio']:.2f} of GET /api/v1/tasks;"
            f" GET /api/tasks/{{id}} (DevFlow) {s['alias_devflow_get_ratio']:.2f}"
            " of GET /api/v1/tasks/{id}",
            f"Idempotency-Key, POST /api/v1/tasks p50 at 2 conns: with {s['post_keyed_p50_ms']:.2f}"
            f" ms   without {s['post_unkeyed_p50_ms']:.2f} ms"
            f"   adds {s['idempotency_added_p50_ms']:.2f} ms   (issue: < 1 ms);"
            f" the store's claim + record p50 {s['store_p50_ms']:.2f} ms",
        ]
    )


def run(server_url: str, seconds: int, rounds: int) -> dict[str, Any]:
    product_db = fresh_database(server_url)
    product, product_url = serve(product_db, aliases=True)
    plain, plain_url = serve(fresh_database(server_url), aliases=False)
    try:
        with_layer, without = prepare(product_url), prepare(plain_url)
        measured = [one_round(with_layer, without, seconds) for _ in range(rounds)]
    finally:
        for process in (product, plain):
            process.terminate()
            process.wait(timeout=30)
    figures = {**summary(measured), "store_p50_ms": store_p50_ms(product_db)}
    return {"rounds": measured, "summary": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the HTTP load (apt-get install wrk)")
    with postgres(args.database_url) as server_url:
        results = run(server_url, args.seconds, args.rounds)
    print(report(results["summary"], args.rounds))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
