"""Processes starting at once set up the same read-model tables without deadlocking."""

from concurrent.futures import ThreadPoolExecutor

import psycopg

from interfaces.bootstrap import build
from interfaces.container import conninfo
from tests.conftest import make_settings


def test_followers_of_several_processes_set_up_their_tables_at_once(database_url):
    """Every follower's setup (tracking row, tables, ALTER TABLE upgrades) runs in its own
    thread and connection, three processes' worth at once (eight at a time: the test server
    allows a hundred connections to every test), twice: none fails with a deadlock."""
    container = build(make_settings(database_url, run_projections=False))
    try:
        followers = [*container.runners, *container.reactors] * 3

        def set_up(follower) -> None:
            with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
                follower.setup(conn)

        for _ in range(2):
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(set_up, followers))
        with psycopg.connect(conninfo(database_url)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM ledgerflow_tracking")}
        assert {runner.projection.name for runner in container.runners} <= names
    finally:
        container.close()
