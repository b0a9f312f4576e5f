"""Paced load and projection-lag measurement for the benchmarks."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from bisect import bisect_left
from datetime import datetime
from pathlib import Path

import psycopg

from interfaces.bootstrap import conninfo
from projections.schema import PROJECTION_CHANNEL, parse_progress


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
                    progress = parse_progress(note.payload)
                    if "tasks" in progress:
                        self.times.append(time.time())
                        self.positions.append(progress["tasks"])

    def applied_at(self, position: int) -> float | None:
        """When the read model first covered ``position``."""
        index = bisect_left(self.positions, position)
        return self.times[index] if index < len(self.positions) else None


def paced_posts(
    base_url: str, db_url: str, token: str, rate: int, seconds: int, connections: int = 20
) -> dict[str, float]:
    """POST at about ``rate``/s (wrk, fixed delay per connection); lag = the read model's commit
    notice minus the event's own timestamp (taken before the command commits: conservative)."""
    interval_ms = max(1, round(connections * 1000 / rate) - 7)  # minus a typical response time
    script = Path(__file__).parent / "wrk" / "paced_post.lua"
    report = Path(__file__).parent / "wrk" / "report.lua"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script.read_text() + "\n" + report.read_text())
    with CommitListener(db_url) as listener:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                lua.name,
                f"{base_url}/api/v1/tasks",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TOKEN": token, "INTERVAL_MS": str(interval_ms)},
        ).stdout
        time.sleep(1.0)
    os.unlink(lua.name)
    lags = []
    for line in out.splitlines():
        if line.startswith("POS "):
            _, position, created = line.split()
            applied = listener.applied_at(int(position))
            if applied is not None:
                lags.append(max(0.0, applied - datetime.fromisoformat(created).timestamp()) * 1000)
    summary = dict(
        part.split("=")
        for part in next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
    )
    return {
        "achieved_rate": float(summary["rps"]),
        "commands": float(summary["requests"]),
        "measured": len(lags),
        "p50_ms": percentile(lags, 50),
        "p99_ms": percentile(lags, 99),
        "command_p50_ms": float(summary["p50_ms"]),
        "command_p99_ms": float(summary["p99_ms"]),
    }
