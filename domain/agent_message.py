"""The AgentMessage aggregate: a message one agent sends another (002's agent messages)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import NotFound
from domain.value import bounded_text

CHANNEL_MAX = 100
SUBJECT_MAX = 200
BODY_MAX = 20_000


class MessageNotFound(NotFound):
    """No such message, or not one the actor may see."""

    kind = "message"
    code = "MESSAGE_NOT_FOUND"


class AgentMessage(Aggregate):
    """A message between two agents of one owner, read once by its recipient."""

    TOPIC = "message"

    class Created(Aggregate.Created):
        TOPIC = "message.sent"
        owner_id: UUID
        sender_agent_id: UUID
        recipient_agent_id: UUID
        channel: str
        subject: str
        body: str

    class Read(Aggregate.Event):
        TOPIC = "message.read"
        read_at: datetime

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        sender_agent_id: UUID,
        recipient_agent_id: UUID,
        channel: str,
        subject: str,
        body: str,
    ) -> None:
        self.owner_id = owner_id
        self.sender_agent_id = sender_agent_id
        self.recipient_agent_id = recipient_agent_id
        self.channel = channel
        self.subject = subject
        self.body = body
        self.read_at: datetime | None = None

    @classmethod
    def send(
        cls,
        owner_id: UUID,
        sender_agent_id: UUID,
        recipient_agent_id: UUID,
        channel: str = "default",
        subject: str = "",
        body: str = "",
    ) -> AgentMessage:
        """Check the values and send a message."""
        return cls(
            owner_id=owner_id,
            sender_agent_id=sender_agent_id,
            recipient_agent_id=recipient_agent_id,
            channel=bounded_text("channel", channel, max_length=CHANNEL_MAX),
            subject=bounded_text("subject", subject, max_length=SUBJECT_MAX, required=False),
            body=bounded_text("body", body, max_length=BODY_MAX),
        )

    def mark_read(self, at: datetime) -> None:
        """Record that the recipient read it (the first time only)."""
        if self.read_at is None:
            self._read(read_at=at)

    @event(Read)
    def _read(self, read_at: datetime) -> None:
        self.read_at = read_at
