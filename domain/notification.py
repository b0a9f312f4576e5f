"""The Notification aggregate: one message in one user's inbox (002's notifications, CONTRACT
E.5): an approval awaits them, a run of theirs failed, an agent task of theirs was dead-lettered.

Its only reader is its recipient, so its ``notification.created`` reaches exactly that user's
event feed, WebSockets (as 002's ``notification``) and webhooks.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import NotFound

TITLE_MAX = 200
BODY_MAX = 2000
KINDS = ("approval_requested", "run_failed", "task_dead_lettered")


class NotificationNotFound(NotFound):
    """No such notification, or not one of the actor's."""

    kind = "notification"
    code = "NOTIFICATION_NOT_FOUND"


class Notification(Aggregate):
    """A notification for one user; unread until they read it."""

    TOPIC = "notification"

    class Created(Aggregate.Created):
        TOPIC = "notification.created"
        recipient_id: UUID
        kind: str
        title: str
        body: str
        subject: dict[str, Any]

    class Read(Aggregate.Event):
        TOPIC = "notification.read"

    @event(Created)
    def __init__(
        self, recipient_id: UUID, kind: str, title: str, body: str, subject: dict[str, Any]
    ) -> None:
        self.recipient_id = recipient_id
        self.kind = kind
        self.title = title
        self.body = body
        self.subject = subject
        self.read = False

    @classmethod
    def send(
        cls,
        notification_id: UUID,
        recipient_id: UUID,
        kind: str,
        title: str,
        body: str,
        subject: dict[str, Any],
    ) -> Notification:
        """A new unread notification with a deterministic id (sent once per cause)."""
        notification: Notification = cls._create(
            cls.Created,
            id=notification_id,
            recipient_id=recipient_id,
            kind=kind,
            title=title[:TITLE_MAX],
            body=body[:BODY_MAX],
            subject=subject,
        )
        return notification

    def mark_read(self) -> bool:
        """Mark it read; False when it already was."""
        if self.read:
            return False
        self._mark_read()
        return True

    @event(Read)
    def _mark_read(self) -> None:
        self.read = True
