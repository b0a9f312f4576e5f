"""A follower that cannot apply an event: it says which, keeps the others going, and an operator
can tell it to skip the event (an audited decision)."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from application.context import CommandContext
from application.task import TaskCommands
from interfaces.api.app import create_app
from interfaces.bootstrap import conninfo
from projections.group import ProjectionGroup
from projections.schema import stuck_followers
from projections.task import TaskProjection
from tests.integration.cli import ledgerflow
from tests.integration.helpers import tracked

CTX = CommandContext(actor="system:test")


@pytest.fixture
def poisoned(monkeypatch):
    """The tasks projection fails on any task named 'poison' (a bug, or data it cannot hold)."""
    original = TaskProjection.change_of

    def change_of(self, event, position):
        if getattr(event, "name", None) == "poison":
            raise ValueError("cannot store this task")
        return original(self, event, position)

    monkeypatch.setattr(TaskProjection, "change_of", change_of)


def catch_up(container):
    grouped = [r for r in container.runners if type(r).__name__ == "ProjectionRunner"]
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        ProjectionGroup(conninfo(container.database_url), grouped, container.reader).catch_up(conn)


def test_a_stuck_read_model_says_where_keeps_the_others_going_and_can_be_told_to_skip(
    stopped, poisoned
):
    url = stopped.database_url
    tasks = stopped.ledger[TaskCommands]
    owner = uuid4()
    tasks.create_task(CTX, owner, "before")
    poison = tasks.create_task(CTX, owner, "poison").position
    after = tasks.create_task(CTX, owner, "after").position
    catch_up(stopped)
    assert tracked(url, "tasks") == poison - 1, "the events before the bad one are applied"
    assert tracked(url, "event_feed") == after, "the other read models went on"
    with psycopg.connect(url) as conn:
        stuck = stuck_followers(conn)["tasks"]
    assert (stuck.position, stuck.type) == (poison, "task.created")
    assert "cannot store this task" in stuck.error
    with TestClient(create_app(stopped)) as client:
        reported = client.get("/health").json()["checks"]["projections"]["tasks"]
    assert reported["stuck"]["position"] == poison and reported["lag"] > 0

    done = ledgerflow(url, "projections", "skip", "tasks", str(poison), "--reason", "bad data")
    assert done.returncode == 0, done.stderr
    assert f"skip the task.created event at position {poison}" in done.stdout + done.stderr
    catch_up(stopped)
    head = stopped.ledger.recorder.max_notification_id()
    assert tracked(url, "tasks") == head
    with psycopg.connect(url) as conn:
        assert stuck_followers(conn) == {}
        decision = conn.execute(
            "SELECT state FROM ledgerflow_events WHERE topic = 'follower.event_skipped'"
        ).fetchall()
    assert len(decision) == 1


def test_skip_refuses_a_follower_or_position_that_makes_no_sense(stopped):
    url = stopped.database_url
    stopped.ledger[TaskCommands].create_task(CTX, uuid4(), "one")
    catch_up(stopped)
    unknown = ledgerflow(url, "projections", "skip", "nope", "1", "--reason", "x")
    assert unknown.returncode == 2 and "no follower named 'nope'" in unknown.stderr
    applied = ledgerflow(url, "projections", "skip", "tasks", "1", "--reason", "x")
    assert applied.returncode == 2 and "already past position 1" in applied.stderr
