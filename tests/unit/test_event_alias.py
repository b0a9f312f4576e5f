"""Event names other seeds subscribe to: derived from the recorded events, never stored."""

from projections.event_alias import EventMatcher, derived_name, devflow_event

COMPLETED = {"from_status": "in_progress", "to_status": "completed"}
BLOCKED = {"from_status": "in_progress", "to_status": "blocked"}


def test_task_completed_matches_a_status_change_to_completed_only():
    matcher = EventMatcher(["task.completed"])
    assert matcher.matches("task.status_changed", COMPLETED)
    assert not matcher.matches("task.status_changed", BLOCKED)
    assert not matcher.matches("task.created", {})


def test_task_updated_also_matches_every_status_change():
    matcher = EventMatcher(["task.updated"])
    assert matcher.matches("task.updated", {"changes": {}})
    assert matcher.matches("task.status_changed", BLOCKED)


def test_a_pattern_that_matches_the_recorded_type_needs_no_alias():
    assert EventMatcher(["task.*"]).derived == []
    assert EventMatcher([]).matches("anything", {})


def test_the_sql_form_carries_the_alias_conditions_as_parameters():
    condition, params = EventMatcher(["task.completed"]).sql()
    assert "LIKE ANY" in condition.as_string(None)
    assert params == [["task.completed"], "task.status_changed", "to_status", "completed"]


def test_the_derived_name_is_the_most_specific_one():
    assert derived_name("task.status_changed", COMPLETED) == "task.completed"
    assert derived_name("task.status_changed", BLOCKED) is None


def test_a_devflow_webhook_body_is_event_and_camel_case_data():
    envelope = {
        "type": "task.status_changed",
        "aggregate_type": "task",
        "aggregate_id": "t-1",
        "occurred_at": "2025-01-24T00:30:00Z",
        "data": COMPLETED,
    }
    assert devflow_event(envelope) == {
        "event": "task.completed",
        "data": {
            "fromStatus": "in_progress",
            "toStatus": "completed",
            "taskId": "t-1",
            "status": "completed",
            "completedAt": "2025-01-24T00:30:00Z",
        },
    }
