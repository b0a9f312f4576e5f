"""The public event envelope."""

import json
from uuid import uuid4

from application.context import CommandContext, stamp
from domain.task import Task
from domain.user import User
from projections.envelope import envelope, event_id


def test_an_envelope_has_every_public_field_and_is_json():
    task = Task.create(uuid4(), "Write", tags=["a"])
    created = task.collect_events()[0]
    stamp([created], CommandContext(actor="user:1", correlation_id="c-1"))
    out = envelope(created, 7)
    assert set(out) == {
        "event_id",
        "type",
        "event",
        "position",
        "aggregate_id",
        "aggregate_type",
        "version",
        "occurred_at",
        "actor",
        "correlation_id",
        "data",
    }
    assert out["event"] == out["type"]
    assert (out["type"], out["aggregate_type"], out["position"], out["version"]) == (
        "task.created",
        "task",
        7,
        1,
    )
    assert (out["actor"], out["correlation_id"]) == ("user:1", "c-1")
    assert out["data"]["name"] == "Write" and out["data"]["tags"] == ["a"]
    assert out["occurred_at"].endswith("Z")
    json.dumps(out)


def test_the_event_id_is_stable_for_the_same_event():
    task = Task.create(uuid4(), "Write")
    created = task.collect_events()[0]
    assert envelope(created, 1)["event_id"] == envelope(created, 1)["event_id"]
    assert envelope(created, 1)["event_id"] == str(event_id(task.id, 1))


def test_credentials_never_leave_in_an_envelope():
    user = User.register("johndoe", "John", "Doe", "sealed-secret-credential")
    out = envelope(user.collect_events()[0], 1)
    assert "credential" not in out["data"] and "sealed-secret-credential" not in json.dumps(out)
    assert out["type"] == "user.registered" and out["data"]["username"] == "johndoe"
