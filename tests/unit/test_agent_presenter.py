"""DevFlow's camelCase presenter and the camelCase input of the agent endpoints."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from domain.agent import Agent
from domain.task import Task
from interfaces.api.agent_schemas import AgentIn, CompleteIn, ExecuteIn, HeartbeatIn
from interfaces.api.agent_view import (
    agent_out,
    command_out,
    devflow_agent,
    parse_id,
)
from interfaces.api.alias import Exchange
from interfaces.features.tasks import devflow_task

SEEN = datetime(2025, 1, 24, 0, 15, tzinfo=UTC)


def test_devflows_registration_body_reads_as_the_canonical_fields():
    body = AgentIn.model_validate(
        {
            "agentId": "agent-uuid",
            "userId": "user-123",
            "name": "my-agent",
            "version": "0.2.0",
            "platform": "darwin",
            "capabilities": ["fix-bug"],
        }
    )
    assert body.agent_key == "agent-uuid" and body.agent_version == "0.2.0"
    assert body.profile() == {
        "name": "my-agent",
        "agent_version": "0.2.0",
        "platform": "darwin",
        "capabilities": ["fix-bug"],
    }
    snake = AgentIn.model_validate({"agent_key": "k", "name": "n", "llm_model": "m"})
    assert snake.profile() == {"name": "n", "llm_model": "m"}
    with pytest.raises(ValidationError):
        AgentIn.model_validate({"name": "n", "unknown": 1})


def test_camel_case_bodies_keep_free_form_objects_untouched():
    beat = HeartbeatIn.model_validate({"taskCount": 5, "memoryUsage": 256, "cpuUsage": 12.5})
    assert beat.sent() == {"task_count": 5, "memory_usage": 256, "cpu_usage": 12.5}
    files = {"commitSha": "abc", "files": ["a.ts"]}
    done = CompleteIn.model_validate({"prUrl": "https://x/pull/1", "resultFiles": files})
    assert done.sent() == {"pr_url": "https://x/pull/1", "result_files": files}
    run = ExecuteIn.model_validate(
        {"taskId": "task-1", "intent": "fix-bug", "repo": "r", "naturalLanguage": "Fix it"}
    )
    assert (run.task_id, run.natural_language) == ("task-1", "Fix it")


def test_an_agent_is_presented_in_devflows_shape_with_its_status_words():
    owner = uuid4()
    agent = Agent.register(owner, "k", {"name": "my-agent", "agent_version": "0.2.0"})
    shown = devflow_agent(agent_out(agent, SEEN))
    assert shown["id"] == str(agent.id) and shown["userId"] == str(owner)
    assert (shown["status"], shown["version"], shown["lastHeartbeat"]) == (
        "active",
        "0.2.0",
        "2025-01-24T00:15:00Z",
    )
    agent.stop()
    assert devflow_agent(agent_out(agent, None))["status"] == "inactive"
    assert agent_out(agent, None)["last_heartbeat_at"] == agent.created_on


def test_commands_are_snake_case_with_the_context_as_sent_and_tasks_are_camel_case():
    task = Task.create(uuid4(), "Fix", "Fix null pointer exception")
    task.assign({"intent": "fix-bug", "repo": "r", "context": {"issueId": "123"}})
    task.lease(uuid4(), SEEN, 300)
    command = command_out(task)
    assert command["task_id"] == str(task.id) and command["context"] == {"issueId": "123"}
    assert command["attempt"] == 1 and command["lease_expires_at"] == "2025-01-24T00:20:00Z"
    answer = {"task_id": str(task.id), "status": "in_progress", "intent": "x", "agent_id": None}
    shown = devflow_task(answer, Exchange({"state": {"user_id": task.owner_id}}, {}))
    assert shown["id"] == str(task.id) and shown["agentId"] is None
    assert shown["completedAt"] is None and "currentStep" in shown and "error" in shown


def test_path_ids_accept_devflows_prefix_and_nothing_else_that_is_not_a_uuid():
    some = uuid4()
    assert parse_id(f"agent-{some}", "agent") == some == parse_id(str(some), "agent")
    assert parse_id("agent-uuid", "agent") is None
    assert parse_id(f"task-{some}", "task") == some
