"""The batch path of the read models gives exactly the rows of the one-event-at-a-time path."""

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest

from application.accounts import AccountCommands
from application.context import CommandContext
from application.task import TaskCommands
from domain.api_key import ApiKey
from domain.session import Session
from domain.task import Task
from domain.user import User
from interfaces.bootstrap import build, conninfo
from interfaces.feature import reader_rules
from interfaces.features import FEATURES
from projections.api_key import ApiKeyProjection
from projections.event_feed import EventFeedProjection
from projections.group import ProjectionGroup
from projections.runner import ProjectionRunner, reader_for
from projections.session import SessionProjection
from projections.task import TaskProjection
from projections.user import UserProjection
from tests.conftest import make_settings
from tests.integration.test_projection import make_backlog

RULES = reader_rules(FEATURES)

START = datetime(2026, 11, 1, tzinfo=UTC)
CTX = CommandContext(actor="system:test")


class History:
    """Random but valid event sequences over a few aggregate ids: a create only while the row is
    absent; updates, deletes and revocations of any id (present, deleted or never created)."""

    def __init__(self, rng: random.Random, ids: int) -> None:
        self.rng = rng
        self.ids = [uuid4() for _ in range(ids)]
        self.version: dict[UUID, int] = {}
        self.live: set[UUID] = set()
        self.events: list[tuple[int, object]] = []

    def next(self, make_created, make_other) -> None:
        aggregate_id = self.rng.choice(self.ids)
        version = self.version[aggregate_id] = self.version.get(aggregate_id, 0) + 1
        when = START + timedelta(seconds=len(self.events))
        create = aggregate_id not in self.live and self.rng.random() < 0.7
        if create:
            self.live.add(aggregate_id)
            event = make_created(aggregate_id, version, when)
        else:
            event = make_other(aggregate_id, version, when)
            if isinstance(event, Task.Deleted):
                self.live.discard(aggregate_id)
        self.events.append((len(self.events) + 1, event))


def task_history(rng: random.Random) -> History:
    history = History(rng, ids=8)
    owner = uuid4()

    def created(aggregate_id, version, when):
        return Task.Created(
            originator_id=aggregate_id,
            originator_version=version,
            timestamp=when,
            originator_topic="task",
            owner_id=owner,
            name=f"task {version}",
            description=rng.choice(["", "some words"]),
            priority=rng.choice(["low", "high"]),
            due_date=rng.choice([None, when + timedelta(days=3)]),
            tags=rng.sample(["a", "b", "c"], rng.randint(0, 3)),
        )

    def other(aggregate_id, version, when):
        kind = rng.choice(["update", "update", "status", "delete"])
        common = {"originator_id": aggregate_id, "originator_version": version, "timestamp": when}
        if kind == "update":
            fields = {
                "name": f"renamed {version}",
                "priority": rng.choice(["medium", "urgent"]),
                "tags": rng.sample(["x", "y", "z"], rng.randint(0, 3)),
                "description": f"v{version}",
                "due_date": rng.choice([None, when]),
            }
            keys = rng.sample(sorted(fields), rng.randint(0, len(fields)))
            return Task.Updated(**common, changes={k: fields[k] for k in keys})
        if kind == "status":
            status = rng.choice(["in_progress", "completed", "blocked"])
            return Task.StatusChanged(**common, from_status="not_started", to_status=status)
        return Task.Deleted(**common, reason="")

    for _ in range(rng.randint(20, 120)):
        history.next(created, other)
    return history


def user_history(rng: random.Random) -> History:
    history = History(rng, ids=6)

    def created(aggregate_id, version, when):
        return User.Created(
            originator_id=aggregate_id,
            originator_version=version,
            timestamp=when,
            originator_topic="user",
            username=f"user-{aggregate_id}",
            name="N",
            lastname="L",
            credential="sealed",
            email=rng.choice([None, f"{aggregate_id}@example.com"]),
        )

    def other(aggregate_id, version, when):
        common = {"originator_id": aggregate_id, "originator_version": version, "timestamp": when}
        return rng.choice(
            [
                lambda: User.RoleChanged(**common, from_role="member", to_role="viewer"),
                lambda: User.Deactivated(**common),
                lambda: User.Reactivated(**common),
                lambda: User.ProfileUpdated(**common, changes={"name": f"n{version}"}),
                lambda: User.PasswordChanged(**common, credential="sealed again"),
            ]
        )()

    for _ in range(rng.randint(20, 80)):
        history.next(created, other)
    return history


