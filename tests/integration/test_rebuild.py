"""Rebuilding a projection beside the live one, then swapping, on real PostgreSQL."""

import signal
import subprocess
import threading
from uuid import uuid4

import psycopg
import pytest

from application.context import CommandContext
from application.task import TaskCommands
from interfaces.bootstrap import conninfo
from projections.rebuild import Rebuild, RebuildRaced
from projections.runner import ProjectionRunner
from projections.task import TaskProjection, TaskQueries
from tests.integration.cli import ledgerflow, ledgerflow_process
from tests.integration.helpers import table_digest, tracked, wait_for
from tests.integration.test_projection import make_backlog

TASKS = "tasks"

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
            container.ledger[TaskCommands].create_task(CTX, owner, "written during the rebuild")

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
    after = container.ledger[TaskCommands].create_task(CTX, owner, "after the swap")
    wait_for(lambda: tracked(container.database_url, TASKS) >= after.position)
    assert container.query(TaskQueries).get(owner, after.aggregate.id) is not None
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


def waiting_on_a_lock(database_url):
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND query LIKE '%tasks_rebuild%'"
        ).fetchone()
    return row[0] > 0


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_a_rebuild_killed_mid_way_leaves_the_old_table_serving_and_a_rerun_completes_it(
    container, stop
):
    url = container.database_url
    tasks = make_backlog(container.ledger, 6000)
    late = tasks[1]  # neither updated nor deleted by the backlog
    late.update({"name": "renamed at the end of the log"})
    container.ledger.save(late)
    wait_for(lambda: tracked(url, TASKS) == head(container))
    served = table_digest(url, "tasks")
    with (
        psycopg.connect(conninfo(url), autocommit=True) as conn,
        psycopg.connect(conninfo(url)) as blocker,
    ):
        started = rebuild_of(container, batch_size=500).build(conn, max_batches=1)
        # The last event updates a row the first batch built: holding that row's lock stops the
        # rebuild in its very last batch, after many committed ones, whatever the machine's speed.
        blocker.execute("SELECT 1 FROM tasks_rebuild WHERE task_id = %s FOR UPDATE", (late.id,))
        job = ledgerflow_process(
            url, "projections", "rebuild", "tasks", "--batch-size", "500", stderr=subprocess.PIPE
        )
        try:
            wait_for(lambda: waiting_on_a_lock(url), timeout=120)
            job.send_signal(stop)
            _, stderr = job.communicate(timeout=60)
        finally:
            job.kill()
        blocker.rollback()
    stopped_at = tracked(url, "tasks_rebuild")
    assert started.position < stopped_at < head(container)
    if stop == signal.SIGINT:
        assert job.returncode == 130 and "run the same command again to resume" in stderr
    assert table_digest(url, "tasks") == served
    served_row = container.query(TaskQueries).get(
        late.owner_id, late.id
    )  # the old table, still current
    assert served_row["name"] == "renamed at the end of the log"
    rerun = ledgerflow(url, "projections", "rebuild", "tasks")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{head(container) - stopped_at} positions" in rerun.stdout
    assert "identical to the old one" in rerun.stdout
    assert table_digest(url, "tasks") == served
    assert tracked(url, "tasks_rebuild") == 0


def test_a_rebuild_whose_position_another_rebuild_moved_stops_without_applying_twice(container):
    url = container.database_url
    make_backlog(container.ledger, 2000)

    def another_rebuild_moves_it(progress):
        with psycopg.connect(conninfo(url), autocommit=True) as other:
            other.execute(
                "UPDATE ledgerflow_tracking SET position = position + 1"
                " WHERE name = 'tasks_rebuild'"
            )

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        job = rebuild_of(container, batch_size=300)
        with pytest.raises(RebuildRaced):
            job.build(conn, another_rebuild_moves_it)
    assert tracked(url, "tasks_rebuild") == 300 + 1  # its first batch, and the other's move
