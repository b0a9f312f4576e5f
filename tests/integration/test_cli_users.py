"""`ledgerflow users create` against a real database."""

import os
import subprocess
import sys

from application.accounts import AccountCommands
from interfaces.bootstrap import build
from tests.conftest import TEST_SECRET, make_settings


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
