"""The event store on real PostgreSQL: order, positions, and followers under concurrent writers."""

import threading
from uuid import uuid4

import psycopg

from application.context import CommandContext, metadata_of
from application.credential import CredentialVault
from application.ledger import Ledger
from application.task import TaskCommands
from domain.task import Task
from interfaces.bootstrap import eventsourcing_env
from tests.conftest import TEST_SECRET

CTX = CommandContext(actor="system:test")


def new_ledger(database_url):
    return Ledger(eventsourcing_env(database_url, 4), credentials=CredentialVault(TEST_SECRET))


def test_events_are_read_back_in_the_order_they_were_appended(database_url):
    ledger = new_ledger(database_url)
    owner = uuid4()
    created = ledger[TaskCommands].create_task(CTX, owner, "first")
    task_id = created.aggregate.id
    ledger[TaskCommands].update_task(
        CTX, owner, task_id, {"name": "second", "status": "in_progress"}
    )
    ledger[TaskCommands].delete_task(CTX, owner, task_id)
    notifications = ledger.recorder.select_notifications(start=1, limit=10)
    assert [n.topic for n in notifications] == [
        "task.created",
        "task.updated",
        "task.status_changed",
        "task.deleted",
    ]
    assert [n.id for n in notifications] == [1, 2, 3, 4]
    assert [n.originator_version for n in notifications] == [1, 2, 3, 4]
    decoded = [ledger.mapper.to_domain_event(n) for n in notifications]
    assert decoded[1].changes == {"name": "second"}
    assert metadata_of(decoded[0])["actor"] == "system:test"
    ledger.close()


def test_the_stored_topic_is_the_public_type_name_not_a_module_path(database_url):
    ledger = new_ledger(database_url)
    ledger[TaskCommands].create_task(CTX, uuid4(), "t")
    with psycopg.connect(database_url) as conn:
        topics = [r[0] for r in conn.execute("SELECT topic FROM ledgerflow_events")]
    assert topics == ["task.created"]
    ledger.close()


def test_a_follower_never_misses_or_reorders_events_under_concurrent_writers(database_url):
    writers = [new_ledger(database_url) for _ in range(2)]  # two pools: separate sessions
    follower = new_ledger(database_url)
    seen: list[int] = []
    done = threading.Event()

    def follow():
        last = 0
        while True:
            finished = done.is_set()
            batch = follower.recorder.select_notifications(start=last + 1, limit=500)
            seen.extend(n.id for n in batch)
            if batch:
                last = batch[-1].id
            elif finished:
                return

    def write(ledger):
        for _ in range(150):
            ledger[TaskCommands].create_task(CTX, uuid4(), "concurrent")

    reader = threading.Thread(target=follow)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in writers for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    with psycopg.connect(database_url) as conn:
        committed = [
            r[0]
            for r in conn.execute(
                "SELECT notification_id FROM ledgerflow_events ORDER BY notification_id"
            )
        ]
    assert len(committed) == 2 * 4 * 150
    assert seen == committed  # every committed event, each once, in order
    for ledger in (*writers, follower):
        ledger.close()


def test_a_batch_of_events_from_many_commands_is_one_transaction(database_url):
    ledger = new_ledger(database_url)
    tasks = [Task.create(uuid4(), f"t{i}") for i in range(50)]
    ledger.save(*tasks)
    assert ledger.recorder.max_notification_id() == 50
    ledger.close()


def test_a_batch_larger_than_a_psycopg_pipeline_can_carry_is_stored(database_url):
    # The library's pipelined insert hangs past ~300 KB of state; ours must not.
    ledger = new_ledger(database_url)
    tasks = [Task.create(uuid4(), f"t{i}", description="d" * 5000) for i in range(200)]
    saver = threading.Thread(target=ledger.save, args=tasks, daemon=True)
    saver.start()
    saver.join(timeout=60)
    assert not saver.is_alive(), "the insert never completed"
    assert ledger.recorder.max_notification_id() == 200
    ledger.close()