def revocable_history(rng: random.Random, created, revoked) -> History:
    history = History(rng, ids=6)
    for _ in range(rng.randint(10, 60)):
        history.next(created, revoked)
    return history


def session_history(rng: random.Random) -> History:
    def created(aggregate_id, version, when):
        return Session.Created(
            originator_id=aggregate_id,
            originator_version=version,
            timestamp=when,
            originator_topic="session",
            user_id=uuid4(),
            refresh_hash="h",
            expires_at=when,
        )

    def revoked(aggregate_id, version, when):
        return Session.Revoked(
            originator_id=aggregate_id, originator_version=version, timestamp=when, reason="r"
        )

    return revocable_history(rng, created, revoked)


def api_key_history(rng: random.Random) -> History:
    def created(aggregate_id, version, when):
        return ApiKey.Created(
            originator_id=aggregate_id,
            originator_version=version,
            timestamp=when,
            originator_topic="api_key",
            user_id=uuid4(),
            name="k",
            scopes=rng.sample(["tasks:read", "tasks:write"], rng.randint(0, 2)),
            key_hash="h",
            prefix="lf_x",
            expires_at=rng.choice([None, when]),
            rate_limit=rng.choice([None, "10/minute"]),
        )

    def revoked(aggregate_id, version, when):
        return ApiKey.Revoked(
            originator_id=aggregate_id, originator_version=version, timestamp=when
        )

    return revocable_history(rng, created, revoked)


KINDS = {
    "tasks": (TaskProjection, task_history),
    "users": (UserProjection, user_history),
    "sessions": (SessionProjection, session_history),
    "api_keys": (ApiKeyProjection, api_key_history),
}


def rows_of(conn, table):
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def in_batches(rng, events):
    """The events cut at random places into batches of 1 to 40."""
    start = 0
    while start < len(events):
        size = rng.randint(1, 40)
        yield events[start : start + size]
        start += size


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_batch_apply_equals_one_by_one_apply_over_random_histories(database_url, kind):
    make_projection, make_history = KINDS[kind]
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn, conn.cursor() as cur:
        for seed in range(40):
            rng = random.Random(seed)
            history = make_history(rng)
            one, batched = make_projection(f"{kind}_one"), make_projection(f"{kind}_batched")
            for projection in (one, batched):
                projection.drop_tables(cur)
                projection.create_tables(cur)
            with conn.transaction():
                for position, event in history.events:
                    one.apply(cur, event, position)
            for batch in in_batches(rng, history.events):
                with conn.transaction():
                    batched.apply_batch(cur, batch)
            expected = rows_of(conn, f"{kind}_one")
            assert rows_of(conn, f"{kind}_batched") == expected, f"seed {seed}"
            assert expected or kind != "tasks" or not history.live


