"""How an approval row of the read model is shown, and who may see it (the same rules as the
aggregate's ``visible_to``, on the row)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.principal import Principal
from interfaces.api.schemas_approvals import ApprovalOut


def visible(row: dict[str, Any], principal: Principal) -> bool:
    """The requester, the listed users, the eligible approvers and admins see an approval."""
    user_id, role = principal.user_id, principal.role
    listed: list[UUID] = row["approver_user_ids"]
    roles: list[str] = row["approver_roles"]
    anyone = not listed and not roles and role in ("admin", "member")
    return (
        row["requested_by"] == user_id
        or role == "admin"
        or user_id in listed
        or (role in roles)
        or anyone
    )


def approval_out(row: dict[str, Any], position: int | None = None) -> ApprovalOut:
    """The answer model of one approval row."""
    fields = {k: v for k, v in row.items() if k in ApprovalOut.model_fields and k != "position"}
    return ApprovalOut(**fields, position=position)
