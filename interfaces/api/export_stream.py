"""Writing rows as JSON, CSV or XLSX in chunks, so an export of any size uses flat memory."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import xlsxwriter

CHUNK_ROWS = 1000
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What each format's body is, for the OpenAPI document.
SCHEMAS: dict[str, dict[str, Any]] = {
    "json": {
        "type": "array",
        "items": {"type": "object"},
        "description": "one object per row, keyed by the column names",
    },
    "csv": {"type": "string", "description": "a header row of column names, then one row each"},
    "xlsx": {"type": "string", "format": "binary", "description": "one worksheet"},
}


def cell(value: Any) -> Any:
    """A value as a file holds it: times in ISO 8601, ids and lists as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _chunks(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def as_json(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """A JSON array of objects, one chunk of rows at a time."""
    yield b"["
    first = True
    for chunk in _chunks(rows):
        text = ",".join(
            json.dumps(dict(zip(columns, map(cell, row), strict=True))) for row in chunk
        )
        yield (text if first else "," + text).encode()
        first = False
    yield b"]"


def as_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """CSV with a header row, one chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for chunk in _chunks(rows):
        writer.writerows([list(map(cell, row)) for row in chunk])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def as_xlsx(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "export"
) -> Iterator[bytes]:
    """An XLSX workbook written by xlsxwriter in constant-memory mode (rows go to a temporary
    file as they come), then read back in chunks."""
    with tempfile.TemporaryFile() as out:
        book = xlsxwriter.Workbook(out, {"constant_memory": True})
        page = book.add_worksheet(sheet[:31])
        page.write_row(0, 0, list(columns))
        for n, row in enumerate(rows, 1):
            page.write_row(n, 0, [cell(v) for v in row])
        book.close()
        out.seek(0)
        while block := out.read(256 * 1024):
            yield block


WRITERS = {"json": as_json, "csv": as_csv, "xlsx": as_xlsx}
