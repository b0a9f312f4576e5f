"""The Run aggregate: one execution of a flow, with the state of each step (flow8's play,
Behflow's execution).

A run snapshots its flow's steps in ``run.created``, so later edits or the flow's deletion do not
change it. Its methods are the state machine: a step starts when each dependency succeeded (or
failed with ``continue_on_failure``); a failure with attempts left waits for a retry; a final
failure skips its dependants and fails the run (steps in flight are cancelled); every method takes
the step's attempt and does nothing when the step is no longer in that state, so the engine can
replay a reaction safely.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, NotFound


class RunStatus(StrEnum):
    """Where a run stands."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    """Where a step of a run stands."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
IN_FLIGHT = frozenset({StepStatus.RUNNING, StepStatus.WAITING})


class RunNotFound(NotFound):
    """No such run, or not one the actor may see."""

    kind = "run"
    code = "RUN_NOT_FOUND"


class RunFinished(Conflict):
    """The run has already succeeded or failed."""

    code = "RUN_FINISHED"


def task_id_for(run_id: UUID, step_id: UUID, attempt: int) -> UUID:
    """The id of the task an attempt of a step creates (the same on every replay)."""
    return uuid5(run_id, f"{step_id}:{attempt}")


class Run(Aggregate):
    """One execution of a flow's snapshot of steps."""

    TOPIC = "run"

    class Created(Aggregate.Created):
        TOPIC = "run.created"
        owner_id: UUID
        flow_id: UUID
        flow_name: str
        flow_version: int
        steps: list[dict[str, Any]]
        inputs: dict[str, Any]
        trigger: str
        trigger_id: UUID | None
        correlation_id: str
        created_by: str

    class Started(Aggregate.Event):
        TOPIC = "run.started"

    class StepStarted(Aggregate.Event):
        TOPIC = "run.step_started"
        step_id: UUID
        attempt: int

    class StepWaiting(Aggregate.Event):
        TOPIC = "run.step_waiting"
        step_id: UUID
        attempt: int
        detail: dict[str, Any]  # task_id / approval_id / until

    class StepSucceeded(Aggregate.Event):
        TOPIC = "run.step_succeeded"
        step_id: UUID
        attempt: int
        result: dict[str, Any]

    class StepFailed(Aggregate.Event):
        TOPIC = "run.step_failed"
        step_id: UUID
        attempt: int
        error: str
        retrying: bool

    class StepSkipped(Aggregate.Event):
        TOPIC = "run.step_skipped"
        step_id: UUID
        reason: str

    class Succeeded(Aggregate.Event):
        TOPIC = "run.succeeded"

    class Failed(Aggregate.Event):
        TOPIC = "run.failed"
        error: str
        cancelled_steps: list[UUID]
        skipped_steps: list[UUID]

    class Cancelled(Aggregate.Event):
        TOPIC = "run.cancelled"
        reason: str
        cancelled_steps: list[UUID]
        skipped_steps: list[UUID]

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        flow_id: UUID,
        flow_name: str,
        flow_version: int,
        steps: list[dict[str, Any]],
        inputs: dict[str, Any],
        trigger: str,
        trigger_id: UUID | None,
        correlation_id: str,
        created_by: str,
    ) -> None:
        self.owner_id = owner_id
        self.flow_id = flow_id
        self.flow_name = flow_name
        self.flow_version = flow_version
        self.steps = steps
        self.inputs = inputs
        self.trigger = trigger
        self.trigger_id = trigger_id
        self.correlation_id = correlation_id
        self.created_by = created_by
        self.status = RunStatus.PENDING.value
        self.error: str | None = None
        self.state: dict[str, dict[str, Any]] = {
            str(s["step_id"]): {"status": "pending", "attempt": 0, "retrying": False} for s in steps
        }

    # --- reading -------------------------------------------------------------------------

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` may see and cancel this run."""
        return bool(self.owner_id == user_id)

    @property
    def finished(self) -> bool:
        """True once the run succeeded, failed or was cancelled."""
        return self.status in FINISHED

    def step(self, step_id: UUID | str) -> dict[str, Any]:
        """The snapshot of one step by id."""
        return next(s for s in self.steps if str(s["step_id"]) == str(step_id))

    def step_state(self, step_id: UUID | str) -> dict[str, Any]:
        """The state of one step (status, attempt, result, error, task_id...)."""
        return self.state[str(step_id)]

    def results(self) -> dict[str, Any]:
        """Each finished step's result by key (for templating the next steps' config)."""
        return {
            s["key"]: {"result": self.state[str(s["step_id"])].get("result"), "status": st}
            for s in self.steps
            if (st := self.state[str(s["step_id"])]["status"]) in ("succeeded", "failed")
        }

    def in_state(self, step_id: UUID, attempt: int, *statuses: StepStatus) -> bool:
        """True while the run is live and the step is at ``attempt`` in one of ``statuses``."""
        found = self.state.get(str(step_id))
        return (
            not self.finished
            and found is not None
            and found["attempt"] == attempt
            and found["status"] in statuses
        )

    # --- commands ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the run: every root step starts (an empty flow succeeds at once)."""
        if self.status == RunStatus.PENDING:
            self._start()
            self._advance()

    def wait_step(self, step_id: UUID, attempt: int, **detail: Any) -> None:
        """The step waits for something outside (a task, an approval, a time)."""
        if self.in_state(step_id, attempt, StepStatus.RUNNING):
            self._wait_step(step_id=step_id, attempt=attempt, detail=detail)

    def succeed_step(self, step_id: UUID, attempt: int, result: dict[str, Any]) -> None:
        """The step succeeded; its dependants that are now ready start."""
        if self.in_state(step_id, attempt, *IN_FLIGHT):
            self._succeed_step(step_id=step_id, attempt=attempt, result=result)
            self._advance()

    def fail_step(self, step_id: UUID, attempt: int, error: str) -> None:
        """The step failed: retried while attempts are left, else its failure decides the run."""
        if not self.in_state(step_id, attempt, *IN_FLIGHT):
            return
        spec = self.step(step_id)
        retrying = attempt < int(spec["max_attempts"])
        self._fail_step(step_id=step_id, attempt=attempt, error=error[:2000], retrying=retrying)
        if retrying:
            return
        if not spec["continue_on_failure"]:
            for key in self._downstream(spec["key"]):
                skipped = self._by_key(key)["step_id"]
                self._skip_step(step_id=skipped, reason=f"dependency {spec['key']} failed")
            cancelled, skipped_ids = self._unfinished()
            self._fail(
                error=f"step {spec['key']} failed: {error}"[:2000],
                cancelled_steps=cancelled,
                skipped_steps=skipped_ids,
            )
            return
        self._advance()

    def retry_step(self, step_id: UUID, attempt: int) -> None:
        """Start attempt ``attempt`` of a step whose previous attempt failed."""
        found = self.state.get(str(step_id))
        if (
            not self.finished
            and found is not None
            and found["retrying"]
            and found["attempt"] == attempt - 1
        ):
            self._start_step(step_id=step_id, attempt=attempt)

    def cancel(self, reason: str = "") -> bool:
        """Cancel the run (steps in flight are cancelled); False when it already was."""
        if self.status == RunStatus.CANCELLED:
            return False
        if self.finished:
            raise RunFinished(f"The run has already {self.status}")
        cancelled, skipped = self._unfinished()
        self._cancel(reason=reason[:500], cancelled_steps=cancelled, skipped_steps=skipped)
        return True

    # --- deciding ------------------------------------------------------------------------

    def _by_key(self, key: str) -> dict[str, Any]:
        return next(s for s in self.steps if s["key"] == key)

    def _downstream(self, key: str) -> list[str]:
        found: list[str] = []
        todo = [key]
        while todo:
            current = todo.pop()
            for step in self.steps:
                if current in step["depends_on"] and step["key"] not in found:
                    found.append(step["key"])
                    todo.append(step["key"])
        return [k for k in found if self._status_of(k) == StepStatus.PENDING]

    def _status_of(self, key: str) -> str:
        return str(self.state[str(self._by_key(key)["step_id"])]["status"])

    def _unfinished(self) -> tuple[list[UUID], list[UUID]]:
        cancelled = [s["step_id"] for s in self.steps if self._status_of(s["key"]) in IN_FLIGHT]
        pending = [s["step_id"] for s in self.steps if self._status_of(s["key"]) == "pending"]
        return cancelled, pending

    def _dependency_ok(self, key: str) -> bool | None:
        """True: satisfied; False: it can never be (skipped); None: not yet."""
        status = self._status_of(key)
        if status == StepStatus.SUCCEEDED:
            return True
        if status == StepStatus.FAILED:
            return bool(self._by_key(key)["continue_on_failure"])
        if status in (StepStatus.SKIPPED, StepStatus.CANCELLED):
            return False
        return None

    def _advance(self) -> None:
        """Skip what can no longer run, start what is ready, finish the run when all is done."""
        changed = True
        while changed and not self.finished:
            changed = False
            for step in self.steps:
                state = self.state[str(step["step_id"])]
                if state["status"] != StepStatus.PENDING or state["retrying"]:
                    continue
                deps = [self._dependency_ok(d) for d in step["depends_on"]]
                if False in deps:
                    self._skip_step(step_id=step["step_id"], reason="a dependency did not run")
                    changed = True
                elif None not in deps:
                    self._start_step(step_id=step["step_id"], attempt=1)
        statuses = {v["status"] for v in self.state.values()}
        if not self.finished and not statuses & {"pending", "running", "waiting"}:
            self._succeed()

    # --- mutators: assign only -----------------------------------------------------------

    def _run_status(self) -> None:
        statuses = {v["status"] for v in self.state.values()}
        waiting = "waiting" in statuses and "running" not in statuses
        self.status = (RunStatus.WAITING if waiting else RunStatus.RUNNING).value

    @event(Started)
    def _start(self) -> None:
        self.status = RunStatus.RUNNING.value

    @event(StepStarted)
    def _start_step(self, step_id: UUID, attempt: int) -> None:
        self.state[str(step_id)].update(status="running", attempt=attempt, retrying=False)
        self._run_status()

    @event(StepWaiting)
    def _wait_step(self, step_id: UUID, attempt: int, detail: dict[str, Any]) -> None:
        self.state[str(step_id)].update(status="waiting", **detail)
        self._run_status()

    @event(StepSucceeded)
    def _succeed_step(self, step_id: UUID, attempt: int, result: dict[str, Any]) -> None:
        self.state[str(step_id)].update(status="succeeded", result=result, error=None)
        self._run_status()

    @event(StepFailed)
    def _fail_step(self, step_id: UUID, attempt: int, error: str, retrying: bool) -> None:
        status = "pending" if retrying else "failed"
        self.state[str(step_id)].update(status=status, error=error, retrying=retrying)
        self._run_status()

    @event(StepSkipped)
    def _skip_step(self, step_id: UUID, reason: str) -> None:
        self.state[str(step_id)].update(status="skipped", error=reason)

    @event(Succeeded)
    def _succeed(self) -> None:
        self.status = RunStatus.SUCCEEDED.value

    def _end(self, status: RunStatus, cancelled: list[UUID], skipped: list[UUID]) -> None:
        self.status = status.value
        for step_id in cancelled:
            self.state[str(step_id)]["status"] = "cancelled"
        for step_id in skipped:
            self.state[str(step_id)]["status"] = "skipped"

    @event(Failed)
    def _fail(self, error: str, cancelled_steps: list[UUID], skipped_steps: list[UUID]) -> None:
        self.error = error
        self._end(RunStatus.FAILED, cancelled_steps, skipped_steps)

    @event(Cancelled)
    def _cancel(self, reason: str, cancelled_steps: list[UUID], skipped_steps: list[UUID]) -> None:
        self.error = reason or "cancelled"
        self._end(RunStatus.CANCELLED, cancelled_steps, skipped_steps)
