"""The runs list's totals come from counts kept by the runs table's trigger (in all, per day and
per hour): they match a count over the rows after every kind of status change and for any time
range, and a read model from before the counts (or from before their time buckets) gets them
filled when its tables are set up again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
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
        cur.execute("DROP TABLE runs_counts")  # as they were before the time buckets
        cur.execute(
            "CREATE TABLE runs_counts (owner_id uuid, flow_id uuid, trigger text,"
            " status text, n bigint, PRIMARY KEY (owner_id, flow_id, trigger, status))"
        )
        projection.create_tables(cur)
        project(cur, projection, a_run(flow))
    with ConnectionPool(database_url, min_size=1, max_size=1) as pool:
        assert RunQueries(pool).list(OWNER, {"status": "pending"}).total == 4


START = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
SPREAD = timedelta(days=3)


def insert_runs(cur, flows, count=300):
    """``count`` rows of the owner (and a few of another) spread over three days."""
    rows = []
    for i in range(count):
        owner = OWNER if i % 10 else uuid4()
        at = START + SPREAD * random.random()
        if i % 7 == 0:
            at = at.replace(minute=0, second=0, microsecond=0)  # on an hour's edge
        rows.append(
            (uuid4(), owner, random.choice(flows), random.choice(("manual", "schedule")), at)
        )
    cur.executemany(
        "INSERT INTO runs (run_id, owner_id, flow_id, flow_name, flow_version, status, trigger,"
        " inputs, created_by, correlation_id, created_at, steps_total, updated_at, version,"
        " position) VALUES (%s, %s, %s, 'f', 1, 'pending', %s, '{}', 'u', 'c', %s, 1, %s, 1, 1)",
        [(*row, row[-1]) for row in rows],
    )
    for run_id, *_ in rows[::3]:
        cur.execute("UPDATE runs SET status = 'running' WHERE run_id = %s", (run_id,))
    for run_id, *_ in rows[::6]:
        cur.execute("UPDATE runs SET status = 'succeeded' WHERE run_id = %s", (run_id,))


def some_instants():
    """Instants in, before and after the runs: inside hours, on hours, on days."""
    hour = START.replace(minute=0)
    yield None
    yield START - timedelta(days=1)
    yield START + SPREAD + timedelta(days=1)
    yield hour + timedelta(hours=2)
    yield hour + timedelta(days=1, hours=2)  # on a day's edge (START is 22:30)
    for _ in range(12):
        yield START + SPREAD * random.random()


def test_the_totals_match_a_count_of_the_rows_for_any_time_range(database_url):
    random.seed(14)
    flows = [uuid4(), uuid4()]
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        RunProjection().create_tables(cur)
        insert_runs(cur, flows)
    instants = list(some_instants())
    filters = [{}, {"status": "succeeded"}, {"flow_id": flows[0], "trigger": "schedule"}]
    checked = 0
    with psycopg.connect(database_url) as conn, ConnectionPool(database_url) as pool:
        queries = RunQueries(pool)
        for since in instants:
            for until in instants:
                for chosen in filters:
                    where = "owner_id = %s AND created_at >= coalesce(%s::timestamptz, '-infinity')"
                    where += " AND created_at < coalesce(%s::timestamptz, 'infinity')"
                    args = [OWNER, since, until]
                    for column, value in chosen.items():
                        where += f" AND {column} = %s"
                        args.append(value)
                    expected = conn.execute(f"SELECT count(*) FROM runs WHERE {where}", args)
                    page = queries.list(OWNER, {**chosen, "since": since, "until": until})
                    assert page.total == expected.fetchone()[0], (since, until, chosen)
                    checked += page.total > 0
    assert checked > 100  # most ranges hold runs: the sums are not all zero
