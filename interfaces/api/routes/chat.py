"""Behflow's chat (POST /api/v1/chat) and 002's conversations (/api/v1/chat/conversations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from application.chat import ChatCommands, ChatReply
from interfaces.adapters.task_source import ReadModelTasks
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
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from interfaces.api.schemas_chat import (
    ChatIn,
    ChatOut,
    ChatTaskOut,
    ConversationIn,
    ConversationListOut,
    ConversationOut,
    MessageIn,
    MessageListOut,
    MessageOut,
    PostedOut,
)
from projections.conversation import ConversationQueries, MessageQueries
from projections.task import TaskQueries

router = APIRouter(tags=["chat"])
TasksDep = Annotated[TaskQueries, Depends(queries(TaskQueries))]
ConversationsDep = Annotated[ConversationQueries, Depends(queries(ConversationQueries))]
MessagesDep = Annotated[MessageQueries, Depends(queries(MessageQueries))]
CONVERSATIONS = "/api/v1/chat/conversations"


def _answer(
    app: LedgerDep,
    context: Context,
    writer: Writer,
    tasks: TasksDep,
    consistency: ConsistencyDep,
    message: str,
    session_id: str | None,
) -> ChatReply:
    consistency.settle_own_writes(
        tasks.name, writer.user_id
    )  # the previous turn's changes are visible
    reply = app[ChatCommands].chat(
        context, writer.user_id, message, session_id, ReadModelTasks(tasks)
    )
    consistency.wrote(writer.user_id, reply.position)
    return reply


def _chat_out(reply: ChatReply) -> dict[str, object]:
    return {
        "response": reply.response,
        "session_id": reply.session_id,
        "tasks": [ChatTaskOut.model_validate(t, from_attributes=True) for t in reply.tasks],
    }


@router.post("/api/v1/chat", responses={**AUTHED, 403: FORBIDDEN})
def chat(
    body: ChatIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    tasks: TasksDep,
    consistency: ConsistencyDep,
    response: Response,
) -> ChatOut:
    """Send a message to the assistant: it creates, lists, changes or deletes your tasks as the
    message says (see docs/chat.md), in the session ``session_id`` (a new one when omitted)."""
    reply = _answer(app, context, writer, tasks, consistency, body.message, body.session_id)
    response.headers[POSITION_HEADER] = str(reply.position)
    return ChatOut.model_validate(_chat_out(reply))


@router.get(CONVERSATIONS, responses=AUTHED)
def list_conversations(
    user_id: CurrentUserId,
    conversations: ConversationsDep,
    consistency: ConsistencyDep,
    paging: PagingDep,
) -> ConversationListOut:
    """Your conversations, most recently active first."""
    consistency.settle_own_writes(conversations.name, user_id)
    page = conversations.page(user_id, paging.limit, paging.offset)
    return ConversationListOut.model_validate(
        page_body("conversations", page.rows, page.total, paging)
    )


@router.post(
    CONVERSATIONS, status_code=status.HTTP_201_CREATED, responses={**AUTHED, 409: CONFLICT}
)
def create_conversation(
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    body: ConversationIn | None = None,
) -> ConversationOut:
    """Start a conversation; its ``session_id`` is the Behflow chat session (409 if taken)."""
    body = body or ConversationIn()
    written = app[ChatCommands].start_conversation(
        context, writer.user_id, body.session_id, body.title
    )
    consistency.wrote(writer.user_id, written.position)
    response.headers[POSITION_HEADER] = str(written.position)
    found = written.aggregate
    return ConversationOut(
        conversation_id=found.id,
        session_id=found.session_id,
        title=found.title,
        message_count=0,
        last_message_at=None,
        created_at=found.created_on,
        updated_at=found.modified_on,
    )


@router.get(CONVERSATIONS + "/{conversation_id}/messages", responses={**AUTHED, 404: NOT_FOUND})
def list_messages(
    conversation_id: str,
    user_id: CurrentUserId,
    app: LedgerDep,
    messages: MessagesDep,
    consistency: ConsistencyDep,
    paging: PagingDep,
) -> MessageListOut:
    """A conversation's messages, oldest first (the path takes its id or its session id)."""
    found = app[ChatCommands].conversation(user_id, conversation_id)
    consistency.settle_own_writes(messages.name, user_id)
    page = messages.page(found.id, paging.limit, paging.offset)
    return MessageListOut.model_validate(page_body("messages", page.rows, page.total, paging))


@router.post(
    CONVERSATIONS + "/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHED, 404: NOT_FOUND},
)
def post_message(
    conversation_id: str,
    body: MessageIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    tasks: TasksDep,
    messages: MessagesDep,
    consistency: ConsistencyDep,
    response: Response,
) -> PostedOut:
    """Post a message to a conversation: the chat answer, and the two messages recorded."""
    found = app[ChatCommands].conversation(writer.user_id, conversation_id)
    reply = _answer(app, context, writer, tasks, consistency, body.message, found.session_id)
    consistency.settle_own_writes(messages.name, writer.user_id, reply.position)
    recorded = messages.by_ids(list(reply.message_ids))
    response.headers[POSITION_HEADER] = str(reply.position)
    return PostedOut.model_validate(
        {
            **_chat_out(reply),
            "conversation_id": reply.conversation_id,
            "messages": [MessageOut.model_validate(row) for row in recorded],
        }
    )


@router.delete(
    CONVERSATIONS + "/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTHED, 404: NOT_FOUND},
)
def delete_conversation(
    conversation_id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
) -> Response:
    """Delete a conversation and its messages; the tasks it created remain."""
    written = app[ChatCommands].delete_conversation(context, writer.user_id, conversation_id)
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})
