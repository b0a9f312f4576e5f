"""Agents benchmark: simulated agents long-polling for commands and completing them.

    python -m bench.agents [--agents 50] [--seconds 20] [--runs 3] [--database-url URL]

A real server (``ledgerflow serve``, one process) on one PostgreSQL (embedded unless
``--database-url`` / ``LEDGERFLOW_BENCH_DATABASE_URL``), a fresh database per run. ``--agents``
agents register over HTTP and poll ``GET /api/agents/{id}/commands?wait=25`` with their agent
tokens, completing every command they get. Meanwhile 16 clients POST /api/v1/tasks with the
agents' intent as fast as the server takes them, for ``--seconds``. Printed per run and as medians:

- POST /api/v1/tasks per second (the ceiling measured in the same run),
- commands completed per second (first POST to last completion) and its ratio to the above
  (target >= 1/3),
- dispatch -> lease latency: from a POST's 201 to the poll answer carrying it, p50 and p99
  (target p99 < 100 ms),
- double leases: tasks with more than one ``task.leased`` event (target 0),
- idle cost: scans of the tasks table while every agent waits in a long poll and nothing happens
  for 5 s (target 0: the long poll is woken by notification, not a loop).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

import httpx
import psycopg

from bench.load import percentile
from bench.run import SECRET, account, free_port, fresh_database, postgres, start

INTENT = "bench"
POSTERS = 16


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
        # the /metrics sampler counts tasks by status every 5 s: not the polls' cost, so it
        # samples once at start and not during the idle window
        "LEDGERFLOW_METRICS_SAMPLE_SECONDS": "3600",
        "LEDGERFLOW_AGENT_HEARTBEAT_RATE_LIMIT": "10000000/minute",
    }
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)]
    return start(command, env, base, "/health"), base


def table_scans(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'tasks'"
        ).fetchone()
    return int(row[0]) if row else 0


def double_leases(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM (SELECT originator_id FROM ledgerflow_events"
            " WHERE topic = 'task.leased' GROUP BY originator_id HAVING count(*) > 1) t"
        ).fetchone()
    return int(row[0]) if row else 0


class Run:
    """One run's clients and what they saw."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.user = {"Authorization": f"Bearer {token}"}
        self.created: dict[str, float] = {}
        self.leased: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.posting = True
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

    async def agent(self, agent_id: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=60) as client:
            while not self.stop:
                answer = await client.get(f"/api/agents/{agent_id}/commands", params={"wait": 25})
                now = time.perf_counter()
                for command in answer.json()["commands"]:
                    task_id = command["task_id"]
                    self.leased.setdefault(task_id, now)
                    done = await client.post(
                        f"/api/tasks/{task_id}/complete", json={"summary": "ok"}
                    )
                    if done.status_code == 200:
                        self.completed[task_id] = time.perf_counter()

    async def poster(self, client: httpx.AsyncClient, until: float) -> None:
        while time.perf_counter() < until:
            answer = await client.post("/api/v1/tasks", json={"name": "work", "intent": INTENT})
            if answer.status_code == 201:
                self.created[answer.json()["task_id"]] = time.perf_counter()


async def measure(base: str, db_url: str, agents: int, seconds: float) -> dict[str, float]:
    token, _ = account(base, "bench")
    run = Run(base, token)
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=run.user) as client:
        registered = await run.register(client, agents)
        pollers = [asyncio.create_task(run.agent(a, t)) for a, t in registered]
        await asyncio.sleep(1.0)  # every agent is in a long poll
        before = table_scans(db_url)
        await asyncio.sleep(5.0)
        idle_scans = table_scans(db_url) - before
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(run.poster(client, until) for _ in range(POSTERS)))
        posted = time.perf_counter() - started
        deadline = time.perf_counter() + 120
        while len(run.completed) < len(run.created) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        run.stop = True
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
    finished = max(run.completed.values(), default=started)
    latency = [(run.leased[t] - at) * 1000 for t, at in run.created.items() if t in run.leased]
    posts = len(run.created) / posted
    done = len(run.completed) / max(finished - started, 1e-9)
    return {
        "posts_per_s": posts,
        "completed_per_s": done,
        "ratio": done / posts if posts else float("nan"),
        "lease_p50_ms": percentile(latency, 50),
        "lease_p99_ms": percentile(latency, 99),
        "double_leases": double_leases(db_url),
        "idle_scans": idle_scans,
        "unfinished": len(run.created) - len(run.completed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
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
            print(f"run {index + 1}: " + " ".join(f"{k}={v:.1f}" for k, v in result.items()))
    medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print("median: " + " ".join(f"{k}={v:.1f}" for k, v in medians.items()))


if __name__ == "__main__":
    main()
