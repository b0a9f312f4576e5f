"""The run engine: the process manager that drives every run (CONTRACT A.3, "Engine semantics").

It reacts to ``run.created`` (start the root steps), ``run.step_started`` (do the step's work
through its type's executor), ``run.step_failed`` (schedule the retry), ``run.failed`` and
``run.cancelled`` (stop the work of steps in flight), ``task.status_changed`` and
``task.deleted`` (finish the step that waits for that task), and to its durable timers (a delay
has passed, a step timed out, a retry is due). Which step starts next is decided by the Run
aggregate, in the same commit as the event that made it ready.

Nothing runs twice across a crash: the task a step creates has the id
``uuid5(run_id, step_id:attempt)`` and is committed once; every change of the run names the
step's attempt and is a no-op when the run has moved on; timers are keyed by run, step and attempt.
The one exception is an ``http`` step's call, which is at least once (like a webhook delivery),
with an ``Idempotency-Key`` that is the same on every repeat of one attempt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.error import ConcurrentChange
from application.flow import FlowCommands
from application.reactor import Reaction, Reactor, Timer, reacts_to
from application.step_types import DelayStep, HttpStep, Outcome, StepStart, StepType, TaskStep
from application.template import TemplateError, render
from domain.error import DomainError, NotFound
from domain.run import Run, RunNotFound, StepStatus
from domain.run_task import RunTask
from domain.task import Task, TaskNotFound

ACTOR = "system:run-engine"
TIMED_OUT = "timed out"


class RunTaskMissing(NotFound):
    """The task belongs to no run."""


class RunEngine(Reactor):
    """Advances runs: starts ready steps, does their work, retries, times out, cancels."""

    name = "run-engine"

    def __init__(self, ledger: Any, step_types: Mapping[str, StepType] | None = None) -> None:
        self._given = dict(step_types or {})
        self._types: dict[str, StepType] | None = None
        super().__init__(ledger)

    @property
    def step_types(self) -> dict[str, StepType]:
        """The executor of each step type (``agent``/``approval`` are registered by their
        features; a step of a type with no executor fails saying so)."""
        if self._types is None:
            commands = self.ledger[FlowCommands]
            self._types = {
                "task": TaskStep(),
                "delay": DelayStep(),
                "http": HttpStep(commands.http, self.ledger.credentials),
                **self._given,
            }
        return self._types

    # --- reactions -----------------------------------------------------------------------

    @reacts_to(Run.Created)
    def when_run_created_start_it(self, event: Any, reaction: Reaction) -> None:
        """Start the run's root steps."""
        self._change(reaction.context, event.originator_id, Run.start)

    @reacts_to(Run.StepStarted)
    def when_step_started_do_its_work(self, event: Any, reaction: Reaction) -> None:
        """Run the step's executor (once per attempt) and record its outcome."""
        run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        step_id, attempt = event.step_id, event.attempt
        # A replay finds the step waiting when its outcome was recorded but the timers the
        # reaction scheduled were not (they commit with the reactor's position): doing the work
        # again is safe (a task is created once, timers are keyed) and brings them back.
        if not run.in_state(step_id, attempt, StepStatus.RUNNING, StepStatus.WAITING):
            return  # the step finished meanwhile, or the run ended
        step = run.step(step_id)
        start = StepStart(run, step, {}, attempt, event.timestamp, reaction)
        if step.get("timeout_seconds"):
            start.timer("timeout", event.timestamp + timedelta(seconds=step["timeout_seconds"]))
        outcome = self._execute(start)
        self._record(reaction.context, run.id, step_id, attempt, outcome)

    @reacts_to(Run.StepFailed)
    def when_step_failed_schedule_retry(self, event: Any, reaction: Reaction) -> None:
        """A failed attempt with attempts left is retried after a backoff (base x 2^(n-1))."""
        if not event.retrying:
            return
        run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        step = run.step(event.step_id)
        delay = float(step.get("retry_backoff_seconds", 5.0)) * 2 ** (event.attempt - 1)
        start = StepStart(run, step, {}, event.attempt + 1, event.timestamp, reaction)
        start.timer("retry", event.timestamp + timedelta(seconds=delay))

    @reacts_to(Task.StatusChanged)
    def when_task_completed_finish_its_step(self, event: Any, reaction: Reaction) -> None:
        """A task a waiting step created is completed: the step succeeded."""
        if event.to_status != "completed":
            return
        link = self._link(event.originator_id)
        if link is not None:
            result = {"task_id": str(event.originator_id), "status": "completed"}
            self._change(
                self._of_run(reaction, link.run_id),
                link.run_id,
                lambda r: r.succeed_step(link.step_id, link.attempt, result),
            )

    @reacts_to(Task.Deleted)
    def when_task_deleted_fail_its_step(self, event: Any, reaction: Reaction) -> None:
        """A task a waiting step created was deleted: the step failed."""
        link = self._link(event.originator_id)
        if link is not None:
            error = f"the task was deleted{': ' + event.reason if event.reason else ''}"
            self._change(
                self._of_run(reaction, link.run_id),
                link.run_id,
                lambda r: r.fail_step(link.step_id, link.attempt, error),
            )

    @reacts_to(Run.Cancelled, Run.Failed)
    def when_run_ended_stop_step_work(self, event: Any, reaction: Reaction) -> None:
        """Tasks of steps that were in flight end with the run (cancelled, saying why)."""
        run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        for step_id in event.cancelled_steps:
            task_id = run.step_state(step_id).get("task_id")
            if task_id:
                self._end_task(reaction.context, UUID(str(task_id)), f"run {run.status}")

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """A delay passed, a step timed out, or a retry is due."""
        p = timer.payload
        context = CommandContext(
            actor=ACTOR, correlation_id=str(p["correlation_id"]), causation_id=reaction.cause
        )
        run_id, step_id, attempt = UUID(p["run_id"]), UUID(p["step_id"]), int(p["attempt"])
        if p["kind"] == "delay":
            waited = (timer.due_at - datetime.fromisoformat(p["started_at"])).total_seconds()
            result = {"waited_seconds": round(waited, 3)}
            self._change(context, run_id, lambda r: r.succeed_step(step_id, attempt, result))
        elif p["kind"] == "timeout":
            self._change(context, run_id, lambda r: r.fail_step(step_id, attempt, TIMED_OUT))
            self._end_timed_out_task(context, run_id, step_id, attempt)
        elif p["kind"] == "retry":
            self._change(context, run_id, lambda r: r.retry_step(step_id, attempt))

    # --- helpers -------------------------------------------------------------------------

    def _execute(self, start: StepStart) -> Outcome:
        kind = start.step["type"]
        executor = self.step_types.get(kind)
        if executor is None:
            return Outcome("failed", error=f"steps of type {kind} cannot run yet on this server")
        scope = {"inputs": start.run.inputs, "steps": start.run.results()}
        try:
            config = render(start.step["config"], scope)
            return executor.start(
                StepStart(start.run, start.step, config, start.attempt, start.at, start.reaction)
            )
        except (TemplateError, DomainError, ValueError, KeyError, TypeError) as error:
            return Outcome("failed", error=str(error))

    def _record(
        self, context: CommandContext, run_id: UUID, step_id: UUID, attempt: int, outcome: Outcome
    ) -> None:
        def apply(run: Run) -> None:
            if outcome.status == "succeeded":
                run.succeed_step(step_id, attempt, outcome.result)
            elif outcome.status == "waiting":
                run.wait_step(step_id, attempt, **outcome.detail)
            else:
                run.fail_step(step_id, attempt, outcome.error)

        self._change(context, run_id, apply)

    def _change(self, context: CommandContext, run_id: UUID, change: Callable[[Run], Any]) -> None:
        self.ledger.change(
            context, lambda: self.ledger.load(Run, run_id, RunNotFound), run_id, None, change
        )

    def _of_run(self, reaction: Reaction, run_id: UUID) -> CommandContext:
        """The reaction's context with the run's correlation id (the task's change carried its
        own request's), like every event the run causes."""
        run: Run = self.ledger.load(Run, run_id, RunNotFound)
        return replace(reaction.context, correlation_id=run.correlation_id)

    def _link(self, task_id: UUID) -> RunTask | None:
        try:
            link: RunTask = self.ledger.load(RunTask, RunTask.id_for(task_id), RunTaskMissing)
        except RunTaskMissing:
            return None
        return link

    def _end_timed_out_task(
        self, context: CommandContext, run_id: UUID, step_id: UUID, attempt: int
    ) -> None:
        """The task of an attempt that timed out is ended (a retry creates a new one)."""
        state = self.ledger.load(Run, run_id, RunNotFound).step_state(step_id)
        timed_out = state["attempt"] == attempt and state.get("error") == TIMED_OUT
        if timed_out and state.get("task_id"):
            self._end_task(context, UUID(str(state["task_id"])), "step timed out")

    def _end_task(self, context: CommandContext, task_id: UUID, reason: str) -> None:
        def end(task: Task) -> None:
            if not task.deleted and task.status not in ("completed", "failed", "cancelled"):
                task.cancel(reason)  # task.cancelled: an agent holding it gets 409 and stops

        # Gone already, or changed by its owner meanwhile: nothing to stop.
        with contextlib.suppress(TaskNotFound, ConcurrentChange):
            self.ledger.change(
                context, lambda: self.ledger.load(Task, task_id, TaskNotFound), task_id, None, end
            )