def test_a_batch_that_updates_deletes_and_recreates_a_row_ends_like_the_events_one_by_one(
    database_url,
):
    task_id, owner = uuid4(), uuid4()
    common = {"originator_id": task_id, "timestamp": START}

    def created(version, name):
        return Task.Created(
            **common,
            originator_version=version,
            originator_topic="task",
            owner_id=owner,
            name=name,
            description="",
            priority="low",
            due_date=None,
            tags=["t"],
        )

    events = [
        created(1, "first"),
        Task.Updated(**common, originator_version=2, changes={"name": "renamed"}),
        Task.StatusChanged(
            **common, originator_version=3, from_status="not_started", to_status="completed"
        ),
        Task.Deleted(**common, originator_version=4, reason=""),
        created(5, "again"),
        Task.Updated(**common, originator_version=6, changes={"priority": "high", "tags": []}),
    ]
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn, conn.cursor() as cur:
        one, batched = TaskProjection("tasks_one"), TaskProjection("tasks_batched")
        for projection in (one, batched):
            projection.create_tables(cur)
        # The first event in an earlier batch: the row exists before the batch deletes it.
        for position, event in enumerate(events, start=1):
            one.apply(cur, event, position)
        batched.apply_batch(cur, [(1, events[0])])
        batched.apply_batch(cur, list(enumerate(events, start=1))[1:])
        row = rows_of(conn, "tasks_batched")
        assert row == rows_of(conn, "tasks_one")
    assert len(row) == 1
    assert (row[0][2], row[0][4], row[0][5], row[0][7], row[0][10]) == (
        "again",
        "not_started",
        "high",
        [],
        6,
    )


def test_the_group_and_a_runner_on_the_batch_path_build_the_same_tables_as_one_by_one(
    database_url,
):
    """The live group (every read model in one transaction) and a lone runner, both on the batch
    path, against the reference: each event applied alone."""
    container = build(make_settings(database_url))
    try:
        make_backlog(container.ledger, 1500)
        ledger, url = container.ledger, conninfo(database_url)
        channel = ledger.recorder.channel_name
        with psycopg.connect(url, autocommit=True) as conn:
            group = ProjectionGroup(
                url,
                [
                    ProjectionRunner(
                        url, TaskProjection("tasks_group"), ledger.recorder, ledger.mapper, channel
                    )
                ],
                reader_for(url, ledger.recorder, ledger.mapper, channel),
                batch_size=700,
            )
            group.catch_up(conn)
            ProjectionRunner(
                url, TaskProjection("tasks_runner"), ledger.recorder, ledger.mapper, channel, 300
            ).catch_up(conn)
            reference = TaskProjection("tasks_reference")
            with conn.transaction(), conn.cursor() as cur:
                reference.create_tables(cur)
                for notification in ledger.recorder.select_notifications(start=1, limit=10**6):
                    reference.apply(
                        cur, ledger.mapper.to_domain_event(notification), notification.id
                    )
            expected = rows_of(conn, "tasks_reference")
            assert len(expected) == 1500 - 150
            assert rows_of(conn, "tasks_group") == expected
            assert rows_of(conn, "tasks_runner") == expected
    finally:
        container.close()


def test_the_event_feed_in_batches_equals_the_feed_one_event_at_a_time(database_url):
    """Owners named in a batch and read later in the same batch, or in a later one."""
    container = build(make_settings(database_url))
    try:
        ledger = container.ledger
        for name in ("ann", "bob"):
            user = (
                ledger[AccountCommands]
                .register_user(CTX, name, f"{name}-password-1", name, "X")
                .aggregate
            )
            for i in range(15):
                task = ledger[TaskCommands].create_task(CTX, user.id, f"{name} {i}").aggregate
                ledger[TaskCommands].update_task(CTX, user.id, task.id, {"status": "in_progress"})
                if i % 4 == 0:
                    ledger[TaskCommands].delete_task(CTX, user.id, task.id)
        events = [
            (n.id, ledger.mapper.to_domain_event(n))
            for n in ledger.recorder.select_notifications(start=1, limit=10**6)
        ]
        rng = random.Random(7)
        with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
            with conn.cursor() as cur:
                one, batched = (
                    EventFeedProjection(RULES, "feed_one"),
                    EventFeedProjection(RULES, "feed_batched"),
                )
                for projection in (one, batched):
                    projection.create_tables(cur)
                for position, event in events:
                    one.apply(cur, event, position)
                for batch in in_batches(rng, events):
                    with conn.transaction():
                        batched.apply_batch(cur, batch)
            for table in ("feed_{}", "feed_{}_owners"):
                expected = rows_of(conn, table.format("one"))
                assert rows_of(conn, table.format("batched")) == expected
            assert len(rows_of(conn, "feed_one")) == len(events)  # each has its reader here
    finally:
        container.close()
