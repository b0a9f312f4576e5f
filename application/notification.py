"""Notification commands (mark read, read all) and the notifier: the reactor that fills each
user's inbox (CONTRACT E.5).

The notifier reacts to ``approval.requested`` (each eligible approver: the listed users, the
active users of the listed roles, or with none listed every active member and admin; never the
requester unless self-approval is allowed), ``run.failed`` (the run's owner) and
``task.dead_lettered`` (the task's owner). A notification's id is derived from its cause and its
recipient (``reaction.id_for``), so a replay sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from application.context import CommandContext
from application.handlers import Handlers
from application.reactor import Reaction, Reactor, reacts_to
from application.result import Written
from domain.approval import Approval
from domain.notification import Notification, NotificationNotFound
from domain.run import Run, RunNotFound
from domain.task import Task, TaskNotFound


class Directory(Protocol):
    """The users read model's answer to "who are the active users with these roles"."""

    def active_with_roles(self, roles: Iterable[str]) -> list[UUID]: ...


class NotificationCommands(Handlers):
    """The handlers of the notifications inbox."""

    def get(self, user_id: UUID, notification_id: UUID) -> Notification:
        """One of the user's notifications (404 for anyone else's)."""
        found = self._load(Notification, notification_id, NotificationNotFound)
        if found.recipient_id != user_id:
            raise NotificationNotFound(notification_id)
        return found

    def mark_read(
        self, context: CommandContext, user_id: UUID, notification_id: UUID
    ) -> Written[Notification]:
        """Mark one notification read (reading a read one changes nothing)."""
        return self._change(
            context,
            lambda: self.get(user_id, notification_id),
            notification_id,
            None,
            Notification.mark_read,
        )

    def read_all(
        self, context: CommandContext, user_id: UUID, unread: Iterable[UUID]
    ) -> tuple[int, int]:
        """Mark every one of ``unread`` read, in one commit: how many changed, and the position
        of that commit (0 when none did)."""
        changed = [n for n in (self.get(user_id, i) for i in unread) if n.mark_read()]
        position = self._commit(context, *changed) if changed else 0
        return len(changed), position


class Notifier(Reactor):
    """Sends notifications: an approval awaits you, your run failed, your task was dead-lettered."""

    name = "notifier"
    needs = ("users",)

    def __init__(self, ledger: Any, directory: Directory) -> None:
        super().__init__(ledger)
        self.directory = directory

    @reacts_to(Approval.Created)
    def when_approval_requested_notify_approvers(self, event: Any, reaction: Reaction) -> None:
        """Each eligible approver is told that an approval awaits them."""
        users = list(event.approver_user_ids)
        if event.approver_roles or not users:
            users += self.directory.active_with_roles(event.approver_roles or ("admin", "member"))
        recipients = [u for u in dict.fromkeys(users) if u != event.requested_by]
        if event.allow_self_approval and event.requested_by in users:
            recipients.append(event.requested_by)
        subject = {"type": "approval", "id": str(event.originator_id), **event.subject}
        body = event.description or f"An approval awaits your decision: {event.title}"
        self._send(reaction, recipients, "approval_requested", event.title, body, subject)

    @reacts_to(Run.Failed)
    def when_run_failed_notify_owner(self, event: Any, reaction: Reaction) -> None:
        """The owner of a run that failed is told why."""
        try:
            run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        except RunNotFound:
            return
        title = f"Run of {run.flow_name} failed"
        subject = {"type": "run", "id": str(run.id), "flow_id": str(run.flow_id)}
        self._send(reaction, [run.owner_id], "run_failed", title, event.error, subject)

    @reacts_to(Task.DeadLettered)
    def when_task_dead_lettered_notify_owner(self, event: Any, reaction: Reaction) -> None:
        """The owner of an agent task that was dead-lettered is told."""
        try:
            task: Task = self.ledger.load(Task, event.originator_id, TaskNotFound)
        except TaskNotFound:
            return
        title = f"Task {task.name} was dead-lettered"
        subject = {"type": "task", "id": str(task.id)}
        body = f"Agents could not finish it ({event.reason})"
        self._send(reaction, [task.owner_id], "task_dead_lettered", title, body, subject)

    def _send(
        self,
        reaction: Reaction,
        recipients: Iterable[UUID],
        kind: str,
        title: str,
        body: str,
        subject: dict[str, Any],
    ) -> None:
        sent = [
            Notification.send(reaction.id_for(user), user, kind, title, body, subject)
            for user in recipients
        ]
        if sent:
            reaction.commit_once(*sent)
