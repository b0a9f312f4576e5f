"""Webhook endpoints of the signed-in user: /api/v1/webhooks (create, list, read, change,
delete, rotate the secret). Deliveries, tests and replays live in ``webhook_deliveries.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from application.result import Written
from application.webhooks import WebhookCommands
from domain.event_pattern import PATTERN_MAX_LENGTH, PATTERNS_MAX
from domain.webhook import DESCRIPTION_MAX, URL_MAX, Webhook, WebhookNotFound
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    PagingDep,
    Writer,
    expected_version,
    queries,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, STALE
from interfaces.api.read_wait import settled
from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut, StrictIn, page_fields
from projections.webhook import WebhookQueries

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
IfMatch = Annotated[str | None, Header(description="the webhook's ETag; 412 when stale")]
WebhooksDep = Annotated[WebhookQueries, Depends(queries(WebhookQueries))]
CHANGE = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}
Pattern = Annotated[str, Field(min_length=1, max_length=PATTERN_MAX_LENGTH)]
URL_HELP = "http(s) URL whose host resolves to public addresses"
PayloadFormat = Literal["envelope", "devflow"]
FORMAT_HELP = "the body of a delivery: the event envelope, or DevFlow's {event, data} camelCase"


class WebhookIn(StrictIn):
    """A new webhook: where to send which events (``events`` patterns, or one ``event``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.com/hooks/ledgerflow",
                    "events": ["task.*"],
                    "description": "CI notifications",
                }
            ]
        }
    )

    url: str = Field(
        max_length=URL_MAX, description=URL_HELP, examples=["https://example.com/hooks/ledgerflow"]
    )
    events: list[Pattern] | None = Field(
        default=None,
        max_length=PATTERNS_MAX,
        examples=[["task.*"]],
        description="event type patterns to deliver (* matches any part)",
    )
    event: Pattern | None = Field(
        default=None, description="one event type (AstraFlow's form)", examples=["task.completed"]
    )
    description: str = Field(
        default="",
        max_length=DESCRIPTION_MAX,
        description="what the endpoint is for",
        examples=["CI notifications"],
    )
    enabled: bool = Field(
        default=True, description="false registers it without delivering", examples=[True]
    )
    format: PayloadFormat = Field(
        default="envelope", description=FORMAT_HELP, examples=["envelope"]
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="your own whsec_ secret; generated if absent",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )

    @model_validator(mode="after")
    def _some_events(self) -> WebhookIn:
        if not self.events and not self.event:
            raise ValueError("give events (a list of patterns such as task.*) or event")
        return self

    def patterns(self) -> list[str]:
        """The patterns asked for, ``event`` included."""
        return [*(self.events or []), *([self.event] if self.event else [])]


class WebhookUpdateIn(StrictIn):
    """A partial change: only the fields sent change; ``enabled: true`` re-enables."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"events": ["task.*"], "enabled": True}]}
    )

    url: str | None = Field(
        default=None,
        max_length=URL_MAX,
        description=URL_HELP,
        examples=["https://example.com/hooks/v2"],
    )
    events: list[Pattern] | None = Field(
        default=None,
        max_length=PATTERNS_MAX,
        description="new event type patterns (replace the old ones)",
        examples=[["task.*"]],
    )
    description: str | None = Field(
        default=None,
        max_length=DESCRIPTION_MAX,
        description="a new description",
        examples=["CI notifications (v2)"],
    )
    enabled: bool | None = Field(
        default=None,
        description="true re-enables a disabled webhook, false pauses it",
        examples=[True],
    )
    format: PayloadFormat | None = Field(
        default=None, description=FORMAT_HELP, examples=["devflow"]
    )


class WebhookOut(BaseModel):
    """A webhook as its owner sees it (never its secret)."""

    webhook_id: UUID = Field(
        description="the webhook's id", examples=["f6a7b8c9-d0e1-4f2a-9b4c-5d6e7f8091a2"]
    )
    url: str = Field(
        description="where deliveries are sent", examples=["https://example.com/hooks/ledgerflow"]
    )
    events: list[str] = Field(
        description="the event type patterns it receives", examples=[["task.*"]]
    )
    description: str = Field(description="what the endpoint is for", examples=["CI notifications"])
    format: str = Field(description="envelope or devflow", examples=["envelope"])
    enabled: bool = Field(description="false: nothing is delivered", examples=[True])
    disabled_reason: str | None = Field(
        description="why it was disabled; null when enabled", examples=["failing for 5 days"]
    )
    created_at: CreatedAt
    updated_at: UpdatedAt
    version: int = Field(description="the webhook's version; also its ETag", examples=[1])


class WebhookWrittenOut(WebhookOut):
    """A webhook after a command, with the log position that recorded the change."""

    position: int = Field(
        description="pass as X-Ledgerflow-Min-Position to read this write", examples=[42]
    )


class WebhookCreatedOut(WebhookWrittenOut):
    """A new webhook with its signing secret: shown this once, stored only encrypted."""

    secret: str = Field(
        description="whsec_…: verify deliveries with it; not shown again",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretRotatedOut(WebhookWrittenOut):
    """The new signing secret (shown once); the previous one signs too until the given time."""

    secret: str = Field(
        description="the new signing secret: shown only now",
        examples=["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
    )
    previous_secret_expires_at: datetime = Field(
        description="until when the old secret signs too", examples=["2026-12-01T10:05:00Z"]
    )


class WebhookListOut(PageOut):
    """A page of the caller's webhooks."""

    webhooks: list[WebhookOut] = Field(description="the webhooks of this page")


