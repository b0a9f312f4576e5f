"""`ledgerflow users create` against a real database."""

import os
import subprocess
import sys

from application.accounts import AccountCommands
from interfaces.bootstrap import build
from tests.conftest import TEST_SECRET, make_settings
from tests.integration.cli import ledgerflow


def test_the_cli_creates_an_admin_who_can_log_in(database_url):
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_PASSWORD": "operator-pass-1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "users", "create", "operator", "--admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "operator (admin)" in done.stdout
    container = build(make_settings(database_url))
    try:
        user = container.ledger[AccountCommands].authenticate("operator", "operator-pass-1")
        assert user.role == "admin"
    finally:
        container.close()


def test_creating_a_user_whose_name_is_taken_says_so_in_one_sentence(database_url):
    first = ledgerflow(database_url, "users", "create", "taken", "--password", "good-pass-123")
    assert first.returncode == 0, first.stderr
    again = ledgerflow(database_url, "users", "create", "taken", "--password", "other-pass-456")
    assert again.returncode == 1
    assert error_lines(again.stderr) == ["ledgerflow: error: Username already exists"]


def test_a_weak_password_is_a_usage_error_in_one_sentence(database_url):
    weak = ledgerflow(database_url, "users", "create", "weakling", "--password", "short")
    assert weak.returncode == 2
    assert error_lines(weak.stderr) == ["ledgerflow: error: Password must be at least 8 characters"]


def error_lines(stderr):
    """What a command said on stderr besides which database it used."""
    return [line for line in stderr.splitlines() if not line.startswith("ledgerflow: using ")]
