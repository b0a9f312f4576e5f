"""The approvals feature: approval requests and votes (002's /approvals), the ``approval`` step
of runs (the run's own approve/reject, flow8's play approve), expiry on durable timers, and the
notifications inbox (an approval awaits me, a run of mine failed, a task of mine was
dead-lettered)."""

from __future__ import annotations

from typing import Any

from application.approval import ApprovalCommands
from application.approval_gate import APPROVAL_STEP, ApprovalGate
from application.notification import NotificationCommands, Notifier
from domain.approval import Approval
from domain.notification import Notification
from interfaces.analytics import Analytics, Export, QueryLookup, Window
from interfaces.api.routes import approvals, notifications, run_approvals
from interfaces.feature import Feature, ReadModel, Scope
from interfaces.metrics import Sampled, count_by
from projections.approval import ApprovalProjection, ApprovalQueries
from projections.notification import (
    ApproverDirectory,
    NotificationProjection,
    NotificationQueries,
)
from projections.readers import ReaderRule

EXPORT_COLUMNS = (
    "approval_id",
    "title",
    "status",
    "outcome",
    "subject_type",
    "run_id",
    "requested_by",
    "quorum",
    "approvals_count",
    "expires_at",
    "decided_at",
    "created_at",
)


def _overview(lookup: QueryLookup, scope: Window) -> dict[str, Any]:
    counts = lookup(ApprovalQueries).counts(scope.owner_id)
    return {status: counts.get(status, 0) for status in ("pending", "approved", "rejected")}


def _rows(lookup: QueryLookup, scope: Window) -> Any:
    return lookup(ApprovalQueries).stream(scope.owner_id, EXPORT_COLUMNS)


FEATURE = Feature(
    name="approvals",
    handlers=(ApprovalCommands, NotificationCommands),
    read_models=(
        ReadModel(lambda rules: ApprovalProjection(), ApprovalQueries),
        ReadModel(lambda rules: NotificationProjection(), NotificationQueries),
        ReadModel(None, ApproverDirectory),  # over the users table
    ),
    routers=(run_approvals.router, approvals.router, notifications.router),
    scopes=(
        Scope("/api/v1/approvals", read="approvals:read", write="approvals:write"),
        Scope("/api/v1/notifications", read="notifications:read", write="notifications:write"),
    ),
    readers=(
        # The requester reads an approval's events; its approvers hear of it through their
        # own notifications (one reader per aggregate: docs/approvals.md).
        ReaderRule(Approval, lambda requested: requested.requested_by),
        ReaderRule(Notification, lambda created: created.recipient_id),
    ),
    reactors=(
        lambda ledger, query: ApprovalGate(ledger),
        lambda ledger, query: Notifier(ledger, query(ApproverDirectory)),
    ),
    step_types=(APPROVAL_STEP,),  # a flow step that waits for an approval
    metrics=(
        Sampled(
            "ledgerflow_approvals",
            "Approvals by status",
            ("status",),
            count_by("approvals", "status"),
        ),
    ),
    analytics=(Analytics("overview.approvals", _overview, "approvals"),),
    exports=(Export("approvals", EXPORT_COLUMNS, _rows, "approvals"),),
)
