"""Agents benchmark: simulated agents long-polling for commands and completing them.

    python -m bench.agents [--agents 50] [--seconds 10] [--runs 3] [--database-url URL]

A real server (``ledgerflow serve``, one process, its ``/metrics`` sampler at its default
interval) on one PostgreSQL (embedded unless ``--database-url`` or
``LEDGERFLOW_BENCH_DATABASE_URL``), a fresh database per run. ``--agents`` agents register over
HTTP; each polls ``GET /api/agents/{id}/commands?wait=30`` with its agent token, completes every
command it gets, and heartbeats every 5 s.
Four phases, each ``--seconds`` long except the idle one; printed per run and as medians:

1. idle: every agent waits in a long poll and nothing happens. The window starts 11 s after
   /metrics' ``ledgerflow_agent_polls_waiting`` counts every agent (PostgreSQL 15 reports an
   idle backend's table statistics up to 10 s late: the polls' arrival must not leak in), lasts
   up to 16 s (5 s and the same slack for the window's own scans to be reported) and ends a
   second before the first poll's ``wait`` runs out, so no poll comes back in it
   (``idle_seconds``: its length). ``idle_task_scans``: ``seq_scan + idx_scan`` of the tasks
   table in ``pg_stat_user_tables`` (target 0: the wait is woken by notification, not a loop);
   ``idle_passes``: the lease broker's queue queries (``ledgerflow_agent_lease_passes_total``,
   exact; target 0; -1 from a server without it).
2. ceiling: 16 clients POST /api/v1/tasks as fast as the server takes them (``posts_per_s``), as
   another user, so that no agent sees these tasks.
3. saturation: the agents' owner keeps a bounded backlog (``2 x agents`` dispatched and not yet
   completed) topped up by 16 clients, so the agents always find work and the queue never
   grows: commands completed per second (``completed_per_s``) and ``ratio`` = completed /
   POST ceiling (target >= 1/3; each command is a POST, a lease and a completion).
4. paced: tasks POSTed at half the saturation rate (an open loop: a POST every 1/rate s, not
   waiting for completions): dispatch -> lease latency from the POST's 201 to the poll answer
   that carries the task, p50/p99 (target p99 < 100 ms).

Leases over the whole run, from the event log: ``double_leases`` counts a ``task.leased`` while
the task's previous lease was still held (no expiry, failure, completion or cancellation
between; target 0); ``re_leases`` counts leases after an expiry or a failure (none expected: no
lease expires and no agent fails here); ``seen_twice`` counts tasks that two agents received
while the first one's lease had not expired (the client's view; target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from bench.load import percentile
from bench.run import SECRET, account, free_port, fresh_database, postgres, start

INTENT = "bench"
POSTERS = 16
IDLE_SECONDS = 5.0
FLUSH = 11.0  # PostgreSQL 15 flushes an idle backend's table statistics after 10 s
PASSES = "ledgerflow_agent_lease_passes_total"
WAIT = 30  # the polls' long-poll seconds (the most the server takes)
HEARTBEAT_SECONDS = 5.0
ENDS_LEASE = {
    "task.lease_expired",
    "task.failed",
    "task.completed",
    "task.cancelled",
    "task.dead_lettered",
    "task.requeued",
}


def serve(db_url: str) -> tuple[Any, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": db_url,
        "LEDGERFLOW_SECRET_KEY": SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_RATE_LIMIT": "10000000/minute",
        "LEDGERFLOW_AGENT_RATE_LIMIT": "10000000/minute",
        "LEDGERFLOW_AGENT_HEARTBEAT_RATE_LIMIT": "10000000/minute",
    }
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)]
    return start(command, env, base, "/health"), base


def scans(db_url: str) -> tuple[int, int]:
    """Scans of the tasks table and of every table so far (``pg_stat_user_tables``)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
        ).fetchall()
    return sum(n for name, n in rows if name == "tasks"), sum(n for _, n in rows)


async def metric(base: str, name: str) -> float:
    """One unlabelled number of /metrics (which reads no database): -1 when the server has no
    such metric (a version before it)."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return -1.0


async def polls_waiting(base: str, count: int, limit: float = 30.0) -> None:
    """Return once ``count`` polls wait in the server's lease broker, or after ``limit`` s (3 s
    for a server without the gauge)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        waiting = await metric(base, "ledgerflow_agent_polls_waiting")
        if waiting >= count:
            return
        if waiting < 0:
            await asyncio.sleep(3.0)
            return
        await asyncio.sleep(0.2)


