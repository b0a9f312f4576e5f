"""Running the ``ledgerflow`` command against a test database."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.conftest import TEST_SECRET

# The command line of a ``ledgerflow`` child. A process started with SIGINT ignored (a CI runner
# under nohup, a shell's background job) passes that on to its children, and Python then never
# raises KeyboardInterrupt: the child resets SIGINT to Python's default first, so the tests that
# stop it with Ctrl-C work wherever they run.
LEDGERFLOW = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler);"
    " from interfaces.cli import main; main()",
]


def cli_env(database_url: str) -> dict[str, str]:
    """The environment of a ``ledgerflow`` child process on ``database_url``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGERFLOW_")},
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
        "LEDGERFLOW_PASSWORD_HASH_MEMORY_KIB": "1024",  # cheap hashing (tests/conftest.py)
        "LEDGERFLOW_PASSWORD_HASH_TIME_COST": "1",
    }


def ledgerflow_process(
    database_url: str, *args: str, stderr: int | None = None
) -> subprocess.Popen[str]:
    """Start ``ledgerflow ARGS`` and leave it running (stdout is a pipe)."""
    return subprocess.Popen(
        [*LEDGERFLOW, *args],
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
        [*LEDGERFLOW, *args],
        env=cli_env(database_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ledgerflow_on_terminal(database_url: str, *args: str) -> tuple[int, str]:
    """Run ``ledgerflow ARGS`` with a pseudo-terminal as stdin, stdout and stderr, as a person
    at a terminal would; return its status and everything it wrote."""
    leader, follower = pty.openpty()
    env = {**cli_env(database_url), "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [*LEDGERFLOW, *args],
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output.extend(chunk)
    os.close(leader)
    return process.wait(timeout=300), output.decode(errors="replace")
