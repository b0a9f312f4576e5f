"""The notifications inbox: /api/v1/notifications (002; CONTRACT E10-E13). Notifications also
arrive live on the WebSocket as ``notification`` (``notification.created``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from application.notification import NotificationCommands
from domain.notification import NotificationNotFound
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import CommandDep, CurrentUserId, PagingDep, queries
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_approvals import (
    NotificationListOut,
    NotificationOut,
    ReadAllOut,
    UnreadOut,
)
from projections.notification import NotificationQueries

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
InboxDep = Annotated[NotificationQueries, Depends(queries(NotificationQueries))]
Settled = Annotated[None, settled(NotificationQueries)]


@router.get("", response_model=NotificationListOut, responses=AUTHED)
def list_notifications(
    user_id: CurrentUserId,
    inbox: InboxDep,
    _: Settled,
    paging: PagingDep,
    unread: bool = False,
) -> NotificationListOut:
    """Your notifications, newest first (``unread=true``: only unread ones)."""
    rows, total = inbox.page(user_id, unread, paging.limit, paging.offset)
    shown = [NotificationOut(**row) for row in rows]
    return NotificationListOut(
        notifications=shown, **page_fields(total, paging.limit, paging.offset, len(shown))
    )


@router.get("/unread-count", response_model=UnreadOut, responses=AUTHED)
def unread_count(user_id: CurrentUserId, inbox: InboxDep, _: Settled) -> UnreadOut:
    """How many of your notifications are unread."""
    return UnreadOut(unread=inbox.unread_count(user_id))


@router.put("/read-all", response_model=ReadAllOut, responses={**AUTHED, 403: FORBIDDEN})
async def read_all(
    command: CommandDep, inbox: InboxDep, _: Settled, response: Response
) -> ReadAllOut:
    """Mark every unread notification read."""
    unread = await run_in_threadpool(inbox.unread_ids, command.user_id)
    mark = command.ledger[NotificationCommands].read_all
    updated, position = await run_in_threadpool(mark, command.context, command.user_id, unread)
    await command.consistency.wrote_async(command.user_id, position)
    response.headers[POSITION_HEADER] = str(position)
    return ReadAllOut(updated=updated)


@router.put(
    "/{notification_id}/read",
    response_model=NotificationOut,
    responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND},
)
async def mark_read(
    notification_id: UUID, command: CommandDep, inbox: InboxDep, response: Response
) -> NotificationOut:
    """Mark one notification read (again: no change)."""
    mark = command.ledger[NotificationCommands].mark_read
    written = await run_in_threadpool(mark, command.context, command.user_id, notification_id)
    position = written.position
    await command.consistency.wrote_async(command.user_id, position)
    await command.consistency.settle_async(inbox.name, command.user_id, position or None)
    row = await run_in_threadpool(inbox.get, command.user_id, notification_id)
    if row is None:
        raise NotificationNotFound(notification_id)
    response.headers[POSITION_HEADER] = str(position)
    return NotificationOut(**row)
