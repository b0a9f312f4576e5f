"""New random ids (UUID version 4) without a system call for each.

``uuid.uuid4()`` asks the kernel for 16 random bytes on every call, and CPython lets go of the
interpreter lock around that call. On the API's event loop, with the projection threads busy,
getting the lock back meant waiting for a thread switch: under a POST load (cProfile of the loop
thread, embedded shape) a ``uuid4()`` took 0.4 ms on average, twice per command (the request id
and the task id). ``new_id()`` cuts ids from 4 KiB of the same kernel randomness read at once (one
call per 256 ids), under a lock. A forked child starts with an empty buffer, so no two processes
hand out the same bytes.
"""

from __future__ import annotations

import os
import threading
from uuid import UUID

_CHUNK = 4096  # bytes of randomness read at once: 256 ids


class _Randomness:
    """The bytes read ahead, handed out 16 at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buffer = b""
        self.offset = 0

    def take16(self) -> bytes:
        with self.lock:
            if self.offset + 16 > len(self.buffer):
                self.buffer, self.offset = os.urandom(_CHUNK), 0
            raw = self.buffer[self.offset : self.offset + 16]
            self.offset += 16
            return raw

    def forget(self) -> None:
        """In a forked child: never reuse the parent's bytes (its own come from the kernel)."""
        self.lock = threading.Lock()
        self.buffer, self.offset = b"", 0


_randomness = _Randomness()
os.register_at_fork(after_in_child=_randomness.forget)


def new_id() -> UUID:
    """A random UUID (version 4) from the operating system's CSPRNG, as ``uuid.uuid4()``."""
    return UUID(bytes=_randomness.take16(), version=4)
