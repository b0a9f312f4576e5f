"""How agents, commands and dispatched tasks look on the wire: the canonical snake_case shapes
and DevFlow's camelCase presenter (CONTRACT B.1, B.3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.agent import PROFILE, Agent
from domain.task import Task

# DevFlow's status words for the canonical ones (CONTRACT 2.5).
DEVFLOW_STATUS = {"idle": "active", "busy": "active", "offline": "inactive", "error": "error"}
DEVFLOW_FILTER = {"active": ["idle", "busy"], "inactive": ["offline"], "error": ["error"]}


def agent_fields(agent: Agent | Mapping[str, Any]) -> dict[str, Any]:
    """An agent aggregate or read-model row as the canonical field mapping (no heartbeat)."""
    if isinstance(agent, Agent):
        return {
            "agent_id": agent.id,
            "agent_key": agent.agent_key,
            "owner_id": agent.owner_id,
            "status": agent.status,
            "enabled": agent.enabled,
            **{k: getattr(agent, k) for k in PROFILE},
            "created_at": agent.created_on,
            "updated_at": agent.modified_on,
            "version": agent.version,
        }
    keys = ("agent_id", "agent_key", "owner_id", "status", "enabled", *PROFILE)
    return {k: agent[k] for k in (*keys, "created_at", "updated_at", "version")}


def agent_out(agent: Agent | Mapping[str, Any], last_heartbeat: datetime | None) -> dict[str, Any]:
    """The canonical AgentOut."""
    fields = agent_fields(agent)
    fields["last_heartbeat_at"] = last_heartbeat or fields["created_at"]
    return fields


def devflow_agent(out: Mapping[str, Any]) -> dict[str, Any]:
    """DevFlow's agent (``003:L27-38``): camelCase, ``version`` = software version."""
    return {
        "id": str(out["agent_id"]),
        "userId": str(out["owner_id"]),
        "name": out["name"],
        "status": DEVFLOW_STATUS.get(out["status"], out["status"]),
        "version": out["agent_version"],
        "platform": out["platform"],
        "capabilities": list(out["capabilities"]),
        "lastHeartbeat": _iso(out["last_heartbeat_at"]),
        "createdAt": _iso(out["created_at"]),
        "updatedAt": _iso(out["updated_at"]),
    }


def task_fields(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    """A task aggregate or read-model row as the mapping the command presenters read."""
    if not isinstance(task, Task):
        return dict(task)
    names = ("owner_id", "name", "description", "status", "intent", "repo", "branch", "context")
    more = ("instructions", "required_tools", "progress", "current_step", "error", "attempts")
    return {
        "task_id": task.id,
        **{k: getattr(task, k) for k in (*names, *more)},
        "agent_id": task.agent_id,
        "lease_expires_at": task.lease_expires_at,
        "taken_by": task.lease_agent_id,
        "created_at": task.created_on,
    }


def step_task_ids(tasks: Iterable[Task | Mapping[str, Any]]) -> list[UUID]:
    """The tasks among these that a flow's agent step may have created (it gives its tasks one
    attempt of their own: ``application/agent_step.py``), whose run and step a command names."""
    return [
        (t.id if isinstance(t, Task) else t["task_id"])
        for t in tasks
        if (t.max_attempts if isinstance(t, Task) else t["max_attempts"]) == 1
    ]


def command_out(
    task: Task | Mapping[str, Any], steps: Mapping[UUID, tuple[UUID, UUID]] | None = None
) -> dict[str, Any]:
    """A command as DevFlow lists it (``003:L84-95``, snake_case there too) plus the lease and,
    for a task a flow's agent step created, its ``run_id`` and ``step_id`` (``steps``: task id ->
    (run, step); CONTRACT B.1 CommandOut)."""
    t = task_fields(task)
    run_id, step_id = (steps or {}).get(t["task_id"], (None, None))
    return {
        "task_id": str(t["task_id"]),
        "intent": t["intent"],
        "repo": t["repo"],
        "branch": t["branch"],
        "description": t["description"],
        "context": t["context"] or {},
        "created_at": _iso(t["created_at"]),
        "lease_expires_at": _iso(t["lease_expires_at"]),
        "attempt": t["attempts"],
        "instructions": t["instructions"],
        "required_tools": list(t["required_tools"] or []),
        "run_id": None if run_id is None else str(run_id),
        "step_id": None if step_id is None else str(step_id),
    }


def parse_id(raw: str, prefix: str) -> UUID | None:
    """A path id as a UUID: plain, or with DevFlow's prefix (``agent-<uuid>``); None otherwise."""
    text = raw.removeprefix(f"{prefix}-")
    try:
        return UUID(text)
    except ValueError:
        return None


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)
