"""What the alias layer and Idempotency-Key cost, measured in one run (issue 13's speed items).

    python -m bench.aliases [--seconds 3] [--rounds 5] [--database-url URL] [--json FILE]
    python -m bench.aliases --seconds 1 --rounds 1      # short: shows that it runs

Two API processes on one PostgreSQL (an embedded one unless ``--database-url`` or
``LEDGERFLOW_BENCH_DATABASE_URL`` names a server), each on its own database and with its
projections in-process: the product, and the same app without the alias layer
(``bench/alias_app.py``, ``BENCH_ALIASES=off``: no alias routes, no path rules).

A 3 % difference is smaller than this kind of machine's drift from one minute to the next, so
every comparison is made of short slices in A B B A blocks (each side measured as often first as
last, a linear drift cancels) and each block gives one ratio; ``--rounds`` is the number of
blocks. The figure printed is the median of the blocks' ratios, beside their range: with 5
blocks or more the range holds the true median with 94 % confidence or more (a sign-test
interval), and a verdict is printed only when the whole range is on one side of the target.
The comparisons, each with wrk (16 connections unless said):

1. ``POST /api/v1/tasks`` and ``GET /api/v1/tasks?limit=50``, product against plain: the
   throughput the layer costs the canonical paths (the issue: < 3 %), and the API process's CPU
   time per request (``/proc``: user + system of every thread, until the process is idle again
   after the slice, so the projections' work for the slice's writes is counted). CPU time per
   request hardly depends on what else the machine runs; throughput does;
2. on the product, a seed's path against its canonical one: 002's ``GET /api/v1/tasks/``
   (a renamed query) and DevFlow's ``GET /api/tasks/{id}`` (a presenter reshaping the answer):
   what serving through an alias costs (for information);
3. on the product, ``POST /api/v1/tasks`` with a new ``Idempotency-Key`` on every request
   against none, at 2 connections (latency, not queueing): the p50 the key adds (the issue:
   < 1 ms); and, in this process, the p50 of the store's claim of a key (the only statement
   the client waits for) and of the recording of an answer (made after the client has it).

Timings on a shared machine vary a lot: measure on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import httpx

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
from interfaces.container import conninfo

LIST = "/api/v1/tasks?limit=50"
TICK = os.sysconf("SC_CLK_TCK")
Slice = dict[str, float]


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
    """One API process: its pid, URL, a writer's token (the POST load) and a reader's (the
    GETs: they never wait for their own writes) with 100 tasks, one of whose ids."""

    pid: int
    url: str
    writer: str
    reader: str
    task_id: str


def prepare(pid: int, url: str) -> Server:
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
    drain_seconds(url)
    return Server(pid, url, writer, reader, task_id)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (ended ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def idle_cpu_seconds(pid: int, limit: float = 10.0) -> float:
    """The process's CPU time once it is idle again (its projections have caught up)."""
    deadline, last = time.monotonic() + limit, cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last <= 1 / TICK:
            return now
        last = now
    return last


def measure(server: Server, path: str, script: str, seconds: int, conns: int = 16) -> Slice:
    """One slice of load: wrk's figures and the server's CPU milliseconds per request."""
    token = server.writer if script.startswith("post") else server.reader
    before = idle_cpu_seconds(server.pid)
    httpx.get(f"{server.url}/bench/routing")  # starts the routing times again
    figures = wrk(server.url + path, script, token, seconds, conns)
    routing = httpx.get(f"{server.url}/bench/routing").json()["median_us"]
    spent = idle_cpu_seconds(server.pid) - before
    return {**figures, "cpu_ms": spent * 1000 / max(figures["requests"], 1), "routing_us": routing}


def abba(a: Callable[[], Slice], b: Callable[[], Slice]) -> dict[str, list[Slice]]:
    """One block: A, B, B, A."""
    first_a, first_b, second_b, second_a = a(), b(), b(), a()
    return {"a": [first_a, second_a], "b": [first_b, second_b]}


