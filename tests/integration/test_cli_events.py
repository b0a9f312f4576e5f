"""`ledgerflow events tail / export / import` against real databases."""

import json
import queue
import signal
import subprocess
import threading
from uuid import uuid4

import psycopg
import pytest

from application.accounts import AccountCommands
from application.context import CommandContext
from application.task import TaskCommands
from interfaces.bootstrap import build, conninfo
from tests.conftest import fresh_database, make_settings
from tests.integration.cli import ledgerflow, ledgerflow_process

CTX = CommandContext(actor="system:test")


@pytest.fixture
def other_database_url(pg_server_url):
    """A second fresh database, for the import side."""
    with fresh_database(pg_server_url) as url:
        yield url


def a_busy_log(database_url):
    """A user and 12 tasks, some renamed, completed or deleted."""
    container = build(make_settings(database_url))
    try:
        owner = (
            container.ledger[AccountCommands]
            .register_user(CTX, "exporter", "exporter-pw-1", "E", "X")
            .aggregate
        )
        for i in range(12):
            task = (
                container.ledger[TaskCommands]
                .create_task(CTX, owner.id, f"task {i}", tags=[f"t{i}"])
                .aggregate
            )
            if i % 3 == 0:
                container.ledger[TaskCommands].update_task(
                    CTX, owner.id, task.id, {"name": f"renamed {i}"}
                )
            if i % 4 == 0:
                container.ledger[TaskCommands].update_task(
                    CTX, owner.id, task.id, {"status": "completed"}
                )
            if i % 5 == 0:
                container.ledger[TaskCommands].delete_task(CTX, owner.id, task.id)
    finally:
        container.close()


def read_models(database_url):
    """Every row of the tasks and users read models, after catching up, in a stable order."""
    container = build(make_settings(database_url))
    try:
        with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
            for runner in container.runners:
                runner.catch_up(conn)
            return {
                table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("tasks", "users")
            }
    finally:
        container.close()


def test_export_then_import_gives_identical_read_models_and_verify_result(
    database_url, other_database_url, tmp_path
):
    a_busy_log(database_url)
    exported = ledgerflow(database_url, "events", "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    dump = tmp_path / "events.jsonl"
    dump.write_text(exported.stdout)
    imported = ledgerflow(other_database_url, "events", "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(exported.stdout.splitlines())} events" in imported.stdout
    original, copy = read_models(database_url), read_models(other_database_url)
    assert len(original["tasks"]) == 12 - 3 and len(original["users"]) == 1
    assert copy == original
    verified = [ledgerflow(url, "verify").stdout for url in (database_url, other_database_url)]
    assert verified[0].startswith("ok:") and verified[0] == verified[1]


def test_import_refuses_a_store_that_has_events(database_url, tmp_path):
    a_busy_log(database_url)
    dump = tmp_path / "events.jsonl"
    dump.write_text(ledgerflow(database_url, "events", "export").stdout)
    refused = ledgerflow(database_url, "events", "import", str(dump))
    assert refused.returncode == 1 and "empty" in refused.stderr


def test_export_after_a_position_starts_right_after_it(database_url):
    a_busy_log(database_url)
    lines = ledgerflow(database_url, "events", "export", "--after", "5").stdout.splitlines()
    assert json.loads(lines[0])["position"] == 6


def test_tail_prints_the_latest_events_of_the_chosen_types_as_envelopes(database_url):
    a_busy_log(database_url)
    done = ledgerflow(database_url, "events", "tail", "--type", "task.*", "--last", "1000")
    assert done.returncode == 0, done.stderr
    envelopes = [json.loads(line) for line in done.stdout.splitlines()]
    assert envelopes and all(e["type"].startswith("task.") for e in envelopes)
    assert sum(e["type"] == "task.created" for e in envelopes) == 12
    positions = [e["position"] for e in envelopes]
    assert positions == sorted(positions)
    users = ledgerflow(
        database_url, "events", "tail", "--type", "user.*", "--last", "1000"
    ).stdout.splitlines()
    kinds = [json.loads(line)["type"] for line in users]
    assert kinds[0] == "user.registered" and all(k.startswith("user.") for k in kinds)


def lines_of(process):
    """The process's stdout lines as they come, in a queue (so reads can have a deadline)."""
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    return lines


def test_tail_follow_prints_each_new_event_as_it_is_recorded_and_ctrl_c_exits_cleanly(
    database_url,
):
    a_busy_log(database_url)
    with psycopg.connect(database_url) as conn:
        head = conn.execute("SELECT max(notification_id) FROM ledgerflow_events").fetchone()[0]
    follower = ledgerflow_process(
        database_url, "events", "tail", "--follow", "--after", str(head), stderr=subprocess.PIPE
    )
    container = build(make_settings(database_url))
    try:
        printed = lines_of(follower)
        owner = uuid4()
        for i in range(3):
            task = container.ledger[TaskCommands].create_task(CTX, owner, f"live {i}").aggregate
            shown = json.loads(printed.get(timeout=30))
            assert shown["type"] == "task.created" and shown["aggregate_id"] == str(task.id)
            assert shown["position"] == head + 1 + i
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=30)
    finally:
        container.close()
        follower.kill()
    assert follower.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_tail_follow_stops_on_ctrl_c_even_when_the_test_runner_ignores_sigint(database_url):
    container = build(make_settings(database_url))
    ignored = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup or in a background job
    try:
        follower = ledgerflow_process(database_url, "events", "tail", "--follow", "--after", "0")
    finally:
        signal.signal(signal.SIGINT, ignored)
    try:
        container.ledger[TaskCommands].create_task(CTX, uuid4(), "proof that it follows")
        assert json.loads(lines_of(follower).get(timeout=60))["type"] == "task.created"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
    finally:
        container.close()
        follower.kill()


def test_tail_last_counts_only_events_of_the_chosen_type(database_url):
    a_busy_log(database_url)
    container = build(make_settings(database_url))
    try:
        for i in range(30):  # the last 30 positions hold no user event
            container.ledger[TaskCommands].create_task(CTX, uuid4(), f"noise {i}")
    finally:
        container.close()
    every = ledgerflow(database_url, "events", "tail", "--type", "user.*", "--last", "1000")
    done = ledgerflow(database_url, "events", "tail", "--type", "user.*", "--last", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == every.stdout.splitlines()[-1:] != []
    two = ledgerflow(database_url, "events", "tail", "--type", "task.created", "--last", "2")
    names = [json.loads(line)["data"]["name"] for line in two.stdout.splitlines()]
    assert names == ["noise 28", "noise 29"]
