"""Fields that many API models share, described once: paging, times, envelopes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

CreatedAt = Annotated[
    datetime, Field(description="when it was created (UTC)", examples=["2026-12-01T10:00:00Z"])
]
UpdatedAt = Annotated[
    datetime, Field(description="when it last changed (UTC)", examples=["2026-12-01T10:05:00Z"])
]
Envelopes = Annotated[
    list[dict[str, Any]],
    Field(
        description="the events of this page, oldest first, as public envelopes (docs/events.md)",
        examples=[
            [
                {
                    "type": "task.created",
                    "position": 42,
                    "aggregate_id": "0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f",
                    "version": 1,
                    "occurred_at": "2026-12-01T10:00:00Z",
                    "data": {"name": "Review documentation"},
                }
            ]
        ],
    ),
]
NextAfter = Annotated[int, Field(description="pass as after= to read the next page", examples=[42])]
HasMore = Annotated[
    bool, Field(description="true when more items follow this page", examples=[False])
]
Limit = Annotated[int, Field(description="the page size asked for", examples=[50])]


class OffsetPageOut(BaseModel):
    """The paging fields of a list read by offset."""

    total: int = Field(description="how many items match, on all pages", examples=[1])
    limit: Limit
    offset: int = Field(description="how many items were skipped", examples=[0])
    has_more: HasMore
