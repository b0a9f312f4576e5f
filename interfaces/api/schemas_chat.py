"""Chat and conversation bodies (Behflow's chat answer; 002's conversations)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import AliasChoices, BaseModel, Field

from domain.conversation import CONTENT_MAX, SESSION_MAX, TITLE_MAX
from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut, StrictIn


class ChatIn(StrictIn):
    """A message to the assistant, in a session (a new one when ``session_id`` is omitted)."""

    message: str = Field(
        min_length=1,
        max_length=CONTENT_MAX,
        examples=["Create a task to review project documentation"],
        description="what you ask the assistant, in plain words",
    )
    session_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=SESSION_MAX,
        examples=["abc-123"],
        description="the chat session to continue; omitted: a new one",
    )


class MessageIn(StrictIn):
    """A message posted to a conversation (``content`` is accepted for ``message``)."""

    message: str = Field(
        min_length=1,
        max_length=CONTENT_MAX,
        validation_alias=AliasChoices("message", "content"),
        description="the message text (content is accepted too)",
        examples=["show my tasks"],
    )


class ChatTaskOut(BaseModel):
    """A task as the chat answer shows it (Behflow)."""

    task_id: UUID = Field(
        description="the task's id", examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"]
    )
    name: str = Field(description="the task's name", examples=["Review project documentation"])
    description: str = Field(
        description="the task's description", examples=["Read the README and the docs folder"]
    )
    status: str = Field(
        description="the task's status (not_started, in_progress, ...)", examples=["not_started"]
    )
    priority: str = Field(
        description="the task's priority (low, medium, high, urgent)", examples=["medium"]
    )


class ChatOut(BaseModel):
    """Behflow's chat answer."""

    response: str = Field(
        description="the assistant's answer",
        examples=["Created task 'Review project documentation'."],
    )
    session_id: str = Field(
        description="the session this answer belongs to: send it again to continue",
        examples=["abc-123"],
    )
    tasks: list[ChatTaskOut] = Field(description="the tasks the message created or listed")


class ConversationIn(StrictIn):
    """A new conversation; a session id is made up when none is given."""

    title: str = Field(
        default="",
        max_length=TITLE_MAX,
        description="a title for the conversation",
        examples=["Planning"],
    )
    session_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=SESSION_MAX,
        description="the session id to use; made up when omitted",
        examples=["planning-1"],
    )


class ConversationOut(BaseModel):
    """A conversation (a Behflow chat session)."""

    conversation_id: UUID = Field(
        description="the conversation's id", examples=["2b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e"]
    )
    session_id: str = Field(description="its chat session id", examples=["abc-123"])
    title: str = Field(description="its title", examples=["Planning"])
    message_count: int = Field(description="how many messages it holds", examples=[2])
    last_message_at: datetime | None = Field(
        description="when the last message was added", examples=["2026-12-01T10:05:00Z"]
    )
    created_at: CreatedAt
    updated_at: UpdatedAt


class ConversationListOut(PageOut):
    """A page of the caller's conversations."""

    conversations: list[ConversationOut] = Field(description="the conversations of this page")


class MessageOut(BaseModel):
    """One message of a conversation."""

    message_id: UUID = Field(
        description="the message's id", examples=["3c4d5e6f-7a8b-4c9d-9e0f-2a3b4c5d6e7f"]
    )
    conversation_id: UUID = Field(
        description="the conversation it belongs to",
        examples=["2b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e"],
    )
    role: str = Field(description="user or assistant", examples=["user"])
    content: str = Field(description="the message text", examples=["show my tasks"])
    intent: str = Field(
        description="what the assistant understood (e.g. create_task, list_tasks)",
        examples=["list_tasks"],
    )
    task_ids: list[UUID] = Field(
        description="tasks it created or listed",
        examples=[["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"]],
    )
    created_at: CreatedAt
    position: int = Field(description="the log position that recorded it", examples=[42])


class MessageListOut(PageOut):
    """A page of a conversation's messages, oldest first."""

    messages: list[MessageOut] = Field(description="the messages of this page, oldest first")


class PostedOut(ChatOut):
    """Behflow's chat answer, with the conversation and the two messages it recorded."""

    conversation_id: UUID = Field(
        description="the conversation the messages were added to",
        examples=["2b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e"],
    )
    messages: list[MessageOut] = Field(
        description="the two messages recorded: yours and the answer"
    )