def one_block(product: Server, plain: Server, seconds: int) -> dict[str, dict[str, list[Slice]]]:
    """Every comparison of one block."""
    p, q, s = product, plain, seconds
    os.environ["RUN"] = uuid.uuid4().hex[:8]  # Idempotency-Keys of this block (post_task_keyed)
    one, devflow = f"/api/v1/tasks/{p.task_id}", f"/api/tasks/{p.task_id}"
    return {
        "layer_post": abba(
            lambda: measure(p, "/api/v1/tasks", "post_task.lua", s),
            lambda: measure(q, "/api/v1/tasks", "post_task.lua", s),
        ),
        "layer_get": abba(
            lambda: measure(p, LIST, "get_tasks.lua", s),
            lambda: measure(q, LIST, "get_tasks.lua", s),
        ),
        "alias_002_list": abba(
            lambda: measure(p, "/api/v1/tasks/?limit=50", "get_tasks.lua", s),
            lambda: measure(p, LIST, "get_tasks.lua", s),
        ),
        "alias_devflow_get": abba(
            lambda: measure(p, devflow, "get_tasks.lua", s),
            lambda: measure(p, one, "get_tasks.lua", s),
        ),
        "idempotency": abba(
            lambda: measure(p, "/api/v1/tasks", "post_task_keyed.lua", s, 2),
            lambda: measure(p, "/api/v1/tasks", "post_task.lua", s, 2),
        ),
    }


def store_p50_ms(db_url: str, events_table: str, count: int = 300) -> tuple[float, float]:
    """p50 of claiming a new key, and of recording an answer (in this process)."""

    async def timed() -> tuple[float, float]:
        store, claims, records = IdempotencyStore(conninfo(db_url), events_table), [], []
        try:
            await store.claim("bench", "warm-up", b"f", None)
            for _ in range(count):
                key, started = uuid.uuid4().hex, time.perf_counter()
                await store.claim("bench", key, b"fingerprint", uuid.uuid4().hex)
                claimed = time.perf_counter()
                headers = [["content-type", "application/json"]]
                await store.record("bench", key, 201, headers, b"{}" * 200)
                claims.append(claimed - started)
                records.append(time.perf_counter() - claimed)
        finally:
            await store.close()
        return median(claims) * 1000, median(records) * 1000

    return asyncio.run(timed())


def spread(blocks: list[dict[str, dict[str, list[Slice]]]], name: str, figure: str) -> list[float]:
    """Each block's ratio A / B of ``figure`` (the sums of its two A and two B slices)."""
    ratios = []
    for block in blocks:
        a, b = block[name]["a"], block[name]["b"]
        ratios.append(sum(x[figure] for x in a) / sum(x[figure] for x in b))
    return sorted(ratios)


def differences(blocks: list[dict[str, dict[str, list[Slice]]]], name: str) -> list[float]:
    """Each block's p50 of A minus p50 of B (the means of its two slices each), in ms."""
    found = []
    for block in blocks:
        a, b = block[name]["a"], block[name]["b"]
        found.append(sum(x["p50_ms"] for x in a) / 2 - sum(x["p50_ms"] for x in b) / 2)
    return sorted(found)


def summary(blocks: list[dict[str, dict[str, list[Slice]]]]) -> dict[str, Any]:
    """Per comparison: the median over the blocks and the blocks' range."""

    def cost(name: str, figure: str, slower: bool) -> dict[str, Any]:
        # throughput: the cost is 1 - A/B; CPU time per request: A/B - 1; in percent
        ratios = spread(blocks, name, figure)
        as_pct = [((1 - r) if not slower else (r - 1)) * 100 for r in ratios]
        return {"median": median(as_pct), "range": [min(as_pct), max(as_pct)]}

    def plain(name: str, figure: str) -> float:
        return median(x[figure] for block in blocks for x in block[name]["a"])

    def routing(name: str, side: str) -> float:
        return median(x["routing_us"] for block in blocks for x in block[name][side])

    def layer_share(name: str) -> dict[str, float]:
        # the layer's own time: the product's routing minus the plain app's, per request, as a
        # share of the product's CPU time per request
        cpu_us = plain(name, "cpu_ms") * 1000
        product, without = routing(name, "a"), routing(name, "b")
        return {
            "with_us": product,
            "without_us": without,
            "pct": (product - without) / cpu_us * 100,
        }

    added = differences(blocks, "idempotency")
    return {
        "layer_post_rps": cost("layer_post", "rps", slower=False),
        "layer_post_cpu": cost("layer_post", "cpu_ms", slower=True),
        "layer_get_rps": cost("layer_get", "rps", slower=False),
        "layer_get_cpu": cost("layer_get", "cpu_ms", slower=True),
        "layer_post_routing": layer_share("layer_post"),
        "layer_get_routing": layer_share("layer_get"),
        "post_with_rps": plain("layer_post", "rps"),
        "get_with_rps": plain("layer_get", "rps"),
        "post_cpu_ms": plain("layer_post", "cpu_ms"),
        "get_cpu_ms": plain("layer_get", "cpu_ms"),
        "alias_002_list_ratio": median(spread(blocks, "alias_002_list", "rps")),
        "alias_devflow_get_ratio": median(spread(blocks, "alias_devflow_get", "rps")),
        "post_keyed_p50_ms": plain("idempotency", "p50_ms"),
        "post_unkeyed_p50_ms": median(x["p50_ms"] for b in blocks for x in b["idempotency"]["b"]),
        "idempotency_added_p50_ms": {"median": median(added), "range": [added[0], added[-1]]},
        "errors": sum(x["errors"] for b in blocks for c in b.values() for x in c["a"] + c["b"]),
    }


