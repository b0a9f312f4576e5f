"""Rebuilding a projection beside the live one, then swapping, on real PostgreSQL."""

import threading
from uuid import uuid4

import psycopg

from application.context import CommandContext
from interfaces.bootstrap import TASKS, conninfo
from projections.rebuild import Rebuild
from projections.runner import ProjectionRunner
from projections.task import TaskProjection
from tests.integration.cli import ledgerflow
from tests.integration.helpers import table_digest, tracked, wait_for
from tests.integration.test_projection import make_backlog

CTX = CommandContext(actor="system:test")


def rebuild_of(container, batch_size=500):
    live = next(r for r in container.runners if r.projection.name == TASKS)
    ledger = container.ledger
    return Rebuild(
        conninfo(container.database_url),
        live.projection,
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,
        batch_size=batch_size,
    )


def from_scratch(container, table):
    """The tasks read model built from the whole log into ``table``, for comparison."""
    ledger = container.ledger
    runner = ProjectionRunner(
        conninfo(container.database_url),
        TaskProjection(table),
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,
    )
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        runner.catch_up(conn)
    return table_digest(container.database_url, table)


def head(container):
    return container.ledger.recorder.max_notification_id()


def test_an_interrupted_rebuild_leaves_the_old_table_serving_and_resumes(container):
    make_backlog(container.ledger, 3000)
    wait_for(lambda: tracked(container.database_url, TASKS) == head(container))
    served = table_digest(container.database_url, "tasks")
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        partial = rebuild_of(container).build(conn, max_batches=1)
        assert 0 < partial.position < head(container)
        assert table_digest(container.database_url, "tasks") == served
        resumed = rebuild_of(container).build(conn)
        assert resumed.position == head(container)
        assert resumed.applied == head(container) - partial.position
        swapped = rebuild_of(container).swap(conn)
    assert swapped.identical and swapped.new_rows == served[0]
    assert table_digest(container.database_url, "tasks") == served


def test_a_rebuild_during_writes_loses_nothing_and_the_live_runner_continues_after_the_swap(
    container,
):
    make_backlog(container.ledger, 2000)
    owner, stop = uuid4(), threading.Event()

    def keep_writing():
        while not stop.is_set():
            container.ledger.create_task(CTX, owner, "written during the rebuild")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
            job = rebuild_of(container, batch_size=200)
            job.build(conn)
            swapped = job.swap(conn)
    finally:
        stop.set()
        writer.join()
    assert swapped.identical
    after = container.ledger.create_task(CTX, owner, "after the swap")
    wait_for(lambda: tracked(container.database_url, TASKS) >= after.position)
    assert container.tasks.get(owner, after.aggregate.id) is not None
    assert table_digest(container.database_url, "tasks") == from_scratch(container, "tasks_check")


def test_the_cli_shows_status_and_rebuilds_with_a_rate_and_a_comparison(container):
    make_backlog(container.ledger, 500)
    wait_for(lambda: tracked(container.database_url, TASKS) == head(container))
    status = ledgerflow(container.database_url, "projections", "status")
    assert status.returncode == 0, status.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in status.stdout.splitlines()[1:]}
    assert {"tasks", "users", "event_chain"} <= set(rows)
    assert rows["tasks"][3] == "0" and rows["tasks"][2] == str(head(container))
    rebuilt = ledgerflow(container.database_url, "projections", "rebuild", "tasks")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "events/s" in rebuilt.stdout
    assert "identical to the old one" in rebuilt.stdout
    assert ledgerflow(container.database_url, "projections", "rebuild", "nope").returncode != 0
