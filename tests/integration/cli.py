"""Running the ``ledgerflow`` command against a test database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import TEST_SECRET


def ledgerflow(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ledgerflow ARGS`` in a child process (stdout is a pipe: plain output)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGERFLOW_")},
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
