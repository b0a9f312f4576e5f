"""The operator commands colour their output on a terminal and print plain text into a pipe."""

from tests.integration.cli import ledgerflow, ledgerflow_on_terminal
from tests.integration.helpers import tracked, wait_for
from tests.integration.test_projection import make_backlog

TASKS = "tasks"

ANSI = "\x1b["


def test_on_a_terminal_the_output_is_coloured_and_into_a_pipe_it_is_plain(container):
    url = container.database_url
    make_backlog(container.ledger, 200)
    wait_for(lambda: tracked(url, TASKS) == container.ledger.recorder.max_notification_id())
    for args, text in ((("verify",), "ok: "), (("projections", "status"), "event_chain")):
        status, shown = ledgerflow_on_terminal(url, *args)
        assert status == 0, shown
        assert ANSI in shown and text in shown, args
        piped = ledgerflow(url, *args)
        assert piped.returncode == 0, piped.stderr
        assert ANSI not in piped.stdout + piped.stderr and text in piped.stdout, args


def test_a_rebuild_on_a_terminal_shows_a_coloured_progress_bar(container):
    url = container.database_url
    make_backlog(container.ledger, 300)
    wait_for(lambda: tracked(url, TASKS) == container.ledger.recorder.max_notification_id())
    status, shown = ledgerflow_on_terminal(url, "projections", "rebuild", "tasks")
    assert status == 0, shown
    assert ANSI in shown
    assert "rebuilding tasks" in shown and "ev/s" in shown
    assert "identical to the old one" in shown
    piped = ledgerflow(url, "projections", "rebuild", "tasks")
    assert ANSI not in piped.stdout + piped.stderr
    assert "rebuilding: " in piped.stderr and "identical to the old one" in piped.stdout
