"""Dispatch commands: leases for polling agents, their reports (progress, complete, fail),
cancel, DevFlow's execute and the dead-letter queue.

Two pollers never get the same lease: a lease is the event ``task.leased`` appended at the
task's next version, and the event store accepts only one event per version (optimistic
concurrency, across processes). The loser's commit raises ``ConcurrentChange``; it skips that
task and tries the next candidate. Candidates come from the tasks read model, which may lag: a
candidate that is no longer queued is refused by the aggregate (``TaskNotQueued``) and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.error import ConcurrentChange
from application.handlers import Handlers
from application.ledger import Ledger
from application.result import Written
from application.run_engine import RunTaskMissing
from domain.agent import Agent
from domain.dispatch import TaskNotQueued, can_take, queued
from domain.run_task import RunTask
from domain.task import Task, TaskNotFound

Clock = Callable[[], datetime]
NAME_MAX = 200


@dataclass(frozen=True)
class Reporter:
    """Who reports on a task: its owner's user (``agent_id`` None) or one of the owner's
    agents (which must hold the lease)."""

    owner_id: UUID
    agent_id: UUID | None = None


class DispatchCommands(Handlers):
    """The handlers of task dispatch (the agents feature)."""

    def __init__(
        self, ledger: Ledger, lease_seconds: float, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(ledger)
        self.lease_seconds = lease_seconds
        self.clock = clock

    def lease_commands(
        self, context: CommandContext, agent: Agent, candidates: Iterable[UUID], limit: int
    ) -> tuple[list[Task], int]:
        """Lease up to ``limit`` of the candidate tasks to ``agent``; the leased tasks and the
        position of the last lease (0: none)."""
        leased: list[Task] = []
        position = 0
        for task_id in candidates:
            if len(leased) >= limit:
                break
            try:
                task = self._load(Task, task_id, TaskNotFound)
                if not self._may_take(agent, task):
                    continue
                task.lease(agent.id, self.clock(), self.lease_seconds)
                position = self._commit(context, task)
            except (ConcurrentChange, TaskNotQueued, TaskNotFound):
                continue  # another poller won it, or it is no longer queued
            leased.append(task)
        return leased, position

    def queued_tasks(self, task_ids: Iterable[UUID]) -> list[Task]:
        """The aggregates of these tasks that wait for an agent now (the others are left out)."""
        found = []
        for task_id in task_ids:
            try:
                task = self._load(Task, task_id, TaskNotFound)
            except TaskNotFound:
                continue
            if queued(task):
                found.append(task)
        return found

    def lease_each(
        self,
        offers: Sequence[tuple[CommandContext, Agent, UUID]],
        loaded: Mapping[UUID, Task] | None = None,
    ) -> list[tuple[int, Task, int]]:
        """Lease each offered task to its agent, the commits sharing one group commit; for each
        lease won: the offer's index, the task and its position. ``loaded``: aggregates just
        loaded, used instead of loading them again (a stale one loses its commit like any
        concurrent change). An offer is skipped when the task is no longer queued or another
        poller (another process) took it first."""
        pending = []
        for index, (context, agent, task_id) in enumerate(offers):
            try:
                found = None if loaded is None else loaded.get(task_id)
                task = self._load(Task, task_id, TaskNotFound) if found is None else found
                if not self._may_take(agent, task):
                    continue
                task.lease(agent.id, self.clock(), self.lease_seconds)
            except (TaskNotQueued, TaskNotFound):
                continue
            pending.append((index, task, self._submit(context, task)))
        won = []
        for index, task, future in pending:
            try:
                won.append((index, task, future.result()))
            except ConcurrentChange:
                continue  # another process's poller won it
        return won

    def run_steps(self, task_ids: Iterable[UUID]) -> dict[UUID, tuple[UUID, UUID]]:
        """The (run, step) each of these tasks was created for by a flow's agent step; tasks
        created otherwise are absent."""
        found = {}
        for task_id in task_ids:
            try:
                link = self._load(RunTask, RunTask.id_for(task_id), RunTaskMissing)
            except RunTaskMissing:
                continue
            found[task_id] = (link.run_id, link.step_id)
        return found

    @staticmethod
    def _may_take(agent: Agent, task: Task) -> bool:
        tools = agent.enabled_tools
        return task.owner_id == agent.owner_id and can_take(
            agent.id, agent.capabilities, tools, task.agent_id, task.intent, task.required_tools
        )

    def report_progress(
        self, context: CommandContext, reporter: Reporter, task_id: UUID, report: Mapping[str, Any]
    ) -> Written[Task]:
        """Record progress (0..1), step and details; it extends the lease."""
        return self._report(
            context,
            reporter,
            task_id,
            lambda t: t.report_progress(
                reporter.agent_id, report, self.clock(), self.lease_seconds
            ),
        )

    def complete_task(
        self, context: CommandContext, reporter: Reporter, task_id: UUID, result: Mapping[str, Any]
    ) -> Written[Task]:
        """Record a completion (summary, output, pr_url, result_files passed through)."""
        return self._report(
            context, reporter, task_id, lambda t: t.complete(reporter.agent_id, result)
        )

    def fail_task(
        self,
        context: CommandContext,
        reporter: Reporter,
        task_id: UUID,
        error: str,
        details: str | None = None,
        logs: str | None = None,
    ) -> Written[Task]:
        """Record a failure: retried while attempts remain, else failed and dead-lettered."""
        return self._report(
            context, reporter, task_id, lambda t: t.fail(reporter.agent_id, error, details, logs)
        )

    def execute(
        self, context: CommandContext, owner_id: UUID, task_id: UUID, request: Mapping[str, Any]
    ) -> Written[Task]:
        """DevFlow's execute: queue the task ``task_id`` for agents with capability ``intent``,
        creating it when it does not exist (named after the first words of the request)."""
        text = str(request.get("natural_language") or "")
        dispatch = {k: request.get(k) for k in ("intent", "repo", "branch") if k in request}
        try:
            existing = self._load(Task, task_id, TaskNotFound)
        except TaskNotFound:
            task = Task.create(owner_id, text[:NAME_MAX] or "Task", text[:5000], task_id=task_id)
            task.assign(dispatch)
            try:
                return Written(task, self._commit(context, task))
            except ConcurrentChange:
                pass  # created meanwhile by a retry of the same request: update it below
        else:
            if not existing.visible_to(owner_id):
                raise TaskNotFound(task_id)

        def requeue(task: Task) -> None:
            task.update({"description": text[:5000]})
            task.assign(dispatch)

        return self._report(context, Reporter(owner_id), task_id, requeue)

    def expire_lease(
        self, context: CommandContext, task_id: UUID, reason: str, agent_id: UUID | None = None
    ) -> Written[Task] | None:
        """Put the task back in the queue if its lease ran out (or ``agent_id`` held it)."""
        changed: list[bool] = []
        written = self._change(
            context,
            lambda: self._load(Task, task_id, TaskNotFound),
            task_id,
            None,
            lambda t: changed.append(t.expire_lease(self.clock(), reason, agent_id)),
        )
        return written if changed[-1] else None

    def extend_lease(self, context: CommandContext, task_id: UUID) -> Written[Task]:
        """Extend a live holder's lease (its heartbeats show it is alive)."""
        return self._change(
            context,
            lambda: self._load(Task, task_id, TaskNotFound),
            task_id,
            None,
            lambda t: t.extend_lease(self.clock(), self.lease_seconds),
        )

    def dead_letter(self, context: CommandContext, task_id: UUID, reason: str) -> Written[Task]:
        """Put a task in the dead-letter queue by hand (admin)."""
        return self._admin(context, task_id, lambda t: t.dead_letter(reason))

    def requeue(self, context: CommandContext, task_id: UUID) -> Written[Task]:
        """Take a task out of the dead-letter queue and back to agents (admin)."""
        return self._admin(context, task_id, Task.requeue)

    def clear_dead_letter(self, context: CommandContext, task_id: UUID) -> Written[Task]:
        """Take a task out of the dead-letter queue; it stays failed (admin)."""
        return self._admin(context, task_id, Task.clear_dead_letter)

    def _admin(
        self, context: CommandContext, task_id: UUID, change: Callable[[Task], object]
    ) -> Written[Task]:
        def load() -> Task:
            task = self._load(Task, task_id, TaskNotFound)
            if task.deleted:
                raise TaskNotFound(task_id)
            return task

        return self._change(context, load, task_id, None, change)

    def _report(
        self,
        context: CommandContext,
        reporter: Reporter,
        task_id: UUID,
        change: Callable[[Task], object],
    ) -> Written[Task]:
        def load() -> Task:
            task = self._load(Task, task_id, TaskNotFound)
            if not task.visible_to(reporter.owner_id):
                raise TaskNotFound(task_id)
            return task

        return self._change(context, load, task_id, None, change)
