"""The Conversation aggregate: a chat session of one user (Behflow's ``session_id``)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, NotFound
from domain.value import bounded_text

TITLE_MAX = 200
SESSION_MAX = 200
CONTENT_MAX = 4000


class Role(StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


class ConversationNotFound(NotFound):
    """No such conversation, or not one the actor may see."""

    kind = "conversation"
    code = "CONVERSATION_NOT_FOUND"


class ConversationExists(Conflict):
    """A conversation with that session id exists already."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"A conversation with session_id {session_id!r} exists")


def conversation_id_of(owner_id: UUID, session_id: str) -> UUID:
    """The id of a user's conversation for a session: ``uuid5(owner_id, session_id)``."""
    return uuid5(owner_id, session_id)


class Conversation(Aggregate):
    """A user's chat session: the messages and the last listing (for ``#n`` references)."""

    TOPIC = "conversation"

    class Created(Aggregate.Created):
        TOPIC = "conversation.created"
        owner_id: UUID
        session_id: str
        title: str

    class MessagePosted(Aggregate.Event):
        TOPIC = "conversation.message_posted"
        message_id: UUID
        role: str
        content: str
        intent: str
        task_ids: list[UUID]

    class Deleted(Aggregate.Event):
        TOPIC = "conversation.deleted"

    @staticmethod
    def create_id(owner_id: UUID, session_id: str) -> UUID:
        """Deterministic: the same user and session always name the same conversation."""
        return conversation_id_of(owner_id, session_id)

    @event(Created)
    def __init__(self, owner_id: UUID, session_id: str, title: str) -> None:
        self.owner_id = owner_id
        self.session_id = session_id
        self.title = title
        self.message_count = 0
        self.last_listing: list[UUID] = []
        self.deleted = False

    @classmethod
    def start(cls, owner_id: UUID, session_id: str, title: str = "") -> Conversation:
        """Check the values and start a conversation."""
        return cls(
            owner_id=owner_id,
            session_id=bounded_text("session_id", session_id, max_length=SESSION_MAX),
            title=bounded_text("title", title, max_length=TITLE_MAX, required=False),
        )

    def post(
        self,
        message_id: UUID,
        role: Role,
        content: str,
        intent: str = "",
        task_ids: list[UUID] | None = None,
    ) -> None:
        """Add a message; an assistant's listing becomes what ``#n`` refers to."""
        self._ensure_not_deleted()
        self._post(
            message_id=message_id,
            role=role.value,
            content=bounded_text("content", content, max_length=CONTENT_MAX * 4),
            intent=intent,
            task_ids=list(task_ids or []),
        )

    def delete(self) -> None:
        """Delete the conversation (the tasks it created remain)."""
        self._ensure_not_deleted()
        self._delete()

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` may read and write this conversation."""
        return self.owner_id == user_id and not self.deleted

    def _ensure_not_deleted(self) -> None:
        if self.deleted:
            raise ConversationNotFound(self.id)

    @event(MessagePosted)
    def _post(
        self, message_id: UUID, role: str, content: str, intent: str, task_ids: list[UUID]
    ) -> None:
        self.message_count += 1
        if role == Role.ASSISTANT.value and intent == "list":
            self.last_listing = list(task_ids)

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True
