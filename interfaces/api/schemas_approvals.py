"""Request and answer models of the approvals and notifications endpoints (CONTRACT A.8, E.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AliasChoices, BaseModel, Field

from interfaces.api.schemas import StrictIn

EXAMPLE_ID = "0b6a1f3e-2c4d-4e5f-8a9b-1c2d3e4f5a6b"
EXAMPLE_TIME = "2026-12-01T09:00:00Z"


class SubjectIn(StrictIn):
    """What an approval is about (``run_step`` subjects are opened by the run engine only)."""

    type: Literal["custom", "task"] = Field(
        default="custom", description="what the approval is about", examples=["task"]
    )
    id: str | None = Field(
        default=None, max_length=100, description="the id of that thing", examples=[EXAMPLE_ID]
    )


class ApprovalIn(StrictIn):
    """A request for a decision (002's ``POST /approvals``)."""

    title: str = Field(
        min_length=1, max_length=200, description="what to decide", examples=["Deploy to prod"]
    )
    description: str = Field(
        default="", max_length=5000, description="details", examples=["Release 1.4.2"]
    )
    subject: SubjectIn | None = Field(
        default=None,
        description="what it is about",
        examples=[{"type": "task", "id": EXAMPLE_ID}],
    )
    approver_user_ids: list[UUID] = Field(
        default_factory=list,
        max_length=100,
        description="users who may vote",
        examples=[[EXAMPLE_ID]],
    )
    approver_roles: list[Literal["admin", "member"]] = Field(
        default_factory=list,
        description="roles whose users may vote (viewers never approve)",
        examples=[["admin"]],
    )
    quorum: int = Field(
        default=1, ge=1, le=100, description="distinct approvals that decide", examples=[2]
    )
    allow_self_approval: bool = Field(
        default=False, description="whether the requester may vote", examples=[False]
    )
    expires_at: datetime | None = Field(
        default=None, description="when it expires (at most 30 days ahead)", examples=[EXAMPLE_TIME]
    )
    expires_in_seconds: int | None = Field(
        default=None, ge=1, le=2_592_000, description="expiry from now", examples=[3600]
    )
    on_expiry: Literal["rejected", "approved"] = Field(
        default="rejected", description="the outcome when it expires", examples=["rejected"]
    )
    payload: dict[str, Any] = Field(
        default_factory=dict, description="free-form data kept with it", examples=[{"pr": 42}]
    )


class DecisionIn(StrictIn):
    """A vote's comment (002 approve/reject; ``reason`` is accepted for ``comment``)."""

    comment: str = Field(
        default="",
        max_length=2000,
        validation_alias=AliasChoices("comment", "reason"),
        description="why",
        examples=["Looks good"],
    )


class RunDecisionIn(DecisionIn):
    """A vote on a run's waiting approval step."""

    step_id: UUID | None = Field(
        default=None,
        description="the approval step, required when several wait",
        examples=[EXAMPLE_ID],
    )


class DecisionOut(BaseModel):
    """One vote."""

    user_id: UUID = Field(description="who voted", examples=[EXAMPLE_ID])
    decision: str = Field(description="approve or reject", examples=["approve"])
    comment: str = Field(description="why", examples=["Looks good"])
    decided_at: datetime | None = Field(description="when", examples=[EXAMPLE_TIME])


class ApprovalOut(BaseModel):
    """An approval and its votes."""

    approval_id: UUID = Field(description="its id", examples=[EXAMPLE_ID])
    title: str = Field(description="what to decide", examples=["Deploy to prod"])
    description: str = Field(description="details", examples=["Release 1.4.2"])
    status: str = Field(
        description="pending, approved, rejected, expired or cancelled", examples=["pending"]
    )
    outcome: str | None = Field(
        description="approved or rejected once decided (an expiry's on_expiry)",
        examples=["approved"],
    )
    subject: dict[str, Any] = Field(description="what it is about", examples=[{"type": "custom"}])
    requested_by: UUID = Field(description="the requester", examples=[EXAMPLE_ID])
    approver_user_ids: list[UUID] = Field(description="users who may vote", examples=[[]])
    approver_roles: list[str] = Field(description="roles who may vote", examples=[["admin"]])
    quorum: int = Field(description="distinct approvals that decide", examples=[1])
    allow_self_approval: bool = Field(description="may the requester vote", examples=[False])
    on_expiry: str = Field(description="the outcome of an expiry", examples=["rejected"])
    payload: dict[str, Any] = Field(description="free-form data", examples=[{}])
    approvals_count: int = Field(description="approvals so far", examples=[0])
    decisions: list[DecisionOut] = Field(description="the votes, in order", examples=[[]])
    expires_at: datetime | None = Field(description="its expiry", examples=[EXAMPLE_TIME])
    decided_at: datetime | None = Field(description="when it was decided", examples=[None])
    created_at: datetime = Field(description="when it was requested", examples=[EXAMPLE_TIME])
    version: int = Field(description="its version (ETag)", examples=[1])
    position: int | None = Field(
        default=None, description="the log position of a write", examples=[42]
    )


class PageOut(BaseModel):
    """The paging fields of a list under /api/v1 (CONTRACT 2.3)."""

    total: int = Field(description="how many match", examples=[1])
    limit: int = Field(description="page size", examples=[50])
    offset: int = Field(description="skipped", examples=[0])
    has_more: bool = Field(description="more after this page", examples=[False])
    page: int = Field(description="1-based page", examples=[1])
    per_page: int = Field(description="page size", examples=[50])
    pages: int = Field(description="how many pages", examples=[1])


class ApprovalListOut(PageOut):
    """A page of approvals."""

    approvals: list[ApprovalOut] = Field(description="newest first", examples=[[]])


class RunApprovalOut(BaseModel):
    """The answer of a vote on a run's approval step (the approval may still need its quorum)."""

    run_id: UUID = Field(description="the run", examples=[EXAMPLE_ID])
    step_id: UUID = Field(description="its approval step", examples=[EXAMPLE_ID])
    approval_id: UUID = Field(description="the step's approval", examples=[EXAMPLE_ID])
    approval_status: str = Field(description="the approval's status now", examples=["approved"])
    position: int = Field(description="the log position of the vote", examples=[42])


class NotificationOut(BaseModel):
    """One notification of the inbox."""

    notification_id: UUID = Field(description="its id", examples=[EXAMPLE_ID])
    type: str = Field(
        description="approval_requested, run_failed or task_dead_lettered",
        examples=["approval_requested"],
    )
    title: str = Field(description="one line", examples=["Deploy to prod"])
    body: str = Field(description="details", examples=["An approval awaits your decision"])
    subject: dict[str, Any] = Field(
        description="what it is about", examples=[{"type": "approval", "id": EXAMPLE_ID}]
    )
    read_at: datetime | None = Field(description="when it was read", examples=[None])
    created_at: datetime = Field(description="when it was sent", examples=[EXAMPLE_TIME])


class NotificationListOut(PageOut):
    """A page of the inbox."""

    notifications: list[NotificationOut] = Field(description="newest first", examples=[[]])


class UnreadOut(BaseModel):
    """How many notifications are unread."""

    unread: int = Field(description="unread notifications", examples=[3])


class ReadAllOut(BaseModel):
    """How many notifications were marked read."""

    updated: int = Field(description="notifications marked read", examples=[3])