async def idle_window(base: str, db_url: str, deadline: float) -> tuple[int, float, float]:
    """Scans of the tasks table and lease passes while every poll waits and nothing happens, from
    ``FLUSH`` s after they all wait (PostgreSQL reports an idle backend's scans up to 10 s late)
    for up to ``IDLE_SECONDS + FLUSH``, ending before ``deadline``; and the window's length."""
    await asyncio.sleep(max(0.0, min(FLUSH, deadline - time.perf_counter() - 2)))
    started = time.perf_counter()
    scans_before = (await asyncio.to_thread(scans, db_url))[0]
    passes_before = await metric(base, PASSES)
    await asyncio.sleep(max(0.0, min(IDLE_SECONDS + FLUSH, deadline - time.perf_counter())))
    passes = await metric(base, PASSES) - passes_before if passes_before >= 0 else -1.0
    return (
        (await asyncio.to_thread(scans, db_url))[0] - scans_before,
        passes,
        (time.perf_counter() - started),
    )


def leases(db_url: str) -> tuple[int, int]:
    """(double leases, re-leases) in the event log: see the module's docstring."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, topic FROM ledgerflow_events WHERE topic LIKE 'task.%%'"
            " ORDER BY originator_id, originator_version"
        ).fetchall()
    double = again = 0
    held: dict[Any, bool] = {}
    ended: dict[Any, bool] = {}
    for task_id, topic in rows:
        if topic == "task.leased":
            if held.get(task_id):
                double += 1
            elif ended.get(task_id):
                again += 1
            held[task_id] = True
        elif topic in ENDS_LEASE:
            held[task_id] = False
            ended[task_id] = topic != "task.completed"
    return double, again


class Run:
    """One run's clients and what they saw."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.user = {"Authorization": f"Bearer {token}"}
        self.created: dict[str, float] = {}
        self.leased: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.holders: dict[str, tuple[str, datetime]] = {}
        self.seen_twice = 0
        self.sent: dict[str, float] = {}  # agent -> when its current poll was sent
        self.stop = False

    async def register(self, client: httpx.AsyncClient, count: int) -> list[tuple[str, str]]:
        agents = []
        for i in range(count):
            body = {
                "agentId": f"bench-{i}",
                "name": f"a{i}",
                "version": "1",
                "capabilities": [INTENT],
            }
            answer = (await client.post("/api/agents", json=body, headers=self.user)).json()
            agents.append((answer["agent"]["id"], answer["token"]))
        return agents

    def _received(self, agent_id: str, command: dict[str, Any], now: float) -> None:
        task_id = command["task_id"]
        self.leased.setdefault(task_id, now)
        expires = datetime.fromisoformat(command["lease_expires_at"].replace("Z", "+00:00"))
        holder = self.holders.get(task_id)
        if holder is not None and holder[0] != agent_id and holder[1] > datetime.now(UTC):
            self.seen_twice += 1
        self.holders[task_id] = (agent_id, expires)

    async def heartbeat(self, client: httpx.AsyncClient, agent_id: str) -> None:
        """Every ``nextPollInterval`` (5 s), as DevFlow's agents do: an agent that stays silent
        for ``LEDGERFLOW_AGENT_OFFLINE_AFTER`` (60 s) goes offline and its leases are re-leased,
        which a run longer than a minute would otherwise count."""
        while not self.stop:
            await client.post(f"/api/agents/{agent_id}/heartbeat", json={"status": "ready"})
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def agent(self, agent_id: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=120) as client:
            beating = asyncio.create_task(self.heartbeat(client, agent_id))
            try:
                await self.work(client, agent_id)
            finally:
                beating.cancel()

    async def work(self, client: httpx.AsyncClient, agent_id: str) -> None:
        while not self.stop:
            self.sent[agent_id] = time.perf_counter()
            answer = await client.get(f"/api/agents/{agent_id}/commands", params={"wait": WAIT})
            now = time.perf_counter()
            for command in answer.json()["commands"]:
                self._received(agent_id, command, now)
                task_id = command["task_id"]
                done = await client.post(f"/api/tasks/{task_id}/complete", json={"summary": "ok"})
                if done.status_code == 200:
                    self.completed[task_id] = time.perf_counter()

    async def post(self, client: httpx.AsyncClient) -> None:
        answer = await client.post("/api/v1/tasks", json={"name": "work", "intent": INTENT})
        if answer.status_code == 201:
            self.created[answer.json()["task_id"]] = time.perf_counter()

    def backlog(self) -> int:
        return len(self.created) - len(self.completed)


