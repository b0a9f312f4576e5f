"""The embedded PostgreSQL is never orphaned: whatever stops the commands that started it, no
``postgres`` of their data directory survives the last of them."""

from __future__ import annotations

import json
import os
import queue
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from interfaces.adapters.embedded_postgres import HANDLES, postmasters_of
from tests.conftest import throwaway_directory
from tests.e2e.conftest import free_port, server_env
from tests.forked import Forked
from tests.integration.cli import run_forked
from tests.integration.helpers import wait_for

SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


class Command:
    """A ``ledgerflow`` process on the embedded default (forked: ``tests/forked.py``), its
    stderr read line by line through a named pipe."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        pipe = Path(tempfile.mkdtemp(prefix="ledgerflow-stderr-"), "stderr")
        os.mkfifo(pipe)
        env = server_env(LEDGERFLOW_DATA_DIR=str(data_dir), LEDGERFLOW_LOG_LEVEL="warning")
        self.process = Forked(list(args), env, Path(os.devnull), stderr=pipe)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: Path) -> None:
        with pipe.open(errors="replace") as stderr:  # opens once the process has opened it
            pipe.unlink()
            pipe.parent.rmdir()
            for line in stderr:
                self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        """Return once the command printed a line containing ``text`` on stderr."""
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                raise AssertionError(f"never printed {text!r}: {self.seen}") from None

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.process.kill()


def started(data_dir: Path, kind: str) -> Command:
    """Start a long-running command and wait until it has started the embedded server."""
    if kind == "serve":
        port = free_port()
        command = Command(data_dir, "serve", "--port", str(port))
        wait_for(lambda: healthy(port), timeout=60)
    elif kind == "worker":
        command = Command(data_dir, "worker")
        command.wait_for_line("worker running projections")
    else:
        command = Command(data_dir, "events", "tail", "--follow")
        command.wait_for_line("following new events")
    assert postmasters_of(data_dir / "pg"), "the embedded server should be running"
    return command


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def handles(data_dir: Path) -> list[int]:
    return list(json.loads((data_dir / "pg" / HANDLES).read_text()))


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One data directory for the module (initialised once); every test leaves it stopped."""
    with throwaway_directory("ledgerflow-test-lifecycle-") as directory:
        yield directory / "data"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("kind", ["serve", "worker", "tail --follow"])
def test_a_signal_to_the_only_command_stops_its_embedded_postgres(data_dir, kind, sig):
    command = started(data_dir, kind)
    status = command.stop(sig)
    assert status == 0, command.seen
    assert postmasters_of(data_dir / "pg") == []
    assert handles(data_dir) == []


def test_the_server_is_left_to_the_last_command_that_uses_it(data_dir):
    server = started(data_dir, "serve")
    follower = started(data_dir, "tail --follow")
    assert follower.stop(signal.SIGTERM) == 0
    assert postmasters_of(data_dir / "pg"), "serve still uses it"
    assert server.stop(signal.SIGTERM) == 0
    assert postmasters_of(data_dir / "pg") == []


def test_a_killed_command_is_forgotten_and_the_next_one_stops_the_server(data_dir):
    killed = started(data_dir, "tail --follow")
    assert killed.stop(signal.SIGKILL) == -signal.SIGKILL
    assert postmasters_of(data_dir / "pg"), "nobody was left to stop it"
    assert handles(data_dir) == [killed.process.pid]
    verify = run_forked(server_env(), "verify", "--data-dir", str(data_dir))
    assert verify.returncode == 0, verify.stderr
    assert f"using the embedded PostgreSQL in {data_dir / 'pg'}" in verify.stderr
    assert postmasters_of(data_dir / "pg") == []
    assert handles(data_dir) == []


def test_starting_again_on_an_existing_schema_logs_no_error_in_postgresql(embedded_data_dir):
    for _ in range(2):
        done = run_forked(server_env(), "migrate", "--data-dir", str(embedded_data_dir))
        assert done.returncode == 0, done.stderr
    log = (embedded_data_dir / "pg" / "log").read_text()
    assert "database system is ready" in log
    assert "ERROR" not in log, log
