"""A real ``ledgerflow serve`` process over HTTP for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import TEST_SECRET, database_url_for, in_background
from tests.forked import Forked
from tests.integration.cli import LEDGERFLOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running Ledgerflow process."""

    process: subprocess.Popen[bytes] | Forked
    base_url: str
    log: Path

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_server(env: dict[str, str], log: Path, *args: str, timeout: float = 60) -> Server:
    """``ledgerflow serve ARGS`` with ``env``, its output appended to ``log``, once healthy.

    Forked from a process that has imported Ledgerflow already (tests/forked.py), except with
    ``--workers``: uvicorn's worker processes need a parent that may have children of its own.
    """
    port = free_port()
    serve = ["serve", "--port", str(port), *args]
    process: subprocess.Popen[bytes] | Forked
    if "--workers" in args:
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*LEDGERFLOW, *serve], env=env, stdout=out, stderr=subprocess.STDOUT
            )
    else:
        process = Forked(serve, env, log)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return Server(process, base_url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy: {log.read_text()}")


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a test server: the test secret, loose limits, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERFLOW_")}
    limits = {  # tests make many requests per user; rate limits have their own tests
        "LEDGERFLOW_RATE_LIMIT": "100000/minute",
        "LEDGERFLOW_LOGIN_RATE_LIMIT": "10000/minute",
        "LEDGERFLOW_LOGIN_ADDRESS_RATE_LIMIT": "10000/minute",
        "LEDGERFLOW_LOGIN_USERNAME_RATE_LIMIT": "10000/minute",
    }
    return {
        **env,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_PASSWORD_HASH_MEMORY_KIB": "1024",  # cheap hashing (tests/conftest.py)
        "LEDGERFLOW_PASSWORD_HASH_TIME_COST": "1",
        "LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # receivers of the tests listen there
        **limits,
        **extra,
    }


@contextmanager
def database_of_its_own(pg_server_url: str) -> Iterator[str]:
    """The URL of a new database on the server, dropped afterwards."""
    name = f"lf_e2e_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_for(pg_server_url, name)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server_of_its_own(pg_server_url: str, log: Path, **env: str) -> Iterator[Server]:
    """A server on a new database, with ``env`` over the test defaults (``server_env``)."""
    with database_of_its_own(pg_server_url) as url:
        running = start_server(server_env(LEDGERFLOW_DATABASE_URL=url, **env), log)
        try:
            yield running
        finally:
            running.stop()


@contextmanager
def server_stopped_in_background(pg_server_url: str, log: Path, **env: str) -> Iterator[Server]:
    """``server_of_its_own``, but the server stops and its database goes in the background,
    while the next tests run (for module fixtures: nothing reads the log or the database
    afterwards)."""
    stack = ExitStack()
    running = stack.enter_context(server_of_its_own(pg_server_url, log, **env))
    try:
        yield running
    finally:
        in_background(stack.close)


@pytest.fixture(scope="module")
def server(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, on a database of its own."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with server_stopped_in_background(pg_server_url, log) as running:
        yield running


@pytest.fixture
def base_url(server: Server) -> str:
    return server.base_url


# Every error body: Ledgerflow's detail/code and the seeds' message/statusCode/timestamp/error.
ERROR_FIELDS = {"detail", "code", "message", "statusCode", "timestamp", "error"}


@contextmanager
def own_server(
    pg_server_url: str, tmp_path_factory: pytest.TempPathFactory, **env: str
) -> Iterator[Server]:
    """A server on a database of its own, with ``env`` beside the test defaults (for module
    fixtures: it stops in the background)."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with server_stopped_in_background(pg_server_url, log, **env) as running:
        yield running


@contextmanager
def server_on_own_database(
    pg_server_url: str, directory: Path, *args: str, **env: str
) -> Iterator[Server]:
    """A server (``serve`` arguments ``args``, extra environment ``env``) on a new database."""
    with database_of_its_own(pg_server_url) as url:
        running = start_server(
            server_env(LEDGERFLOW_DATABASE_URL=url, **env), directory / "log", *args
        )
        try:
            yield running
        finally:
            running.stop()
