"""Running the ``ledgerflow`` command against a test database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import TEST_SECRET


def cli_env(database_url: str) -> dict[str, str]:
    """The environment of a ``ledgerflow`` child process on ``database_url``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGERFLOW_")},
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }


def ledgerflow_process(
    database_url: str, *args: str, stderr: int | None = None
) -> subprocess.Popen[str]:
    """Start ``ledgerflow ARGS`` and leave it running (stdout is a pipe)."""
    return subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=cli_env(database_url),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def ledgerflow(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ledgerflow ARGS`` in a child process (stdout is a pipe: plain output)."""
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=cli_env(database_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