async def clients(count: int, work: Callable[[], Awaitable[None]]) -> None:
    await asyncio.gather(*(work() for _ in range(count)))


async def ceiling(base: str, seconds: float) -> float:
    """POST /api/v1/tasks per second, 16 clients, as a user no agent works for."""
    token, _ = account(base, "ceiling")
    headers = {"Authorization": f"Bearer {token}"}
    posted = 0
    until = time.perf_counter() + seconds

    async def poster(client: httpx.AsyncClient) -> None:
        nonlocal posted
        while time.perf_counter() < until:
            answer = await client.post("/api/v1/tasks", json={"name": "work", "intent": INTENT})
            posted += answer.status_code == 201

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
        await clients(POSTERS, lambda: poster(client))
    return posted / (time.perf_counter() - started)


async def saturation(run: Run, client: httpx.AsyncClient, seconds: float, limit: int) -> float:
    """Commands completed per second with a backlog of at most ``limit`` tasks."""
    until = time.perf_counter() + seconds
    done_before = len(run.completed)

    async def poster() -> None:
        while time.perf_counter() < until:
            if run.backlog() >= limit:
                await asyncio.sleep(0.002)
                continue
            await run.post(client)

    started = time.perf_counter()
    await clients(POSTERS, poster)
    return (len(run.completed) - done_before) / (time.perf_counter() - started)


async def paced(run: Run, client: httpx.AsyncClient, seconds: float, rate: float) -> list[float]:
    """Dispatch -> lease latencies (ms) of tasks POSTed at ``rate`` per second."""
    before = set(run.created)
    pending: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for i in range(max(1, int(seconds * rate))):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        pending.append(asyncio.create_task(run.post(client)))
    await asyncio.gather(*pending)
    await drain(run, 30)
    return [(run.leased[t] - at) * 1000 for t, at in run.created.items() if t not in before]


async def drain(run: Run, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while run.backlog() > 0 and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


async def measure(base: str, db_url: str, agents: int, seconds: float) -> dict[str, float]:
    token, _ = account(base, "bench")
    run = Run(base, token)
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=run.user) as client:
        registered = await run.register(client, agents)
        pollers = [asyncio.create_task(run.agent(a, t)) for a, t in registered]
        await polls_waiting(base, agents)
        # the window ends a second before the first poll's wait runs out (it would come back)
        ends = min(run.sent.values()) + WAIT - 1.0
        idle_scans, idle_passes, idle_seconds = await idle_window(base, db_url, ends)
        posts = await ceiling(base, seconds)
        completed = await saturation(run, client, seconds, 2 * agents)
        await drain(run, 60)
        latency = await paced(run, client, seconds, max(1.0, completed / 2))
        run.stop = True
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
    double, again = leases(db_url)
    return {
        "posts_per_s": posts,
        "completed_per_s": completed,
        "ratio": completed / posts if posts else float("nan"),
        "paced_per_s": max(1.0, completed / 2),
        "lease_p50_ms": percentile(latency, 50),
        "lease_p99_ms": percentile(latency, 99),
        "double_leases": double,
        "re_leases": again,
        "seen_twice": run.seen_twice,
        "idle_seconds": idle_seconds,
        "idle_task_scans": idle_scans,
        "idle_passes": idle_passes,
        "unfinished": run.backlog(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    results = []
    with postgres(args.database_url) as server_url:
        for index in range(args.runs):
            db_url = fresh_database(server_url)
            process, base = serve(db_url)
            try:
                result = asyncio.run(measure(base, db_url, args.agents, args.seconds))
            finally:
                process.terminate()
                process.wait(timeout=30)
            results.append(result)
            print(f"run {index + 1}: " + " ".join(f"{k}={v:.2f}" for k, v in result.items()))
    medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print("median: " + " ".join(f"{k}={v:.2f}" for k, v in medians.items()))


if __name__ == "__main__":
    main()
