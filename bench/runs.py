"""Run engine benchmark: runs of a 3-step flow (task -> task -> task) next to POST /api/v1/tasks.

    python -m bench.runs [--seconds 10] [--clients 8] [--paced-rate 50] [--list-runs 100000]
                         [--database-url URL]

Against a real ``ledgerflow serve`` (one PostgreSQL, a throwaway Redis), in one run:
1. ``POST /api/v1/tasks`` as fast as ``--clients`` clients go for ``--seconds``: tasks/s;
2. ``POST /api/v1/flows/{id}/runs`` as fast as they go for ``--seconds``, then until every run
   finished: completed runs/s, start -> succeeded latency p50/p99 and the step transition latency
   (a step succeeded -> the next step started) p50/p99, read from the runs read model's times;
3. the same at a paced ``--paced-rate`` runs/s: the step transition p99 the issue targets;
4. with ``--list-runs N``: GET /api/v1/runs/{id} and the runs list at 1k runs and at N runs.
Targets (issue 14): completed runs/s >= 1/3 of tasks/s; transition p99 < 50 ms at 50 runs/s; the
GETs flat (within 20 %) from 1k to 100k runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench.events import serve
from bench.load import percentile
from bench.run import SECRET, fresh_database, postgres, redis_server
from bench.run_seed import seed_runs, wait_caught_up
from interfaces.bootstrap import conninfo

PASSWORD = "bench-password-123"
STEPS = [{"key": k, "name": k, "type": "task", "config": {"name": k}} for k in ("a", "b", "c")]


def flood(base: str, headers: dict[str, str], path: str, seconds: float, clients: int) -> list[str]:
    """POST ``path`` from ``clients`` clients for ``seconds``; the ids answered."""
    ids: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while time.monotonic() < stop:
                answer = http.post(path, json={"name": "bench"} if "tasks" in path else {})
                answer.raise_for_status()
                with lock:
                    ids.append(answer.json().get("run_id") or answer.json().get("task_id"))

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(client)
    return ids


def paced(base: str, headers: dict[str, str], path: str, rate: float, seconds: float) -> list[str]:
    """POST ``path`` at about ``rate``/s for ``seconds``; the run ids."""
    ids: list[str] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        started = time.monotonic()
        for i in range(int(rate * seconds)):
            time.sleep(max(0.0, started + i / rate - time.monotonic()))
            ids.append(http.post(path, json={}).json()["run_id"])
    return ids


def wait_finished(db: str, ids: list[str], timeout: float = 600) -> float:
    """Wait until every run finished; the wall time of the last completion (epoch s)."""
    if not ids:
        return time.time()
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(db)) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*), extract(epoch FROM max(completed_at)) FROM runs"
                " WHERE run_id = ANY(%s::uuid[]) AND completed_at IS NOT NULL",
                (ids,),
            ).fetchone()
            assert row is not None
            if row[0] == len(ids):
                return float(row[1])
            time.sleep(0.2)
    raise RuntimeError("runs did not finish in time")


def latencies(db: str, ids: list[str]) -> dict[str, float]:
    """Start -> succeeded and step transition latencies (ms) of these runs."""
    with psycopg.connect(conninfo(db)) as conn:
        runs = conn.execute(
            "SELECT extract(epoch FROM completed_at - created_at) * 1000 FROM runs"
            " WHERE run_id = ANY(%s::uuid[]) AND status = 'succeeded'",
            (ids,),
        ).fetchall()
        # The next step starts in the same commit as the previous one's success (the Run
        # decides both), so "started" is ~0 by construction; its work (the task it creates)
        # is the engine's next reaction: "worked" is previous succeeded -> next succeeded.
        steps = conn.execute(
            "SELECT extract(epoch FROM s.started_at - p.completed_at) * 1000,"
            " extract(epoch FROM s.completed_at - p.completed_at) * 1000"
            " FROM runs_steps s JOIN runs_steps p ON p.run_id = s.run_id AND p.ord = s.ord - 1"
            " WHERE s.run_id = ANY(%s::uuid[]) AND s.started_at IS NOT NULL",
            (ids,),
        ).fetchall()
    run_ms = [float(r[0]) for r in runs]
    step_ms = [float(r[0]) for r in steps]
    work_ms = [float(r[1]) for r in steps]
    return {
        "run_p50_ms": percentile(run_ms, 50),
        "run_p99_ms": percentile(run_ms, 99),
        "transition_p50_ms": percentile(step_ms, 50),
        "transition_p99_ms": percentile(step_ms, 99),
        "worked_p50_ms": percentile(work_ms, 50),
        "worked_p99_ms": percentile(work_ms, 99),
    }


def get_times(
    base: str, headers: dict[str, str], run_id: str, flow_id: str, seed_flow: str
) -> dict[str, float]:
    """Median times (ms) of GET one run and of the runs list, unfiltered and per filter (the
    time range: two hours either side of the current hour, on hours' edges: a range with an
    edge inside an hour also counts the runs between that edge and the hour's, see
    ``projections/run_counts.py``)."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    since = (hour - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (hour + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = {
        "get_run": f"/api/v1/runs/{run_id}",
        "list_runs": "/api/v1/runs",
        "list_runs_flow": f"/api/v1/runs?flow_id={flow_id}",
        "list_runs_seed_flow": f"/api/v1/runs?flow_id={seed_flow}",
        "list_runs_status": "/api/v1/runs?status=succeeded",
        "list_runs_trigger": "/api/v1/runs?trigger=manual",
        "list_runs_since": "/api/v1/runs?since=2000-01-01T00:00:00Z",
        "list_runs_until": "/api/v1/runs?until=2100-01-01T00:00:00Z",
        "list_runs_range": f"/api/v1/runs?since={since}&until={until}",
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for path in paths.values():
            http.get(path).raise_for_status()  # warm
        for _ in range(100):  # round-robin: a burst of load elsewhere hits every path alike
            for name, path in paths.items():
                started = time.perf_counter()
                http.get(path).raise_for_status()
                times[name].append((time.perf_counter() - started) * 1000)
    return {name: percentile(values, 50) for name, values in times.items()}


