"""002's agent-to-agent messages: /api/v1/messages/ (list), /send, /{message_id}/read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from application.agent_message import MessageCommands
from domain.agent_message import BODY_MAX, CHANNEL_MAX, SUBJECT_MAX, AgentMessage
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    PagingDep,
    Writer,
    queries,
)
from interfaces.api.envelope import page_body
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.schema_fields import CreatedAt
from interfaces.api.schemas import PageOut, StrictIn
from projections.agent_message import AgentMessageQueries

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])
MessagesDep = Annotated[AgentMessageQueries, Depends(queries(AgentMessageQueries))]


class SendIn(StrictIn):
    """A message from one of your agents to another."""

    sender_agent_id: UUID = Field(
        description="the sending agent (one of yours)",
        examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
    )
    recipient_agent_id: UUID = Field(
        description="the receiving agent (one of yours)",
        examples=["b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"],
    )
    channel: str = Field(
        default="default",
        min_length=1,
        max_length=CHANNEL_MAX,
        description="a channel name to group messages by",
        examples=["default"],
    )
    subject: str = Field(
        default="", max_length=SUBJECT_MAX, description="a subject line", examples=["Review done"]
    )
    body: str = Field(
        min_length=1,
        max_length=BODY_MAX,
        description="the message text",
        examples=["The pull request looks good."],
    )


class AgentMessageOut(BaseModel):
    """An agent message."""

    message_id: UUID = Field(
        description="the message's id", examples=["3c4d5e6f-7a8b-4c9d-9e0f-2a3b4c5d6e7f"]
    )
    sender_agent_id: UUID = Field(
        description="the agent that sent it", examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"]
    )
    recipient_agent_id: UUID = Field(
        description="the agent it was sent to", examples=["b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"]
    )
    channel: str = Field(description="its channel", examples=["default"])
    subject: str = Field(description="its subject line", examples=["Review done"])
    body: str = Field(description="its text", examples=["The pull request looks good."])
    read_at: datetime | None = Field(
        description="when the recipient marked it read; null: unread",
        examples=["2026-12-01T10:05:00Z"],
    )
    created_at: CreatedAt


class AgentMessageListOut(PageOut):
    """A page of agent messages, newest first."""

    messages: list[AgentMessageOut] = Field(description="the messages of this page, newest first")


def _out(message: AgentMessage) -> AgentMessageOut:
    return AgentMessageOut(
        message_id=message.id,
        sender_agent_id=message.sender_agent_id,
        recipient_agent_id=message.recipient_agent_id,
        channel=message.channel,
        subject=message.subject,
        body=message.body,
        read_at=message.read_at,
        created_at=message.created_on,
    )


@router.get("", responses=AUTHED)
@router.get("/", responses=AUTHED, include_in_schema=False)
def list_messages(
    user_id: CurrentUserId,
    messages: MessagesDep,
    consistency: ConsistencyDep,
    paging: PagingDep,
    agent_id: Annotated[UUID | None, Query(description="sent or received by")] = None,
    channel: Annotated[str | None, Query(max_length=CHANNEL_MAX)] = None,
) -> AgentMessageListOut:
    """Your agents' messages, newest first, by agent and channel."""
    consistency.settle_own_writes(messages.name, user_id)
    page = messages.page(user_id, agent_id, channel, paging.limit, paging.offset)
    return AgentMessageListOut.model_validate(page_body("messages", page.rows, page.total, paging))


@router.post("/send", status_code=status.HTTP_201_CREATED, responses={**AUTHED, 403: FORBIDDEN})
def send_message(
    body: SendIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> AgentMessageOut:
    """Send a message from one agent to another (``message.sent``; WebSocket ``message.new``)."""
    written = app[MessageCommands].send_message(
        context,
        writer.user_id,
        body.sender_agent_id,
        body.recipient_agent_id,
        body.channel,
        body.subject,
        body.body,
    )
    consistency.wrote(writer.user_id, written.position)
    response.headers[POSITION_HEADER] = str(written.position)
    return _out(written.aggregate)


@router.patch("/{message_id}/read", responses={**AUTHED, 404: NOT_FOUND})
def mark_read(
    message_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
) -> AgentMessageOut:
    """Mark a message read; ``read_at`` keeps the first time."""
    written = app[MessageCommands].mark_read(context, writer.user_id, message_id)
    consistency.wrote(writer.user_id, written.position)
    return _out(written.aggregate)
