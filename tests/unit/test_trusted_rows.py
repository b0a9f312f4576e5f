"""Trusted rows serialise byte for byte as their response model would."""

import random
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from interfaces.api.schemas import TaskListOut, TaskOut, page_fields
from interfaces.api.trusted_rows import TrustedRows

ROWS = TrustedRows(TaskOut)


def random_row(rng: random.Random) -> dict:
    """A tasks read-model row with every optional column set or not, and columns the answer
    does not show (owner_id)."""

    def maybe(value):
        return value if rng.random() < 0.5 else None

    zone = rng.choice([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])
    when = datetime(2026, 1, 1, tzinfo=zone) + timedelta(seconds=rng.randrange(10**8))
    return {
        "task_id": uuid4(),
        "owner_id": uuid4(),
        "name": rng.choice(["a", "Ünïcode ✓", 'quote " and \\ backslash', "x" * 200]),
        "description": rng.choice(["", "line\nbreak\ttab"]),
        "status": rng.choice(["not_started", "in_progress", "completed", "cancelled"]),
        "priority": rng.choice(["low", "medium", "high"]),
        "due_date": maybe(when),
        "created_at": when,
        "updated_at": when + timedelta(microseconds=rng.randrange(10**6)),
        "tags": rng.sample(["a", "b", "ç", "d"], rng.randrange(4)),
        "version": rng.randrange(1, 1000),
        "intent": maybe("code_review"),
        "agent_id": maybe(uuid4()),
        "repo": maybe("org/repo"),
        "branch": maybe("main"),
        "context": maybe({"nested": {"list": [1, 2.5, None, True]}, "text": "é"}),
        "instructions": maybe("do it"),
        "required_tools": rng.sample(["git", "node"], rng.randrange(3)),
        "max_attempts": maybe(rng.randrange(1, 10)),
        "attempts": rng.randrange(5),
        "lease_expires_at": maybe(when),
        "progress": maybe(rng.choice([0.0, 0.5, 1.0, 1 / 3])),
        "current_step": maybe("step"),
        "started_at": maybe(when),
        "completed_at": maybe(when),
        "result": maybe({"ok": True}),
        "error": maybe("boom"),
    }


@pytest.mark.parametrize("seed", range(40))
def test_a_page_is_the_bytes_the_model_writes(seed):
    rng = random.Random(seed)
    rows = [random_row(rng) for _ in range(rng.randrange(0, 8))]
    paging = page_fields(rng.randrange(100), 50, rng.randrange(3) * 50, len(rows))
    expected = TaskListOut.model_validate({"tasks": rows, **paging}).model_dump_json()
    assert ROWS.page_json("tasks", rows, **paging).decode() == expected


def test_columns_the_model_defaults_may_be_missing_but_required_ones_may_not():
    row = random_row(random.Random(1))
    for defaulted in ("intent", "required_tools", "attempts", "error"):
        del row[defaulted]
    assert ROWS.json(row).decode() == TaskOut.model_validate(row).model_dump_json()
    del row["name"]
    with pytest.raises(KeyError):
        ROWS.json(row)
