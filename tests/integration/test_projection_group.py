"""The projection group on real PostgreSQL: one read of the log feeding every read model, each
with its own position, lock and fault isolation."""

from uuid import uuid4

import psycopg

from application.context import CommandContext
from application.task import TaskCommands
from interfaces.bootstrap import conninfo
from projections.follower import take_lock
from projections.group import ProjectionGroup
from projections.runner import ProjectionRunner, reader_for
from projections.task import TaskProjection, TaskQueries
from tests.integration.helpers import table_digest, tracked

CTX = CommandContext(actor="system:test")


def group_of(container, *members, batch_size=500):
    ledger = container.ledger
    url = conninfo(container.database_url)
    reader = reader_for(url, ledger.recorder, ledger.mapper, ledger.recorder.channel_name)
    return ProjectionGroup(url, list(members), reader, batch_size=batch_size)


def runner_of(container, projection):
    ledger = container.ledger
    return ProjectionRunner(
        conninfo(container.database_url),
        projection,
        ledger.recorder,
        ledger.mapper,
        ledger.recorder.channel_name,
    )


def scenario(ledger, count=40):
    owner = uuid4()
    for i in range(count):
        task = ledger[TaskCommands].create_task(CTX, owner, f"t{i}", tags=[f"x{i}"]).aggregate
        if i % 2:
            ledger[TaskCommands].update_task(CTX, owner, task.id, {"status": "blocked"})
        if i % 7 == 0:
            ledger[TaskCommands].delete_task(CTX, owner, task.id)
    return ledger.recorder.max_notification_id()


def test_a_group_gives_each_member_the_rows_a_runner_of_its_own_gives(stopped, database_url):
    head = scenario(stopped.ledger)
    alone = runner_of(stopped, TaskProjection("tasks_alone"))
    together = [runner_of(stopped, TaskProjection(f"tasks_{n}")) for n in ("a", "b")]
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        alone.catch_up(conn)
        for member in together:
            member.setup(conn)
        # Small batches, so that events are shared across several transactions.
        assert group_of(stopped, *together, batch_size=7).catch_up(conn) == head
    expected = table_digest(database_url, "tasks_alone")
    assert expected[0] == 34
    assert table_digest(database_url, "tasks_a") == expected
    assert table_digest(database_url, "tasks_b") == expected
    assert tracked(database_url, "tasks_a") == tracked(database_url, "tasks_b") == head


def test_members_at_different_positions_each_get_each_event_once(stopped, database_url):
    scenario(stopped.ledger, 10)
    ahead, behind = (runner_of(stopped, TaskProjection(f"tasks_{n}")) for n in ("ahead", "behind"))
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        ahead.catch_up(conn)  # a unique-key violation would follow from applying again
        behind.setup(conn)
        head = scenario(stopped.ledger, 10)
        group_of(stopped, ahead, behind).catch_up(conn)
    assert table_digest(database_url, "tasks_ahead") == table_digest(database_url, "tasks_behind")
    assert ahead.status().position == behind.status().position == head


def test_a_failing_member_is_set_aside_and_the_others_carry_on(stopped, database_url):
    head = scenario(stopped.ledger, 10)
    healthy, faulty = (runner_of(stopped, TaskProjection(f"tasks_{n}")) for n in ("ok", "bad"))
    original = faulty.projection.apply_batch

    def broken(cur, events):
        raise RuntimeError("a bug in this projection")

    faulty.projection.apply_batch = broken
    group = group_of(stopped, healthy, faulty)
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        healthy.setup(conn)
        faulty.setup(conn)
        group.catch_up(conn)
        assert tracked(database_url, "tasks_ok") == head
        assert tracked(database_url, "tasks_bad") == 0
        assert "a bug in this projection" in (faulty.status().last_error or "")
        # Fixed (a new release): it catches up once its back-off is over.
        faulty.projection.apply_batch = original
        group._set_aside.clear()
        group.catch_up(conn)
    assert tracked(database_url, "tasks_bad") == head
    assert faulty.status().last_error is None
    assert table_digest(database_url, "tasks_bad") == table_digest(database_url, "tasks_ok")


def backend_alive(conn: psycopg.Connection, pid: int) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return bool(row and row[0])


def test_a_member_held_by_another_process_is_left_to_it(stopped, database_url):
    head = scenario(stopped.ledger, 5)
    mine, theirs = (runner_of(stopped, TaskProjection(f"tasks_{n}")) for n in ("mine", "theirs"))
    with (
        psycopg.connect(conninfo(database_url), autocommit=True) as other,
        psycopg.connect(conninfo(database_url), autocommit=True) as conn,
    ):
        assert take_lock(other, "tasks_theirs")
        mine.setup(conn)
        theirs.setup(conn)
        group = group_of(stopped, mine, theirs)
        group.catch_up(conn)
        assert tracked(database_url, "tasks_mine") == head
        assert tracked(database_url, "tasks_theirs") == 0
        assert not theirs.status().active
        # The other process dies: its lock goes with it (released at once here; a closed
        # connection's locks are released by the server a moment later, which races the claim).
        other.execute("SELECT pg_advisory_unlock_all()")
        other.close()
        group.catch_up(conn)
    assert tracked(database_url, "tasks_theirs") == head


def test_the_running_group_wakes_read_your_writes_waiters(container):
    written = container.ledger[TaskCommands].create_task(CTX, uuid4(), "hello")
    for name in ("tasks", "event_feed"):
        container.watch.wait_for(name, written.position, 10)
    assert (
        container.query(TaskQueries).get(written.aggregate.owner_id, written.aggregate.id)
        is not None
    )


def test_the_reader_wakes_only_the_followers_that_want_what_was_recorded(stopped):
    """One LISTEN thread reads new events ahead and wakes a follower only for the types it
    wants: a reactor of user events sleeps through a stream of task events (it passes over
    them at its own poll, from the reader's memory)."""
    from projections.log_reader import Waker

    ledger = stopped.ledger
    url = conninfo(stopped.database_url)
    reader = reader_for(url, ledger.recorder, ledger.mapper, ledger.recorder.channel_name)
    tasks, users, everything = (
        Waker(lambda t: t == "task.created"),
        Waker(lambda t: t == "user.deactivated"),
        Waker(),
    )
    for waker in (tasks, users, everything):
        reader.subscribe(waker)
    with psycopg.connect(url, autocommit=True) as conn:
        reader.read_after(conn, 0, 10)  # the window starts where the followers are
    reader.start()
    try:
        seen = tasks.generation, users.generation, everything.generation
        ledger[TaskCommands].create_task(CTX, uuid4(), "wake the task follower")
        assert tasks.wait(seen[0], 10) > seen[0]
        assert everything.wait(seen[2], 10) > seen[2]
        assert users.generation == seen[1]
        head = ledger.recorder.max_notification_id()
        with psycopg.connect(url, autocommit=True) as conn:  # served from the window
            reads = reader.reads
            assert [e.position for e in reader.read_after(conn, head - 1, 10)] == [head]
            assert reader.reads == reads
    finally:
        reader.stop()
