"""The runs list's totals come from per-status counts kept by the runs table's trigger: they
match a count over the rows after every kind of status change, and a read model from before the
counts gets them filled when its tables are set up again."""

from __future__ import annotations

from uuid import uuid4

import psycopg
from psycopg_pool import ConnectionPool

from domain.run import Run
from projections.run import RunProjection, RunQueries

OWNER = uuid4()
STEPS = [{"step_id": uuid4(), "key": "a", "name": "a", "type": "task", "depends_on": []}]


def a_run(flow_id):
    run: Run = Run._create(
        Run.Created, id=uuid4(), owner_id=OWNER, flow_id=flow_id, flow_name="f", flow_version=1,
        steps=[dict(s, max_attempts=1, continue_on_failure=False) for s in STEPS], inputs={},
        trigger="manual", trigger_id=None, correlation_id="c", created_by="u",
    )  # fmt: skip
    return run


def project(cur, projection, *runs):
    for run in runs:
        for position, event in enumerate(run.collect_events(), start=1):
            projection.apply(cur, event, position)


def test_the_totals_per_status_match_a_count_of_the_rows(database_url):
    projection, flow = RunProjection(), uuid4()
    done, failed, cancelled, pending = (a_run(flow) for _ in range(4))
    for run in (done, failed, cancelled):
        run.start()
    step = done.steps[0]["step_id"]
    done.succeed_step(step, 1, {})
    failed.fail_step(failed.steps[0]["step_id"], 1, "no")
    cancelled.cancel("stop")
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        projection.create_tables(cur)
        project(cur, projection, done, failed, cancelled, pending)
    with ConnectionPool(database_url, min_size=1, max_size=1) as pool:
        queries = RunQueries(pool)
        for status in ("succeeded", "failed", "cancelled", "pending", "running"):
            page = queries.list(OWNER, {"status": status})
            assert page.total == len(page.runs), status
            assert page.total == (0 if status == "running" else 1), status
        assert queries.list(OWNER, {"flow_id": flow}).total == 4
        assert queries.list(OWNER, {"status": "failed", "flow_id": uuid4()}).total == 0


def test_a_read_model_from_before_the_counts_gets_them_filled(database_url):
    projection, flow = RunProjection(), uuid4()
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        projection.create_tables(cur)
        project(cur, projection, a_run(flow), a_run(flow))
        cur.execute("DROP TABLE runs_counts")  # the tables as they were before the counts
        projection.create_tables(cur)
        project(cur, projection, a_run(flow))
    with ConnectionPool(database_url, min_size=1, max_size=1) as pool:
        assert RunQueries(pool).list(OWNER, {"status": "pending"}).total == 3
