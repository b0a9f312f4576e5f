"""The hash chain on real PostgreSQL: sealing follows the log; verify finds direct tampering."""

from uuid import uuid4

import psycopg
import pytest

from application.context import CommandContext
from application.task import TaskCommands
from interfaces.adapters.event_chain import ChainSealer, verify
from interfaces.bootstrap import build, conninfo
from tests.conftest import make_settings

CTX = CommandContext(actor="system:test")
EVENTS = "ledgerflow_events"


@pytest.fixture
def sealed_log(database_url):
    """A log of 8 events (4 tasks created and updated), fully sealed."""
    container = build(make_settings(database_url))
    owner = uuid4()
    for i in range(4):
        task = container.ledger[TaskCommands].create_task(CTX, owner, f"task {i}").aggregate
        container.ledger[TaskCommands].update_task(CTX, owner, task.id, {"status": "in_progress"})
    sealer = next(r for r in container.runners if isinstance(r, ChainSealer))
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        sealer.catch_up(conn)
        yield container, conn
    container.close()


def test_an_untouched_log_verifies_and_every_event_is_covered(sealed_log):
    _, conn = sealed_log
    verdict = verify(conn, EVENTS)
    assert verdict.ok and verdict.first_bad is None
    assert verdict.checked == 8 and verdict.sealed_head == verdict.head == 8
    assert len(verdict.head_hash) == 64


def test_an_update_made_in_sql_is_found_at_its_position(sealed_log):
    _, conn = sealed_log
    conn.execute(
        f"UPDATE {EVENTS} SET state = convert_to("
        "replace(convert_from(state, 'UTF8'), 'task 2', 'task X'), 'UTF8')"
        " WHERE notification_id = 5"
    )
    assert (
        conn.execute(
            f"SELECT count(*) FROM {EVENTS} WHERE position('task X'::bytea in state) > 0"
        ).fetchone()[0]
        == 1
    )
    verdict = verify(conn, EVENTS)
    assert not verdict.ok and verdict.first_bad == 5


def test_a_delete_made_in_sql_is_found_at_its_position(sealed_log):
    _, conn = sealed_log
    conn.execute(f"DELETE FROM {EVENTS} WHERE notification_id = 4")
    verdict = verify(conn, EVENTS)
    assert verdict.first_bad == 4 and "missing" in verdict.reason


def test_a_swap_of_two_rows_made_in_sql_is_found_at_the_first_of_them(sealed_log):
    _, conn = sealed_log
    with conn.transaction():
        conn.execute(f"UPDATE {EVENTS} SET notification_id = -1 WHERE notification_id = 3")
        conn.execute(f"UPDATE {EVENTS} SET notification_id = 3 WHERE notification_id = 6")
        conn.execute(f"UPDATE {EVENTS} SET notification_id = 6 WHERE notification_id = -1")
    verdict = verify(conn, EVENTS)
    assert verdict.first_bad == 3


def test_an_altered_chain_row_is_found_too(sealed_log):
    _, conn = sealed_log
    conn.execute("UPDATE ledgerflow_event_chain SET hash = sha256(hash) WHERE position = 7")
    assert verify(conn, EVENTS).first_bad == 7


def test_new_events_are_unsealed_until_the_sealer_runs_and_then_verify(sealed_log):
    container, conn = sealed_log
    container.ledger[TaskCommands].create_task(CTX, uuid4(), "late")
    before = verify(conn, EVENTS)
    assert before.ok and before.unsealed == 1
    sealer = next(r for r in container.runners if isinstance(r, ChainSealer))
    assert sealer.catch_up(conn) == 1
    after = verify(conn, EVENTS)
    assert after.ok and after.unsealed == 0 and after.checked == 9
    assert after.head_hash != before.head_hash
