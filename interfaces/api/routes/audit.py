"""Audit of the whole event log (admins only): /api/v1/audit and /api/v1/exports/audit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from interfaces.api.deps import Admin
from interfaces.api.errors import AUTHED, FORBIDDEN
from interfaces.api.query import POSITION_MAX, UtcDatetime, type_patterns
from interfaces.api.schema_fields import Envelopes, HasMore, Limit, NextAfter
from projections.audit import AuditFilter, AuditLog

router = APIRouter(tags=["audit"])
ADMIN_ONLY = {**AUTHED, 403: FORBIDDEN}
CSV_COLUMNS = (
    "position",
    "occurred_at",
    "type",
    "aggregate_type",
    "aggregate_id",
    "version",
    "actor",
    "correlation_id",
    "event_id",
    "data",
)


def audit_filter(
    actor: str | None = None,
    aggregate_id: UUID | None = None,
    types: Annotated[list[str] | None, Query(description="type patterns, e.g. task.*")] = None,
    correlation_id: str | None = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> AuditFilter:
    """The filters shared by the audit page and the export."""
    patterns = tuple(type_patterns(types))
    return AuditFilter(actor, aggregate_id, patterns, correlation_id, since, until)


def audit_log(request: Request) -> AuditLog:
    """The audit query over the event log."""
    found: AuditLog = request.app.state.audit
    return found


Filters = Annotated[AuditFilter, Depends(audit_filter)]
AuditDep = Annotated[AuditLog, Depends(audit_log)]


class AuditPageOut(BaseModel):
    """A page of the audit trail."""

    events: Envelopes
    next_after: NextAfter
    has_more: HasMore
    limit: Limit


@router.get("/api/v1/audit", responses=ADMIN_ONLY)
def audit(
    _: Admin,
    log: AuditDep,
    where: Filters,
    after: Annotated[int, Query(ge=0, le=POSITION_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPageOut:
    """Events of the whole log, filtered, in position order; continue with `after=next_after`."""
    events, more = log.page(where, after, limit)
    next_after = int(events[-1]["position"]) if events else after
    return AuditPageOut(events=events, next_after=next_after, has_more=more, limit=limit)


class AuditOffsetPageOut(BaseModel):
    """A page of the audit trail by offset (002's ``GET /admin/audit``)."""

    events: Envelopes
    limit: Limit
    offset: int = Field(description="how many items were skipped", examples=[0])
    has_more: HasMore
    page: int = Field(description="the page number, counted from 1", examples=[1])
    per_page: int = Field(description="items per page (the same as limit)", examples=[50])


@router.get("/api/v1/admin/audit", responses=ADMIN_ONLY)
def admin_audit(
    _: Admin,
    log: AuditDep,
    where: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditOffsetPageOut:
    """002's audit log: the same filtered events as `/api/v1/audit`, paged by limit/offset."""
    events, more = log.page_at(where, offset, limit)
    return AuditOffsetPageOut(
        events=events,
        limit=limit,
        offset=offset,
        has_more=more,
        page=offset // limit + 1,
        per_page=limit,
    )


def _jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, separators=(",", ":")) + "\n"


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = {**row, "data": json.dumps(row["data"], separators=(",", ":"))}
        writer.writerow([values[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audit trail as CSV or JSON lines, streamed",
        "content": {
            "text/csv": {
                "schema": {"type": "string", "description": "a header row, then one row per event"}
            },
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "one event envelope (JSON) per line"}
            },
        },
    }
}


@router.get(
    "/api/v1/exports/audit",
    response_class=StreamingResponse,
    responses={**ADMIN_ONLY, **EXPORTED},
)
def export_audit(
    _: Admin, log: AuditDep, where: Filters, format: Literal["csv", "jsonl"] = "jsonl"
) -> StreamingResponse:
    """Stream the filtered audit trail as CSV or JSON lines, without loading it all."""
    rows = log.stream(where)
    if format == "csv":
        return StreamingResponse(
            _csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": "attachment; filename=audit.csv"},
        )
    return StreamingResponse(
        _jsonl(rows),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": "attachment; filename=audit.jsonl"},
    )