def fill_runs(db: str, owner_id: str, flow_id: str, total: int) -> tuple[float, float]:
    """Seed runs of ``flow_id`` until ``total`` runs exist, wait for every follower; the seconds
    the seeding took and the seconds the followers took to catch up after it."""
    with psycopg.connect(conninfo(db)) as conn:
        have = conn.execute("SELECT count(*) FROM runs").fetchone()
    assert have is not None
    started = time.monotonic()
    seed_runs(db, UUID(owner_id), UUID(flow_id), total - int(have[0]))
    seeded = time.monotonic() - started
    if int(have[0]) > total:
        print(f"(the runs table already holds {int(have[0]):,} runs: measured at that size)")
    caught_up = wait_caught_up(db)
    with psycopg.connect(conninfo(db), autocommit=True) as conn:
        # What autovacuum does on its own (these machines' PostgreSQL runs without it): the
        # planner's statistics and the dead row versions of the rows updated per event.
        conn.execute("VACUUM ANALYZE runs, runs_steps, runs_counts")
    return seeded, caught_up


def list_times(base: str, headers: dict[str, str], db: str, flow_id: str, sizes: int) -> None:
    """The GETs at 1k runs and at ``sizes`` runs, and their ratios. The runs seeded are of a
    one-step flow of their own (5 events a run instead of 9: the seeding takes about half as
    long), so ``?flow_id=`` of the benchmark's flow selects its few hundred runs among them;
    GET /api/v1/runs/{id} reads the same run of the benchmark's flow at both sizes."""
    owner = httpx.get(f"{base}/me", headers=headers).json()["user_id"]
    seed = {"name": "seed", "steps": STEPS[:1]}
    seed_flow = httpx.post(f"{base}/api/v1/flows", headers=headers, json=seed).json()["flow_id"]
    with psycopg.connect(conninfo(db)) as conn:
        found = conn.execute(
            "SELECT run_id::text FROM runs WHERE flow_id = %s AND status = 'succeeded'"
            " ORDER BY created_at LIMIT 1",
            (flow_id,),
        ).fetchone()
    assert found is not None
    figures = []
    for size in (1000, sizes):
        seeded, caught_up = fill_runs(db, owner, seed_flow, size)
        print(f"{size:,} runs: seeded in {seeded:.0f} s, followers caught up in {caught_up:.0f} s")
        figures.append(get_times(base, headers, found[0], flow_id, seed_flow))
    print(f"| median of 100 (ms) | 1k runs | {sizes / 1000:g}k runs | ratio |")
    print("|---|---|---|---|")
    for name, small in figures[0].items():
        large = figures[1][name]
        print(f"| {name} | {small:.2f} | {large:.2f} | {large / small:.2f} |")