def verdict(found: dict[str, Any], target: float, blocks: int) -> str:
    low, high = found["range"]
    text = f"{found['median']:.2f} (blocks {low:.2f} to {high:.2f})"
    if blocks < 5:
        return f"{text}: too few blocks for a verdict (--rounds 5 or more)"
    if high < target:
        return f"{text}: below {target:g}, resolved"
    if low > target:
        return f"{text}: above {target:g}, resolved"
    return f"{text}: not resolved at {target:g}"


def routing_line(found: dict[str, float]) -> str:
    return (
        f"    routing, the only place the layer acts on a canonical path: {found['with_us']:.1f}"
        f" us with, {found['without_us']:.1f} us without; the difference is"
        f" {found['pct']:.2f} % of the CPU time per request   (issue: < 3 %)"
    )


def report(s: dict[str, Any], blocks: int) -> str:
    return "\n".join(
        [
            f"({blocks} A-B-B-A block(s); wrk errors {s['errors']:.0f})",
            f"alias layer, POST /api/v1/tasks ({s['post_with_rps']:,.0f}/s,"
            f" {s['post_cpu_ms']:.2f} CPU ms/request): throughput cost %"
            f" {verdict(s['layer_post_rps'], 3, blocks)}",
            f"    CPU cost % {verdict(s['layer_post_cpu'], 3, blocks)}   (issue: < 3 %)",
            routing_line(s["layer_post_routing"]),
            f"alias layer, GET {LIST} ({s['get_with_rps']:,.0f}/s,"
            f" {s['get_cpu_ms']:.2f} CPU ms/request): throughput cost %"
            f" {verdict(s['layer_get_rps'], 3, blocks)}",
            f"    CPU cost % {verdict(s['layer_get_cpu'], 3, blocks)}   (issue: < 3 %)",
            routing_line(s["layer_get_routing"]),
            "through an alias, same server: GET /api/v1/tasks/ (002)"
            f" {s['alias_002_list_ratio']:.2f} of GET /api/v1/tasks;"
            f" GET /api/tasks/{{id}} (DevFlow) {s['alias_devflow_get_ratio']:.2f}"
            " of GET /api/v1/tasks/{id}",
            f"Idempotency-Key, POST /api/v1/tasks p50 at 2 conns: with {s['post_keyed_p50_ms']:.2f}"
            f" ms, without {s['post_unkeyed_p50_ms']:.2f} ms; adds ms"
            f" {verdict(s['idempotency_added_p50_ms'], 1, blocks)}   (issue: < 1 ms)",
            f"    the store, in this process: claim p50 {s['claim_p50_ms']:.2f} ms (before the"
            f" command), record p50 {s['record_p50_ms']:.2f} ms (after the answer)",
        ]
    )


def run(server_url: str, seconds: int, rounds: int) -> dict[str, Any]:
    product_db = fresh_database(server_url)
    product, product_url = serve(product_db, aliases=True)
    plain, plain_url = serve(fresh_database(server_url), aliases=False)
    try:
        with_layer = prepare(product.pid, product_url)
        without = prepare(plain.pid, plain_url)
        blocks = [one_block(with_layer, without, seconds) for _ in range(rounds)]
    finally:
        for process in (product, plain):
            process.terminate()
            process.wait(timeout=30)
    claim, record = store_p50_ms(product_db, "ledgerflow_events")
    figures = {**summary(blocks), "claim_p50_ms": claim, "record_p50_ms": record}
    return {"blocks": blocks, "summary": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="per slice of wrk load")
    parser.add_argument("--rounds", type=int, default=5, help="A-B-B-A blocks")
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
