"""Chat and conversation bodies (Behflow's chat answer; 002's conversations)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import AliasChoices, BaseModel, Field

from domain.conversation import CONTENT_MAX, SESSION_MAX, TITLE_MAX
from interfaces.api.schemas import PageOut, StrictIn


class ChatIn(StrictIn):
    """A message to the assistant, in a session (a new one when ``session_id`` is omitted)."""

    message: str = Field(
        min_length=1,
        max_length=CONTENT_MAX,
        examples=["Create a task to review project documentation"],
    )
    session_id: str | None = Field(
        default=None, min_length=1, max_length=SESSION_MAX, examples=["abc-123"]
    )


class MessageIn(StrictIn):
    """A message posted to a conversation (``content`` is accepted for ``message``)."""

    message: str = Field(
        min_length=1,
        max_length=CONTENT_MAX,
        validation_alias=AliasChoices("message", "content"),
    )


class ChatTaskOut(BaseModel):
    """A task as the chat answer shows it (Behflow)."""

    task_id: UUID
    name: str
    description: str
    status: str
    priority: str


class ChatOut(BaseModel):
    """Behflow's chat answer."""

    response: str
    session_id: str
    tasks: list[ChatTaskOut]


class ConversationIn(StrictIn):
    """A new conversation; a session id is made up when none is given."""

    title: str = Field(default="", max_length=TITLE_MAX)
    session_id: str | None = Field(default=None, min_length=1, max_length=SESSION_MAX)


class ConversationOut(BaseModel):
    """A conversation (a Behflow chat session)."""

    conversation_id: UUID
    session_id: str
    title: str
    message_count: int
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ConversationListOut(PageOut):
    """A page of the caller's conversations."""

    conversations: list[ConversationOut]
    has_more: bool


class MessageOut(BaseModel):
    """One message of a conversation."""

    message_id: UUID
    conversation_id: UUID
    role: str
    content: str
    intent: str
    task_ids: list[UUID]
    created_at: datetime
    position: int


class MessageListOut(PageOut):
    """A page of a conversation's messages, oldest first."""

    messages: list[MessageOut]


class PostedOut(ChatOut):
    """Behflow's chat answer, with the conversation and the two messages it recorded."""

    conversation_id: UUID
    messages: list[MessageOut]
