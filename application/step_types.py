"""What each type of step does when it starts: the engine's executors.

An executor gets the step's rendered config and answers an ``Outcome``: succeeded (with its
result), failed (with an error) or waiting (for a task, a time, an approval). It may create new
aggregates with deterministic ids (``start.create``: committed in the same transaction as the run's
change that records the outcome; or ``reaction.commit_once``, before it) and schedule durable
timers; it never changes the run (the engine does).

A step type is declared by the feature that owns it, as a ``StepKind`` in its
``Feature.step_types``: its name, the check of its config when a flow is saved, and how to build
its executor. The flows feature declares ``task``, ``http`` and ``delay`` (``FLOW_STEP_KINDS``,
below), the agents feature ``agent`` (``application/agent_step.py``), the approvals feature
``approval`` (``application/approval_gate.py``). ``FlowCommands`` holds every declared kind; the
run engine builds their executors from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from application.credential import CredentialVault
from application.reactor import Reaction
from domain.flow_step import SEALED, StepCheck, check_delay, check_http, check_task
from domain.run import Run, task_id_for
from domain.run_task import RunTask
from domain.task import Task

if TYPE_CHECKING:
    from application.flow import FlowCommands

BODY_MAX = 65_536


@dataclass(frozen=True)
class Outcome:
    """How a step's start ended: ``succeeded``, ``failed`` or ``waiting``."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepStart:
    """One attempt of one step starting: its run, its snapshot, its rendered config."""

    run: Run
    step: Mapping[str, Any]
    config: dict[str, Any]
    attempt: int
    at: datetime  # when the step started (the event's time: the same on a replay)
    reaction: Reaction
    created: list[Aggregate] = field(default_factory=list)

    def create(self, *aggregates: Aggregate) -> None:
        """New aggregates of the step's work (deterministic ids): the engine commits them in ONE
        transaction with the run's change that records the outcome, so neither exists alone."""
        self.created.extend(aggregates)

    def timer(self, kind: str, due_at: datetime, **extra: Any) -> None:
        """Schedule the engine's timer ``kind`` for this attempt."""
        step_id = str(self.step["step_id"])
        self.reaction.schedule(
            f"{kind}:{self.run.id}:{step_id}:{self.attempt}",
            due_at,
            kind=kind,
            run_id=str(self.run.id),
            step_id=step_id,
            attempt=self.attempt,
            correlation_id=self.run.correlation_id,
            **extra,
        )


class StepType(Protocol):
    """An executor of one step type."""

    def start(self, start: StepStart) -> Outcome: ...


@dataclass(frozen=True)
class StepKind:
    """A step type, declared by the feature that owns it (``Feature.step_types``): its name, the
    check of a step's config when a flow is saved, and its executor, built from the flow
    commands (their HTTP port and credentials) when the run engine first needs it."""

    name: str
    check: StepCheck
    executor: Callable[[FlowCommands], StepType]


class TaskStep:
    """Creates one task (id ``uuid5(run_id, step_id:attempt)``); with ``wait_for_completion``
    the step waits until the task is completed (only then is the task linked to its step: the
    link is how the task's completion finds the step; a step that does not wait needs none)."""

    def start(self, start: StepStart) -> Outcome:
        """Create the task (once, even on a replay)."""
        run, config = start.run, start.config
        step_id: UUID = start.step["step_id"]
        task_id = task_id_for(run.id, step_id, start.attempt)
        task = Task.create(
            run.owner_id,
            str(config["name"]),
            str(config.get("description", "")),
            str(config.get("priority", "medium")),
            _time(config.get("due_date")),
            [str(tag) for tag in config.get("tags", [])],
            task_id=task_id,
        )
        if config.get("wait_for_completion"):
            start.create(task, RunTask.link(task_id, run.id, step_id, start.attempt))
            return Outcome("waiting", detail={"task_id": str(task_id)})
        start.create(task)
        return Outcome("succeeded", {"task_id": str(task_id), "status": "not_started"})


class DelayStep:
    """Waits ``seconds`` from its start, or ``until`` a time, on a durable timer."""

    def start(self, start: StepStart) -> Outcome:
        """Schedule the timer (or succeed at once when the time has passed)."""
        config = start.config
        if config.get("until") is not None:
            due = _time(config["until"]) or start.at
        else:
            due = start.at + timedelta(seconds=float(config["seconds"]))
        if due <= start.at:
            return Outcome("succeeded", {"waited_seconds": 0})
        start.timer("delay", due, started_at=start.at.isoformat())
        return Outcome("waiting", detail={"until": due.isoformat()})


@dataclass(frozen=True)
class HttpRequest:
    """What an ``http`` step sends."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout: float


@dataclass(frozen=True)
class HttpAnswer:
    """What came back."""

    status_code: int
    text: str


HttpCall = Callable[[HttpRequest], HttpAnswer]


def idempotency_key(start: StepStart) -> str:
    """The ``Idempotency-Key`` of an attempt's call: ``uuid5(run_id, "http:<step_id>:<attempt>")``.

    The attempt is in the log (``run.step_started``) before the call is made, so a call repeated
    after a crash carries the same key, and a retry (the next attempt) a new one."""
    return str(uuid5(start.run.id, f"http:{start.step['step_id']}:{start.attempt}"))


class HttpStep:
    """Calls a URL (through the SSRF guard of the ``HttpCall`` it is given); succeeds when the
    status is expected (2xx by default). Sealed header values are opened only here. The call is
    at least once: a worker killed during it calls again when the run resumes, with the same
    ``Idempotency-Key`` header (unless the step's headers set their own), so the receiver can
    recognise the repeat."""

    def __init__(self, call: HttpCall, vault: CredentialVault) -> None:
        self._call = call
        self._vault = vault

    def start(self, start: StepStart) -> Outcome:
        """Make the call and judge its status."""
        config = start.config
        headers = {k: self._open(v) for k, v in (config.get("headers") or {}).items()}
        if not any(name.lower() == "idempotency-key" for name in headers):
            headers["Idempotency-Key"] = idempotency_key(start)
        request = HttpRequest(
            str(config.get("method", "POST")).upper(),
            str(config["url"]),
            headers,
            config.get("body"),
            float(config.get("timeout_seconds", 10)),
        )
        try:
            answer = self._call(request)
        except Exception as error:
            return Outcome("failed", error=f"{type(error).__name__}: {error}")
        expected = config.get("expected_status")
        ok = answer.status_code in expected if expected else 200 <= answer.status_code < 300
        result = {"status_code": answer.status_code, "body": _body(answer.text)}
        if ok:
            return Outcome("succeeded", result)
        return Outcome("failed", result, error=f"unexpected status {answer.status_code}")

    def _open(self, value: str) -> str:
        if value.startswith(SEALED):
            return self._vault.open_secret(value.removeprefix(SEALED))
        return value


def _body(text: str) -> Any:
    text = text[:BODY_MAX]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# The flows feature's own step types (interfaces/features/flows.py declares them).
FLOW_STEP_KINDS = (
    StepKind("task", check_task, lambda commands: TaskStep()),
    StepKind("http", check_http, lambda commands: HttpStep(commands.http, commands.credentials)),
    StepKind("delay", check_delay, lambda commands: DelayStep()),
)
