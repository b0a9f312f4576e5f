"""``ledgerflow serve`` processes forked from one that has imported Ledgerflow already.

A fresh ``python -c "...main()"`` spends most of a server's start (about 2.5 s of CPU of 3 s)
importing FastAPI, the pydantic models and the features, and the end-to-end tests start dozens
of servers. A fork server (multiprocessing's ``forkserver``: one per pytest worker, started on
first use, gone with the worker) imports all that once; each server is then a fork of it that
runs the same ``main()`` with its own environment, arguments and log: a process of its own, as
with a fresh interpreter, at a fraction of the cost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path

# What ``ledgerflow serve`` imports before it answers /health, and its clients' modules (the fork
# server imports them; a name that does not import is skipped).
PRELOAD = [
    "tests.forked",
    "interfaces.cli.app",
    "interfaces.api.app",
    "interfaces.bootstrap",
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "httpx",
    "httpcore",
]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _main(args: list[str], env: dict[str, str], out: str, err: str, stdin: str) -> None:
    """In the fork: become ``ledgerflow ARGS`` with ``env``, its standard streams the files (or
    the terminal) at those paths (output appended)."""
    # As the LEDGERFLOW command line does (tests/integration/cli.py): Ctrl-C raises again.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    for fd, path, flags in (
        (0, stdin, os.O_RDONLY),
        (1, out, os.O_WRONLY | os.O_CREAT | os.O_APPEND),
        (2, err, os.O_WRONLY | os.O_CREAT | os.O_APPEND),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (multiprocessing gave it /dev/null)
    sys.argv = ["ledgerflow", *args]
    from interfaces.cli import main

    main()


class Forked:
    """A forked ``ledgerflow`` process, with the parts of ``subprocess.Popen`` the tests use."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        stderr: Path | None = None,
        stdin: Path | None = None,
    ) -> None:
        """Start ``ledgerflow ARGS``: its output appended to ``log`` (its errors too, unless
        ``stderr`` names another file), its input read from ``stdin`` (default: nothing)."""
        self.args = ["ledgerflow", *args]
        self.log = log
        streams = (str(log), str(stderr or log), str(stdin or os.devnull))
        # Daemonic: a server left running when the pytest worker exits is terminated.
        self._process: BaseProcess = _context.Process(
            target=_main, args=(args, env, *streams), daemon=True, name="ledgerflow"
        )
        self._process.start()

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def forked_worker(env: dict[str, str]) -> Forked:
    """``ledgerflow worker`` with ``env`` (its whole environment), forked; its output goes to a
    file of its own in the temporary directory (named in the process's ``log``)."""
    handle, log = tempfile.mkstemp(prefix="ledgerflow-worker-", suffix=".log")
    os.close(handle)
    return Forked(["worker"], env, Path(log))
