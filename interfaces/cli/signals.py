"""Signals end a command as Ctrl-C does, so that its clean-up runs.

Without a handler, SIGTERM and SIGHUP end Python at once: no ``finally``, no ``atexit``, and an
embedded PostgreSQL the command started keeps running with nobody left to stop it. Raising
``Stopped`` (a ``KeyboardInterrupt``) instead makes every command handle them the way it handles
Ctrl-C: ``events tail --follow`` ends with status 0, a rebuild says where it stopped.
"""

from __future__ import annotations

import signal
from types import FrameType


class Stopped(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM or SIGHUP."""


def _stop(signum: int, _: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def stop_like_ctrl_c() -> None:
    """Make SIGTERM and SIGHUP raise ``Stopped`` in the main thread."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
