"""Helpers shared by the integration tests."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psycopg

from interfaces.bootstrap import conninfo
from tests.conftest import TEST_SECRET
from tests.forked import forked_worker


def tracked(database_url: str, name: str) -> int:
    """The tracking position of projection ``name`` (0 before it exists)."""
    with psycopg.connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass('ledgerflow_tracking')").fetchone()
        if not exists or exists[0] is None:
            return 0
        row = conn.execute(
            "SELECT position FROM ledgerflow_tracking WHERE name = %s", (name,)
        ).fetchone()
        return int(row[0]) if row else 0


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.01) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def table_digest(database_url: str, table: str) -> tuple[int, str]:
    """Row count and an md5 over every column of every row, in task_id order."""
    with psycopg.connect(conninfo(database_url)) as conn:
        row = conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.task_id)), '')"
            f" FROM {table} t"
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def worker_killed_when(database_url: str, work: Any, ready: Any, timeout: float = 120) -> None:
    """Start ``ledgerflow worker`` on the database, call ``work()``, and SIGKILL the worker as
    soon as ``ready()`` holds."""
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    worker = forked_worker(env)
    try:
        work()
        wait_for(ready, timeout=timeout)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