def written_fields(written: Written[Webhook], response: Response) -> dict[str, Any]:
    """The fields of a webhook after a command; sets its ETag and position headers."""
    hook = written.aggregate
    response.headers["ETag"] = f'"{hook.version}"'
    response.headers[POSITION_HEADER] = str(written.position)
    return {
        "webhook_id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "description": hook.description,
        "format": hook.format,
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "created_at": hook.created_on,
        "updated_at": hook.modified_on,
        "version": hook.version,
        "position": written.position,
    }


def listed(row: dict[str, Any]) -> WebhookOut:
    """A read-model row as the API shows it."""
    return WebhookOut.model_validate({**row, "webhook_id": row["id"]})


@router.post("", status_code=status.HTTP_201_CREATED, responses={**AUTHED, 403: FORBIDDEN})
def create_webhook(
    body: WebhookIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> WebhookCreatedOut:
    """Register an endpoint for the events matching `events` (`task.*`); copy `secret` now.

    The URL's host must resolve to public addresses (422 otherwise), unless the operator allows
    it in `LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS`."""
    written, secret = app[WebhookCommands].create_webhook(
        context,
        writer.user_id,
        body.url,
        body.patterns(),
        body.description,
        body.enabled,
        body.secret,
        body.format,
    )
    consistency.wrote(writer.user_id, written.position)
    return WebhookCreatedOut(**written_fields(written, response), secret=secret)


@router.get("", responses=AUTHED)
def list_webhooks(
    user_id: CurrentUserId,
    webhooks: WebhooksDep,
    _: Annotated[None, settled(WebhookQueries)],
    paging: PagingDep,
) -> WebhookListOut:
    """Your webhooks, newest first (secrets are never shown again)."""
    found = webhooks.list(user_id, paging.limit, paging.offset)
    return WebhookListOut(
        webhooks=[listed(row) for row in found.webhooks],
        **page_fields(found.total, paging.limit, paging.offset, len(found.webhooks)),
    )


@router.get("/{webhook_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_webhook(
    webhook_id: UUID,
    user_id: CurrentUserId,
    webhooks: WebhooksDep,
    _: Annotated[None, settled(WebhookQueries)],
    response: Response,
) -> WebhookOut:
    """One of your webhooks."""
    row = webhooks.get(user_id, webhook_id)
    if row is None:
        raise WebhookNotFound(webhook_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return listed(row)


@router.put("/{webhook_id}", responses=CHANGE)
def update_webhook(
    webhook_id: UUID,
    body: WebhookUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookWrittenOut:
    """Change the URL, patterns, description or `enabled` (true re-enables a webhook that was
    disabled, also one the dispatcher disabled); If-Match refuses a stale write."""
    written = app[WebhookCommands].update_webhook(
        context,
        writer.user_id,
        webhook_id,
        url=body.url,
        events=body.events,
        description=body.description,
        enabled=body.enabled,
        expected_version=expected_version(if_match),
        format=body.format,
    )
    consistency.wrote(writer.user_id, written.position)
    return WebhookWrittenOut(**written_fields(written, response))


@router.post("/{webhook_id}/rotate-secret", responses=CHANGE)
def rotate_webhook_secret(
    webhook_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> SecretRotatedOut:
    """A new signing secret, shown once; deliveries carry both signatures for 24 h."""
    written, secret = app[WebhookCommands].rotate_webhook_secret(
        context, writer.user_id, webhook_id, expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    until = written.aggregate.previous_valid_until
    assert until is not None  # set by the rotation just made
    return SecretRotatedOut(
        **written_fields(written, response), secret=secret, previous_secret_expires_at=until
    )


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANGE)
def delete_webhook(
    webhook_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete one of your webhooks: no further deliveries; it then answers 404."""
    written = app[WebhookCommands].delete_webhook(
        context, writer.user_id, webhook_id, expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})
