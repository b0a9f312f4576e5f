"""The ceiling for queries: a bare FastAPI endpoint running the same SQL as GET /api/v1/tasks.

No auth, no read-your-writes, no error handling: ``uvicorn bench.bare_app:app`` with
``BENCH_DATABASE_URL`` and ``BENCH_OWNER_ID`` set.
"""

import json
import os
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Response
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from interfaces.bootstrap import conninfo

pool: ConnectionPool[Any] = ConnectionPool(
    conninfo(os.environ["BENCH_DATABASE_URL"]), min_size=2, max_size=10, open=True
)
OWNER = UUID(os.environ["BENCH_OWNER_ID"])
SQL = (
    "SELECT *, count(*) OVER () AS total FROM tasks WHERE owner_id = %s"
    " ORDER BY created_at DESC, task_id LIMIT %s OFFSET %s"
)
app = FastAPI()


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
