"""Processes that start the embedded PostgreSQL at once, as root on a fresh machine, do not race
on creating its system user (issue 12: ``useradd`` ran twice and one start failed)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from interfaces.adapters import embedded_postgres
from interfaces.adapters.embedded_postgres import _library, system_user_exists

pytestmark = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="root only")


def like_useradd(marker: Path):
    """Check, then create, with a window between, like the package's ``ensure_user_exists``:
    the second of two unlocked callers fails like ``useradd`` of an existing user."""

    def ensure_user_exists(name: str) -> None:
        if marker.exists():
            return
        time.sleep(0.2)  # the window in which another process checks too
        with marker.open("x") as created:  # FileExistsError: "user already exists"
            created.write(name)

    return ensure_user_exists


def start_one(marker: Path, failures: multiprocessing.Queue) -> None:
    library = _library()
    library.utils.ensure_user_exists = like_useradd(marker)
    try:
        system_user_exists(library)
    except FileExistsError as error:
        failures.put(str(error))


def test_four_processes_starting_at_once_create_the_user_once(tmp_path):
    marker = tmp_path / "embedded_postgres.user"
    failures: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    context = multiprocessing.get_context("fork")
    starts = [context.Process(target=start_one, args=(marker, failures)) for _ in range(4)]
    for start in starts:
        start.start()
    for start in starts:
        start.join(timeout=60)
    assert [start.exitcode for start in starts] == [0, 0, 0, 0]
    assert failures.empty()
    assert marker.read_text() == embedded_postgres.SYSTEM_USER
