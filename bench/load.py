"""Paced load and projection-lag measurement for the benchmarks."""

from __future__ import annotations

import asyncio
import threading
import time
from bisect import bisect_left
from datetime import datetime
from typing import Any

import httpx
import psycopg

from interfaces.bootstrap import conninfo
from projections.schema import PROJECTION_CHANNEL


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


class CommitListener:
    """Records when each tasks-projection commit is announced (wall clock, position)."""

    def __init__(self, db_url: str) -> None:
        self.times: list[float] = []
        self.positions: list[int] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, args=(db_url,))

    def __enter__(self) -> CommitListener:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self, db_url: str) -> None:
        with psycopg.connect(conninfo(db_url), autocommit=True) as conn:
            conn.execute(f'LISTEN "{PROJECTION_CHANNEL}"')
            self._ready.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.1):
                    name, _, position = note.payload.rpartition(":")
                    if name == "tasks":
                        self.times.append(time.time())
                        self.positions.append(int(position))

    def applied_at(self, position: int) -> float | None:
        """When the read model first covered ``position``."""
        index = bisect_left(self.positions, position)
        return self.times[index] if index < len(self.positions) else None


async def _paced(base_url: str, token: str, rate: int, seconds: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    answers: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:

        async def one(i: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            sent = time.monotonic()
            answer = await client.post("/api/v1/tasks", json={"name": f"lag {i}"})
            if answer.status_code == 201:
                body = answer.json()
                body["_latency"] = time.monotonic() - sent
                answers.append(body)

        start = time.monotonic() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(rate * seconds)))
    return answers


def paced_posts(
    base_url: str, db_url: str, token: str, rate: int, seconds: int
) -> dict[str, float]:
    """POST at a fixed rate; lag = read-model commit notice minus the event's own timestamp."""
    with CommitListener(db_url) as listener:
        started = time.monotonic()
        answers = asyncio.run(_paced(base_url, token, rate, seconds))
        elapsed = time.monotonic() - started
        time.sleep(1.0)
    lags = []
    for body in answers:
        applied = listener.applied_at(body["position"])
        if applied is not None:
            created = datetime.fromisoformat(body["created_at"]).timestamp()
            lags.append(max(0.0, applied - created) * 1000)
    latencies = [b["_latency"] * 1000 for b in answers]
    return {
        "achieved_rate": len(answers) / elapsed,
        "commands": len(answers),
        "measured": len(lags),
        "p50_ms": percentile(lags, 50),
        "p99_ms": percentile(lags, 99),
        "command_p50_ms": percentile(latencies, 50),
        "command_p99_ms": percentile(latencies, 99),
    }
