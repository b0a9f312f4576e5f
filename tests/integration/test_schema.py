"""Creating the schema: idempotent, and safe when several processes start at once."""

from __future__ import annotations

import subprocess

import psycopg

from projections.api_key import ApiKeyProjection
from tests.integration.cli import LEDGERFLOW, cli_env
from tests.integration.helpers import wait_for

STARTING = 4


def waiting_on_locks(database_url):
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
    return row[0]


def test_processes_starting_together_on_an_empty_database_all_create_the_schema(database_url):
    with psycopg.connect(database_url) as gate:
        # Holding the catalog of types makes every process wait at its first CREATE, so that
        # all of them create the schema at the same moment once the gate opens.
        gate.execute("LOCK TABLE pg_catalog.pg_type IN EXCLUSIVE MODE")
        starting = [
            subprocess.Popen(
                [*LEDGERFLOW, "migrate"],
                env=cli_env(database_url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(STARTING)
        ]
        try:
            wait_for(lambda: waiting_on_locks(database_url) >= STARTING, timeout=120)
        finally:
            gate.rollback()
    results = [process.communicate(timeout=120) for process in starting]
    for process, (out, err) in zip(starting, results, strict=True):
        assert process.returncode == 0, err
        assert out == "schema up to date\n"
    with psycopg.connect(database_url) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
    assert {"ledgerflow_events", "ledgerflow_tracking", "tasks", "users"} <= tables


def test_an_api_keys_table_made_before_key_limits_gains_the_column(database_url):
    old_columns = (
        "api_key_id uuid PRIMARY KEY, user_id uuid NOT NULL, name text NOT NULL,"
        " scopes text[] NOT NULL, key_hash text NOT NULL, prefix text NOT NULL,"
        " expires_at timestamptz, revoked boolean NOT NULL DEFAULT false,"
        " created_at timestamptz NOT NULL, position bigint NOT NULL"
    )
    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE old_keys (" + old_columns + ")")
        ApiKeyProjection("old_keys").create_tables(cur)
        ApiKeyProjection("old_keys").create_tables(cur)  # again: nothing left to add
        columns = {
            row[0]
            for row in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'old_keys'"
            )
        }
    assert "rate_limit" in columns
