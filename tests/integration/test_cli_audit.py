"""`ledgerflow verify`, `audit` and `state` against a real database."""

import json
from uuid import uuid4

import psycopg

from application.accounts import AccountCommands
from application.context import CommandContext
from application.task import TaskCommands
from interfaces.bootstrap import build
from tests.conftest import make_settings
from tests.integration.cli import ledgerflow

CTX = CommandContext(actor="user:auditor", correlation_id="corr-cli")


def a_task_with_history(database_url):
    container = build(make_settings(database_url))
    try:
        owner = uuid4()
        task = container.ledger[TaskCommands].create_task(CTX, owner, "first name").aggregate
        container.ledger[TaskCommands].update_task(CTX, owner, task.id, {"name": "second name"})
        container.ledger[TaskCommands].update_task(CTX, owner, task.id, {"status": "completed"})
        return task.id
    finally:
        container.close()


def test_verify_passes_on_an_untouched_log_and_fails_at_a_tampered_position(database_url):
    a_task_with_history(database_url)
    done = ledgerflow(database_url, "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 3 events verified up to position 3")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM ledgerflow_events WHERE notification_id = 2")
    failed = ledgerflow(database_url, "verify")
    assert failed.returncode == 1
    assert "FAILED at position 2" in failed.stdout


def test_audit_prints_each_event_of_an_aggregate_with_its_actor(database_url):
    task_id = a_task_with_history(database_url)
    done = ledgerflow(database_url, "audit", str(task_id))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["position", "version", "at", "type", "actor", "data"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[3] for r in rows] == ["task.created", "task.updated", "task.status_changed"]
    assert {r[4] for r in rows} == {"user:auditor"}
    assert json.loads(rows[1][5]) == {"changes": {"name": "second name"}}


def test_state_rebuilds_an_aggregate_at_an_earlier_version(database_url):
    task_id = a_task_with_history(database_url)
    then = json.loads(ledgerflow(database_url, "state", str(task_id), "--version", "1").stdout)
    now = json.loads(ledgerflow(database_url, "state", str(task_id)).stdout)
    assert (then["name"], then["status"], then["version"]) == ("first name", "not_started", 1)
    assert (now["name"], now["status"], now["version"]) == ("second name", "completed", 3)
    assert ledgerflow(database_url, "state", str(uuid4())).returncode == 1


def test_state_of_a_user_never_prints_the_sealed_credential(database_url):
    container = build(make_settings(database_url))
    try:
        user = (
            container.ledger[AccountCommands]
            .register_user(CTX, "carol", "carol-pass-91", "C", "L")
            .aggregate
        )
    finally:
        container.close()
    done = ledgerflow(database_url, "state", str(user.id))
    state = json.loads(done.stdout)
    assert state["username"] == "carol"
    assert "credential" not in state and user.credential not in done.stdout
