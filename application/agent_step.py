"""A flow's ``agent`` step (issue 14 with issue 15): dispatch a task to agents, wait for them.

Start (``AgentStep``, the run engine's executor for ``agent``): each attempt of the step creates
one dispatchable task, ``uuid5(run_id, step_id:attempt)`` like a task step's, with the step's
capability as its ``intent`` (or pinned to the step's ``agent_id``) and the config's repo, branch,
context, instructions and required tools. The task has ONE attempt of its own: an agent's failure
fails this attempt of the step, and the step's ``max_attempts`` and backoff decide the retry (a new
task), as for every step type. A lease that expires only hands the task to the next poller.

Outcome (``StepTaskOutcomes``, a reactor): the task events of issue 15 finish the step that the
task belongs to (the ``RunTask`` link): ``task.completed`` succeeds it with what the agent
reported, a final ``task.failed``, ``task.cancelled`` or ``task.dead_lettered`` fails it. The same
holds for a ``task`` step that waits for its task (its owner may complete or fail it through the
reports too). Every change names the step's attempt and is a no-op once the run has moved on, and
a replay after a crash finds the task already created (version 1 collides): exactly once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.reactor import Reaction, Reactor, reacts_to
from application.run_engine import RunTaskMissing
from application.step_types import Outcome, StepKind, StepStart
from domain.dispatch import check_agent_step
from domain.run import Run, RunNotFound, task_id_for
from domain.run_task import RunTask
from domain.task import Task, TaskNotFound
from domain.task_value import NAME_MAX

ACTOR = "system:run-engine"
DISPATCHED = ("repo", "branch", "context", "instructions", "required_tools")


class AgentStep:
    """Creates the step's task for agents with the capability (or the pinned agent) and waits."""

    def start(self, start: StepStart) -> Outcome:
        """Create and queue the task (once, even on a replay)."""
        run, config, step = start.run, start.config, start.step
        step_id: UUID = step["step_id"]
        task_id = task_id_for(run.id, step_id, start.attempt)
        task = Task.create(
            run.owner_id,
            str(config.get("name") or step["name"])[:NAME_MAX],
            str(config.get("description", "")),
            task_id=task_id,
        )
        dispatch: dict[str, Any] = {k: config[k] for k in DISPATCHED if k in config}
        dispatch.update(intent=config.get("capability"), agent_id=step.get("agent_id"))
        task.assign({**dispatch, "max_attempts": 1})
        start.reaction.commit_once(task, RunTask.link(task_id, run.id, step_id, start.attempt))
        return Outcome("waiting", detail={"task_id": str(task_id)})


# The agents feature's step type (interfaces/features/agents.py declares it).
AGENT_STEP = StepKind("agent", check_agent_step, lambda commands: AgentStep())


class StepTaskOutcomes(Reactor):
    """Finishes the step of a run whose task was completed, failed, cancelled or dead-lettered."""

    name = "run-step-tasks"

    @reacts_to(Task.Completed)
    def when_task_completed_succeed_its_step(self, event: Any, reaction: Reaction) -> None:
        """The agent (or the owner) completed the task: the step succeeded with its report."""
        link = self._link(event.originator_id)
        if link is None:
            return
        run = self.ledger.load(Run, link.run_id, RunNotFound)
        task_id = str(event.originator_id)
        if run.step(link.step_id)["type"] != "agent":
            result: dict[str, Any] = {"task_id": task_id, "status": "completed"}
        else:
            result = {
                "task_id": task_id,
                "agent_id": self._holder(event),
                "summary": event.summary,
                "output": event.output,
                "pr_url": event.pr_url,
                "result_files": event.result_files,
            }
        self._finish(run, link, reaction, lambda r: r.succeed_step(*link_at(link), result))

    @reacts_to(Task.Failed)
    def when_task_failed_fail_its_step(self, event: Any, reaction: Reaction) -> None:
        """A final failure fails the step (a non-final one is back in the agents' queue)."""
        if event.final:
            self._fail(event.originator_id, reaction, f"the agent failed: {event.error}")

    @reacts_to(Task.Cancelled)
    def when_task_cancelled_fail_its_step(self, event: Any, reaction: Reaction) -> None:
        """The task was cancelled (by its owner, or by the engine when the run ended)."""
        reason = f": {event.reason}" if event.reason else ""
        self._fail(event.originator_id, reaction, f"the task was cancelled{reason}")

    @reacts_to(Task.DeadLettered)
    def when_task_dead_lettered_fail_its_step(self, event: Any, reaction: Reaction) -> None:
        """The task went to the dead-letter queue (its lease was lost too often)."""
        self._fail(event.originator_id, reaction, f"the task was dead-lettered ({event.reason})")

    def _fail(self, task_id: UUID, reaction: Reaction, error: str) -> None:
        link = self._link(task_id)
        if link is not None:
            run = self.ledger.load(Run, link.run_id, RunNotFound)
            self._finish(run, link, reaction, lambda r: r.fail_step(*link_at(link), error))

    def _finish(self, run: Run, link: RunTask, reaction: Reaction, change: Any) -> None:
        # The run's correlation id, like every other event of the run (the task's report
        # carried the agent's request's).
        context = CommandContext(
            actor=ACTOR, correlation_id=run.correlation_id, causation_id=reaction.cause
        )
        self.ledger.change(
            context, lambda: self.ledger.load(Run, run.id, RunNotFound), run.id, None, change
        )

    def _link(self, task_id: UUID) -> RunTask | None:
        try:
            link: RunTask = self.ledger.load(RunTask, RunTask.id_for(task_id), RunTaskMissing)
        except RunTaskMissing:
            return None  # a task of no run
        return link

    def _holder(self, event: Any) -> str | None:
        """The agent that held the lease just before the completion (None: the owner's)."""
        before = self.ledger.load(
            Task, event.originator_id, TaskNotFound, event.originator_version - 1
        )
        return before.lease_agent_id


def link_at(link: RunTask) -> tuple[UUID, int]:
    """The step and attempt a task belongs to."""
    return link.step_id, link.attempt
