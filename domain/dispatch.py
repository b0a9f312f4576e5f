"""Dispatching tasks to agents: the fields that make a task dispatchable, who may take it, and
the refusals of the lease state machine (pure: the ``Task`` aggregate applies them).

A task is dispatchable when it names an ``intent`` (a capability any of the owner's enabled
agents with it may take) or is pinned to an ``agent_id``. A dispatchable task that has not started
is queued; a lease hands it to one agent until ``lease_expires_at``; an expired lease puts it back
(``attempt`` + 1 on the next lease). Failing ``max_attempts`` times, or losing the lease
``LEASE_LOSSES_MAX`` times, dead-letters it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.error import Conflict, InvalidValue
from domain.flow_step import InvalidStepConfig, need, templated
from domain.task_value import TaskStatus
from domain.value import bounded_text

NAME_MAX = 200
TEXT_MAX = 20_000
LOGS_MAX = 64 * 1024  # logs beyond this are cut (the tail is kept: it says what went wrong)
TOOLS_MAX = 50
ATTEMPTS_MAX = 100
DEFAULT_MAX_ATTEMPTS = 3
LEASE_LOSSES_MAX = 5
RESULT = ("summary", "output", "pr_url", "result_files")  # what a completion reports
AGENT_STEP_FIELDS = ("intent", "repo", "branch", "context", "instructions", "required_tools")


class TaskFinished(Conflict):
    """The task is completed or failed: reports about it are refused (the agent should stop)."""

    code = "TASK_FINISHED"

    def __init__(self, status: str) -> None:
        super().__init__(f"The task is already {status}")
        self.status = status


class TaskCancelled(TaskFinished):
    """The task was cancelled: the agent should stop working on it."""

    code = "TASK_CANCELLED"


class LeaseNotHeld(Conflict):
    """The agent reporting does not hold the task's lease."""

    code = "LEASE_NOT_HELD"

    def __init__(self) -> None:
        super().__init__("This agent does not hold the task's lease")


class TaskNotQueued(Conflict):
    """The task cannot be leased now (not dispatchable, already leased, finished)."""

    def __init__(self) -> None:
        super().__init__("The task is not waiting for an agent")


class ProgressOutOfRange(InvalidValue):
    """DevFlow: progress is a fraction."""

    code = "PROGRESS_OUT_OF_RANGE"

    def __init__(self) -> None:
        super().__init__("progress", "must be between 0 and 1")
        self.args = ("Progress must be between 0 and 1",)


def _text(field: str, limit: int) -> Any:
    return lambda v: None if v is None else bounded_text(field, v, max_length=limit, required=False)


def _tools(values: Iterable[str]) -> list[str]:
    found = [bounded_text("required_tools", v, max_length=NAME_MAX) for v in values]
    if len(found) > TOOLS_MAX:
        raise InvalidValue("required_tools", f"at most {TOOLS_MAX} entries")
    return list(dict.fromkeys(found))


def _attempts(value: int) -> int:
    if not isinstance(value, int) or not 1 <= value <= ATTEMPTS_MAX:
        raise InvalidValue("max_attempts", f"must be between 1 and {ATTEMPTS_MAX}")
    return value


def _context(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidValue("context", "must be an object")
    return dict(value)  # free-form: passed through untouched, keys never converted


DISPATCH: dict[str, Any] = {
    "agent_id": lambda v: None if v is None else str(UUID(str(v))),
    "intent": _text("intent", NAME_MAX),
    "repo": _text("repo", 2000),
    "branch": _text("branch", NAME_MAX),
    "context": _context,
    "instructions": _text("instructions", TEXT_MAX),
    "required_tools": _tools,
    "max_attempts": _attempts,
}


def checked_dispatch(values: Mapping[str, Any]) -> dict[str, Any]:
    """The dispatch fields of ``values``, validated."""
    return {k: DISPATCH[k](v) for k, v in values.items() if k in DISPATCH}


def check_progress(progress: float | None) -> float | None:
    """A progress fraction in 0..1 (None: not said)."""
    if progress is not None and not 0 <= progress <= 1:
        raise ProgressOutOfRange()
    return progress


def capped_logs(logs: str | None) -> str | None:
    """Logs cut to their last ``LOGS_MAX`` characters."""
    return None if logs is None else logs[-LOGS_MAX:]


def queued(task: Any) -> bool:
    """Whether a task (a ``Task``) waits for an agent: dispatchable (an intent or a pin), not
    started, not leased, not deleted and not in the dead-letter queue."""
    waiting = task.status == TaskStatus.NOT_STARTED.value and task.lease_agent_id is None
    dispatchable = task.intent is not None or task.agent_id is not None
    return waiting and dispatchable and not task.deleted and not task.dead_lettered


def can_take(
    agent_id: UUID,
    capabilities: Iterable[str],
    tools: Iterable[str],
    pinned: str | None,
    intent: str | None,
    required_tools: Iterable[str],
) -> bool:
    """Whether an agent may take a task: pinned to it, or (unpinned) its intent is one of the
    agent's capabilities; and the agent has every tool the task requires (its enabled tools or
    capabilities)."""
    have = {*capabilities, *tools}
    if not set(required_tools) <= have:
        return False
    if pinned is not None:
        return pinned == str(agent_id)
    return intent is not None and intent in set(capabilities)


def check_agent_step(config: Mapping[str, Any], agent_id: UUID | None = None) -> None:
    """A flow's ``agent`` step: a capability (unless pinned to ``agent_id``) and the dispatch
    fields the task it creates will be checked against (templates are checked when it runs)."""
    if agent_id is None:
        need(config, "capability", "agent (unless agent_id is set)")
    fields = {"intent" if k == "capability" else k: v for k, v in config.items()}
    given = {k: v for k, v in fields.items() if k in AGENT_STEP_FIELDS and not templated(v)}
    if not isinstance(given.get("required_tools", []), list):
        raise InvalidStepConfig("config.required_tools", "must be a list of strings")
    try:
        checked_dispatch(given)
    except InvalidValue as error:
        name = "capability" if error.field == "intent" else error.field
        raise InvalidStepConfig(f"config.{name}", error.reason) from None