def main() -> None:
    """Measure and print each figure beside its reference."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--paced-rate", type=float, default=50)
    parser.add_argument("--list-runs", type=int, default=0)
    parser.add_argument("--database-url", default=os.environ.get("LEDGERFLOW_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ledgerflow-bench-runs-"))
    with redis_server() as redis_url, postgres(args.database_url) as server_url:
        db = fresh_database(server_url)
        port = 19000 + os.getpid() % 1000
        env = {**os.environ, "LEDGERFLOW_DATABASE_URL": db, "LEDGERFLOW_REDIS_URL": redis_url}
        env |= {"LEDGERFLOW_SECRET_KEY": SECRET, "LEDGERFLOW_LOG_LEVEL": "warning"}
        env |= {"LEDGERFLOW_RATE_LIMIT": "1000000/minute"}
        process = serve(env, port, tmp / "server.log")
        try:
            report(f"http://127.0.0.1:{port}", db, args)
        finally:
            process.terminate()
            process.wait(timeout=30)
            name = conninfo_to_dict(db)["dbname"]
            with psycopg.connect(server_url, autocommit=True) as conn:  # a given server keeps none
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def report(base: str, db: str, args: argparse.Namespace) -> None:
    """The measurements, printed."""
    user = {"username": "bench", "password": PASSWORD, "name": "B", "lastname": "B"}
    httpx.post(f"{base}/register", json=user, timeout=60).raise_for_status()
    login = {"username": "bench", "password": PASSWORD}
    token = httpx.post(f"{base}/login", json=login, timeout=60).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    tasks = flood(base, headers, "/api/v1/tasks", args.seconds, args.clients)
    tasks_rate = len(tasks) / args.seconds
    print(f"POST /api/v1/tasks: {tasks_rate:,.0f}/s")
    flow = httpx.post(f"{base}/api/v1/flows", headers=headers, json={"name": "b", "steps": STEPS})
    path = f"/api/v1/flows/{flow.json()['flow_id']}/runs"
    began = time.time()
    runs = flood(base, headers, path, args.seconds, args.clients)
    last = wait_finished(db, runs)
    done_rate = len(runs) / (last - began)
    print(f"runs started: {len(runs) / args.seconds:,.1f}/s")
    print(f"runs completed: {done_rate:,.1f}/s ({done_rate / tasks_rate:.2f} of tasks/s; >= 0.33)")
    for name, value in latencies(db, runs).items():
        print(f"  flooded {name}: {value:.1f}")
    paced_runs = paced(base, headers, path, args.paced_rate, args.seconds)
    wait_finished(db, paced_runs)
    for name, value in latencies(db, paced_runs).items():
        print(f"  at {args.paced_rate:g} runs/s {name}: {value:.1f}")
    if args.list_runs:
        list_times(base, headers, db, flow.json()["flow_id"], args.list_runs)


if __name__ == "__main__":
    main()
