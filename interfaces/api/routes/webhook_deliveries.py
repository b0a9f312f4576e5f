"""A webhook's deliveries: list them, send a test, retry one, recover the failed ones."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from application import webhook_retry
from application.principal import Principal
from domain.webhook import WebhookNotFound
from interfaces.api.deps import CurrentPrincipal, PagingDep, Writer, queries
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.query import in_utc
from interfaces.api.read_wait import settled
from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut, page_fields
from projections.webhook_delivery import WebhookDeliveries

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
DeliveryStatus = Literal["pending", "failed", "succeeded", "dead"]


class DeliveryNotFound(WebhookNotFound):
    """No such delivery of this webhook."""

    kind = "webhook delivery"


DeliveriesDep = Annotated[WebhookDeliveries, Depends(queries(WebhookDeliveries))]


class AttemptOut(BaseModel):
    """One try: when, the answer's status code (none when no answer came), how long it took."""

    n: int = Field(description="the attempt's number, from 1", examples=[1])
    at: datetime = Field(description="when it was sent", examples=["2026-12-01T10:00:00Z"])
    status_code: int | None = Field(
        description="the endpoint's status code; null when no answer came", examples=[200]
    )
    latency_ms: float = Field(
        description="how long the attempt took, in milliseconds", examples=[85.3]
    )
    error: str | None = Field(
        description="what went wrong, if it did", examples=["connection refused"]
    )


class DeliveryOut(BaseModel):
    """One event for one webhook; ``webhook-id`` on the wire is ``msg_<delivery_id>``."""

    delivery_id: UUID = Field(
        description="the delivery's id (webhook-id is msg_<delivery_id>)",
        examples=["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"],
    )
    webhook_id: UUID = Field(
        description="the webhook it is for", examples=["f6a7b8c9-d0e1-4f2a-9b4c-5d6e7f8091a2"]
    )
    event_id: UUID = Field(
        description="the event it delivers", examples=["1a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d"]
    )
    event_type: str = Field(description="the event's type", examples=["task.created"])
    position: int | None = Field(description="the event's log position", examples=[42])
    status: DeliveryStatus = Field(
        description="pending, failed (retrying), succeeded or dead", examples=["succeeded"]
    )
    attempts: int = Field(description="attempts made so far", examples=[1])
    next_attempt_at: datetime = Field(
        description="when the next attempt is due", examples=["2026-12-01T10:05:00Z"]
    )
    last_status_code: int | None = Field(
        description="the status code of the last answer", examples=[200]
    )
    last_error: str | None = Field(
        description="what went wrong last, if anything", examples=["HTTP 503"]
    )
    created_at: CreatedAt
    updated_at: UpdatedAt
    attempt_log: list[AttemptOut] = Field(description="every attempt, oldest first")


class DeliveryListOut(PageOut):
    """A page of deliveries, newest first."""

    deliveries: list[DeliveryOut] = Field(description="the deliveries of this page, newest first")


class QueuedOut(BaseModel):
    """Deliveries queued to be sent now."""

    delivery_id: UUID | None = Field(
        default=None,
        description="the delivery queued, when one was",
        examples=["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"],
    )
    queued: int = Field(description="how many deliveries were queued", examples=[1])


# Each route below waits (Settled) for the caller's own writes before ``_own`` looks.
Settled = Annotated[None, settled(WebhookDeliveries)]


def _own(deliveries: WebhookDeliveries, webhook_id: UUID, me: Principal) -> None:
    """404 unless the webhook exists and is the caller's."""
    if deliveries.owner_of(webhook_id) != me.user_id:
        raise WebhookNotFound(webhook_id)


@router.get("/{webhook_id}/deliveries", responses={**AUTHED, 404: NOT_FOUND})
def list_deliveries(
    webhook_id: UUID,
    me: CurrentPrincipal,
    deliveries: DeliveriesDep,
    _: Settled,
    paging: PagingDep,
    status: DeliveryStatus | None = None,
) -> DeliveryListOut:
    """The webhook's deliveries, newest first, each with its attempts (status code, latency)."""
    limit, offset = paging.limit, paging.offset
    _own(deliveries, webhook_id, me)
    rows, total = deliveries.list(webhook_id, status, limit, offset)
    return DeliveryListOut(
        deliveries=[DeliveryOut.model_validate(r) for r in rows],
        **page_fields(total, limit, offset, len(rows)),
    )


WRITE = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND}


@router.post("/{webhook_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=WRITE)
def send_test(webhook_id: UUID, me: Writer, deliveries: DeliveriesDep, _: Settled) -> QueuedOut:
    """Send a `webhook.test` event to the endpoint now; follow it in the deliveries."""
    _own(deliveries, webhook_id, me)
    sent = deliveries.send_test(webhook_id, f"user:{me.user_id}", webhook_retry.now())
    return QueuedOut(delivery_id=sent, queued=1)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses=WRITE,
)
def retry_delivery(
    webhook_id: UUID,
    delivery_id: UUID,
    me: Writer,
    deliveries: DeliveriesDep,
    _: Settled,
) -> QueuedOut:
    """Send one delivery again now, whatever its state (a dead one gets one more attempt)."""
    _own(deliveries, webhook_id, me)
    if not deliveries.retry(webhook_id, delivery_id, webhook_retry.now()):
        raise DeliveryNotFound(delivery_id)
    return QueuedOut(delivery_id=delivery_id, queued=1)


@router.post("/{webhook_id}/recover", status_code=status.HTTP_202_ACCEPTED, responses=WRITE)
def recover(
    webhook_id: UUID,
    me: Writer,
    deliveries: DeliveriesDep,
    _: Settled,
    since: Annotated[AwareDatetime, AfterValidator(in_utc)] | None = None,
) -> QueuedOut:
    """Send again every failed or dead delivery created since `since` (ISO 8601 with a zone;
    all of them without it)."""
    _own(deliveries, webhook_id, me)
    return QueuedOut(queued=deliveries.recover(webhook_id, since, webhook_retry.now()))
