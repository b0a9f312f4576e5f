"""Running the ``ledgerflow`` command against a test database."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import TEST_SECRET
from tests.forked import Forked

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
    """Run ``ledgerflow ARGS`` on ``database_url`` to its end (plain output)."""
    return run_forked(cli_env(database_url), *args, stdin=stdin)


def run_forked(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ledgerflow ARGS`` with ``env`` to its end (stdout and stderr are files: plain
    output). The process is forked from one that has imported Ledgerflow already
    (``tests/forked.py``): the same ``main()`` in a process of its own, without an interpreter's
    start each time."""
    with tempfile.TemporaryDirectory(prefix="ledgerflow-cli-") as folder:
        out, err, given = (Path(folder, name) for name in ("out", "err", "in"))
        given.write_text(stdin or "")
        process = Forked(list(args), env, out, stderr=err, stdin=given)
        try:
            status = process.wait(timeout=300)
        finally:
            process.kill()
        return subprocess.CompletedProcess([*LEDGERFLOW, *args], status, _read(out), _read(err))


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def ledgerflow_on_terminal(database_url: str, *args: str) -> tuple[int, str]:
    """Run ``ledgerflow ARGS`` (forked, as ``ledgerflow`` does) with a pseudo-terminal as stdin,
    stdout and stderr, as a person at a terminal would; return its status and all it wrote."""
    leader, follower = pty.openpty()
    terminal = Path(os.ttyname(follower))
    env = {**cli_env(database_url), "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = Forked(list(args), env, terminal, stderr=terminal, stdin=terminal)
    output = bytearray()
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: no process holds the terminal any more
                    break
                output.extend(chunk)
            elif process.poll() is not None:
                break
        status = process.wait(timeout=300)
    finally:
        process.kill()
        os.close(follower)
        os.close(leader)
    return status, output.decode(errors="replace")
