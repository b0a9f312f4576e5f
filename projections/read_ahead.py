"""Reading ahead: the next item of a slow source is fetched in a thread while the caller works.

A rebuild reads and decodes batch n+1 of the log while it applies batch n: the database does the
reading and writing, so the two overlap even under the GIL.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()
_PUT_SLICE = 0.1


class ReadAhead(Generic[T]):
    """Iterates ``source`` in a thread, at most ``depth`` items ahead of the consumer.

    Use as a context manager: leaving it (done, broken off or failed) stops the thread. An
    error of the source is raised to the consumer at the point it happened.
    """

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._source = source
        self._items: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead[T]:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except Exception as error:  # handed to the consumer, which raises it
            self._put(_Failed(error))
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        # In slices, so that a consumer that stopped listening does not leave the thread stuck.
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=_PUT_SLICE)
                return True
            except queue.Full:
                continue
        return False


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error
