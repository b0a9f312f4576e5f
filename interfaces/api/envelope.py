"""The list envelope under /api/v1: ``{<things>: [...], total, limit, offset, has_more}``."""

from __future__ import annotations

from typing import Any

from interfaces.api.deps import Paging


def page_body(key: str, rows: list[Any], total: int, paging: Paging) -> dict[str, Any]:
    """One page of ``rows`` under ``key``, with the counts a client pages with."""
    return {
        key: rows,
        "total": total,
        "limit": paging.limit,
        "offset": paging.offset,
        "has_more": paging.offset + len(rows) < total,
    }
