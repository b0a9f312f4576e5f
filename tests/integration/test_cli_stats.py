"""``ledgerflow stats`` and ``ledgerflow top`` on a database with known tasks."""

from tests.integration.cli import ledgerflow, ledgerflow_on_terminal
from tests.integration.helpers import tracked, wait_for
from tests.integration.test_projection import make_backlog

ANSI = "\x1b["


def settled(container):
    head = container.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(container.database_url, "task_activity") == head)
    wait_for(lambda: tracked(container.database_url, "tasks") == head)


def test_stats_prints_tasks_by_status_every_overview_section_and_the_gauges(container):
    make_backlog(container.ledger, 30)  # 30 created, 10 in progress, 3 deleted
    settled(container)
    piped = ledgerflow(container.database_url, "stats")
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert "not_started\t18" in lines and "in_progress\t9" in lines
    assert "high\t9" in lines and "low\t18" in lines
    assert "created\t30" in lines
    assert "success_rate\t0.0" in lines and "online\t0" in lines  # the runs and agents sections
    assert "active users by role" not in lines  # plain output has no titles, only rows
    assert ANSI not in piped.stdout


def test_top_refreshes_the_followers_lag_plain_in_a_pipe_and_coloured_on_a_terminal(container):
    make_backlog(container.ledger, 10)
    settled(container)
    piped = ledgerflow(container.database_url, "top", "--iterations", "2", "--interval", "0.1")
    assert piped.returncode == 0, piped.stderr
    blocks = [line for line in piped.stdout.splitlines() if "\thead\t" in line]
    assert len(blocks) == 2
    head = int(blocks[0].split("\t")[2])
    assert f"tasks\t{head}\t0" in piped.stdout.splitlines()
    status, shown = ledgerflow_on_terminal(
        container.database_url, "top", "--iterations", "2", "--interval", "0.1"
    )
    assert status == 0, shown
    assert ANSI in shown and "ledgerflow top" in shown and "task_activity" in shown
