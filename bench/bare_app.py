"""The ceilings: bare FastAPI endpoints doing the same SQL as Ledgerflow, and nothing else.

- ``GET /tasks``: the same query as GET /api/v1/tasks (no auth, no read-your-writes).
- ``POST /tasks``: a naive CRUD endpoint: validates the same JSON body with pydantic and INSERTs
  one row into the same PostgreSQL through an async pool (no auth, no events, no read model).

``uvicorn bench.bare_app:app`` with ``BENCH_DATABASE_URL`` and ``BENCH_OWNER_ID`` set.
"""

import json
import os
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Response
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from pydantic import BaseModel, Field

from interfaces.bootstrap import conninfo

URL = conninfo(os.environ["BENCH_DATABASE_URL"])
pool: ConnectionPool[Any] = ConnectionPool(URL, min_size=2, max_size=10, open=True)
writers: AsyncConnectionPool[Any] = AsyncConnectionPool(URL, min_size=2, max_size=16, open=False)
OWNER = UUID(os.environ["BENCH_OWNER_ID"])
SQL = (
    "SELECT *, count(*) OVER () AS total FROM tasks WHERE owner_id = %s"
    " ORDER BY created_at DESC, task_id LIMIT %s OFFSET %s"
)
INSERT = (
    "INSERT INTO crud_tasks (task_id, owner_id, name, description, status, priority, due_date,"
    " tags, created_at, updated_at) VALUES (%s, %s, %s, %s, 'not_started', %s, %s, %s, now(),"
    " now())"
)


@asynccontextmanager
async def lifespan(_: FastAPI) -> Any:
    await writers.open()
    async with writers.connection() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS crud_tasks (task_id uuid PRIMARY KEY, owner_id uuid NOT"
            " NULL, name text NOT NULL, description text NOT NULL, status text NOT NULL,"
            " priority text NOT NULL, due_date timestamptz, tags text[] NOT NULL,"
            " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)"
        )
    yield
    await writers.close()


app = FastAPI(lifespan=lifespan)


class TaskIn(BaseModel):
    """The same body POST /api/v1/tasks accepts."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    priority: str = "medium"
    due_date: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)


@app.get("/tasks")
def tasks(limit: int = 50, offset: int = 0) -> Response:
    """The same query and the same JSON, serialised by the standard library; nothing else."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(SQL, (OWNER, limit, offset)).fetchall()
    total = rows[0]["total"] if rows else 0
    for row in rows:
        del row["total"]
        del row["owner_id"], row["position"]
    body = {"tasks": rows, "total": total, "limit": limit, "offset": offset}
    return Response(json.dumps(body, default=str), media_type="application/json")


@app.post("/tasks", status_code=201)
async def create(body: TaskIn) -> dict[str, Any]:
    """Validate, INSERT one row, answer the row: the naive CRUD ceiling for commands."""
    task_id = uuid.uuid4()
    async with writers.connection() as conn:
        await conn.execute(
            INSERT,
            (task_id, OWNER, body.name, body.description, body.priority, body.due_date, body.tags),
        )
    return {"task_id": str(task_id), **body.model_dump(mode="json"), "status": "not_started"}
