"""The one event-sourced Application of Ledgerflow and its command handlers.

One Application means one events table and one gapless global order: the notification id
of an event is its ``position``, the cursor every reader (projections, clients) follows.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from application.accounts import AccountCommands
from application.api_keys import ApiKeyCommands
from application.context import CommandContext, stamp
from application.credential import CredentialVault
from application.error import ConcurrentChange, StaleVersion
from application.group_commit import GroupCommitter
from application.mfa import MfaCommands
from application.result import Written
from application.sessions import SessionCommands
from application.webhooks import UrlCheck, WebhookCommands
from domain.error import NotFound
from domain.task import Task, TaskNotFound

A = TypeVar("A", bound=Aggregate)
CONFLICT_RETRIES = 10
LOCK_STRIPES = 256


@dataclass(frozen=True)
class CreateTask:
    """Create a task for its owner."""

    owner_id: UUID
    name: str
    description: str = ""
    priority: str = "medium"
    due_date: datetime | None = None
    tags: tuple[str, ...] = ()


class Ledger(
    AccountCommands,
    SessionCommands,
    ApiKeyCommands,
    MfaCommands,
    WebhookCommands,
    Application[UUID],
):
    """Command handlers for users (``AccountCommands``) and tasks, written through group commit.

    ``check_webhook_url`` is the SSRF guard webhook URLs pass before they are saved (the
    composition root gives ``interfaces.adapters.webhook_guard.check_url``); without it only
    their syntax is checked.
    """

    name = "ledgerflow"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        credentials: CredentialVault,
        check_webhook_url: UrlCheck | None = None,
    ) -> None:
        super().__init__(env)
        self.credentials = credentials
        self.check_webhook_url = check_webhook_url or (lambda url: None)
        self._committer = GroupCommitter(self)
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def close(self) -> None:
        """Finish queued writes, then release the store."""
        self._committer.close()
        super().close()

    # Tasks

    def create_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        name: str,
        description: str = "",
        priority: str = "medium",
        due_date: datetime | None = None,
        tags: tuple[str, ...] | list[str] = (),
    ) -> Written[Task]:
        """Create a task owned by ``owner_id``."""
        command = CreateTask(owner_id, name, description, priority, due_date, tuple(tags))
        task, pending = self._submit_new_task(context, command)
        return Written(task, pending.result())

    async def create_task_async(
        self, context: CommandContext, command: CreateTask
    ) -> Written[Task]:
        """``create_task`` for the event loop: no thread is held while the group commits."""
        task, pending = self._submit_new_task(context, command)
        return Written(task, await asyncio.wrap_future(pending))

    def _submit_new_task(
        self, context: CommandContext, command: CreateTask
    ) -> tuple[Task, Future[int]]:
        task = Task.create(
            command.owner_id,
            command.name,
            command.description,
            command.priority,
            command.due_date,
            command.tags,
        )
        return task, self._submit(context, task)

    def update_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Written[Task]:
        """Change fields and status of a task the owner can see."""
        return self._change_task(
            context, owner_id, task_id, expected_version, lambda t: t.update(changes)
        )

    def delete_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
    ) -> Written[Task]:
        """Delete a task the owner can see."""
        return self._change_task(context, owner_id, task_id, expected_version, Task.delete)

    def get_task(self, owner_id: UUID, task_id: UUID, version: int | None = None) -> Task:
        """A task the owner can see, now or at an earlier ``version``."""
        task = self._load(Task, task_id, TaskNotFound, version)
        if not task.visible_to(owner_id):
            raise TaskNotFound(task_id)
        return task

    # Plumbing

    def _change_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None,
        change: Callable[[Task], None],
    ) -> Written[Task]:
        return self._change(
            context, lambda: self.get_task(owner_id, task_id), task_id, expected_version, change
        )

    def _change(
        self,
        context: CommandContext,
        load: Callable[[], A],
        aggregate_id: UUID,
        expected_version: int | None,
        change: Callable[[A], object],
    ) -> Written[A]:
        # Changes of one aggregate are serialised inside this process (a striped lock), so
        # only writers in other processes can race. Without If-Match a lost race is retried on
        # fresh state, so no change is lost silently; with If-Match the caller asked for exactly
        # that version, so a race is reported.
        with self._stripes[hash(aggregate_id) % len(self._stripes)]:
            for attempt in range(CONFLICT_RETRIES):
                aggregate = load()
                if expected_version is not None and aggregate.version != expected_version:
                    raise StaleVersion(expected_version, aggregate.version)
                change(aggregate)
                try:
                    return Written(aggregate, self._commit(context, aggregate))
                except ConcurrentChange:
                    if expected_version is not None or attempt == CONFLICT_RETRIES - 1:
                        raise
                time.sleep(random.uniform(0, 0.005) * (attempt + 1))  # noqa: S311 - jitter
        raise AssertionError("unreachable")  # pragma: no cover

    def _load(
        self, kind: type[A], aggregate_id: UUID, missing: type[NotFound], version: int | None = None
    ) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise missing(aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise missing(aggregate_id)
        return aggregate

    def _commit(self, context: CommandContext, *aggregates: Aggregate) -> int:
        return self._submit(context, *aggregates).result()

    def _submit(self, context: CommandContext, *aggregates: Aggregate) -> Future[int]:
        events = [e for agg in aggregates for e in agg.collect_events()]
        stamp(events, context)
        return self._committer.submit(events)
