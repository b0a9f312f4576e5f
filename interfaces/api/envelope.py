"""The list envelope under /api/v1: ``{<things>: [...], total, limit, offset, has_more, page,
per_page, pages}``."""

from __future__ import annotations

from typing import Any

from interfaces.api.deps import Paging
from interfaces.api.schemas import page_fields


def page_body(key: str, rows: list[Any], total: int, paging: Paging) -> dict[str, Any]:
    """One page of ``rows`` under ``key``, with the counts a client pages with."""
    return {key: rows, **page_fields(total, paging.limit, paging.offset, len(rows))}
