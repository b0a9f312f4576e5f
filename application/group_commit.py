"""Group commit: concurrent commands share one event-store transaction.

The library's Postgres recorder takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` in every insert
transaction so that notification ids are committed in the order they are issued (a reader
following the log can never skip an event that commits late). That lock serialises writers
across a client round trip, which caps single-event saves near 1k/s. Instead of giving up the
lock, one committer thread drains every command waiting at that moment and records all their
events in ONE transaction: the lock is taken once per batch, not once per command.

A batch is all-or-nothing in Postgres, so when it fails on a version conflict the committer
replays the batch one job at a time: only the jobs that really conflict get the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from application.error import ConcurrentChange

log = logging.getLogger(__name__)


@dataclass
class _Job:
    events: Sequence[Any]
    done: Future[int] = field(default_factory=Future)


class GroupCommitter:
    """Records events of concurrent callers in shared transactions; ``commit`` waits for it."""

    def __init__(self, app: Application[Any], max_batch_events: int = 1000) -> None:
        self._app = app
        self._max_batch_events = max_batch_events
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._lock = threading.Lock()
        self._closed = False
        self._thread.start()

    def commit(self, events: Sequence[Any]) -> int:
        """Store ``events`` atomically; return the position of the last one.

        Raises ``ConcurrentChange`` when another writer got the same aggregate version first.
        """
        return self.submit(events).result()

    def submit(self, events: Sequence[Any]) -> Future[int]:
        """Queue ``events``; the future gives the position of the last one (async callers await
        it with ``asyncio.wrap_future`` and hold no thread while the group commits)."""
        if not events:
            done: Future[int] = Future()
            done.set_result(0)
            return done
        if self._closed:
            raise RuntimeError("the event store writer is closed")
        job = _Job(events)
        self._jobs.put(job)
        return job.done

    def close(self) -> None:
        """Stop the committer thread once the jobs already queued are done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            size = len(first.events)
            while size < self._max_batch_events:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)
                    break
                batch.append(more)
                size += len(more.events)
            self._record(batch)

    def _record(self, batch: list[_Job]) -> None:
        try:
            self._save(batch)
        except IntegrityError:
            if len(batch) == 1:
                self._fail(batch[0], ConcurrentChange())
            else:
                for job in batch:
                    self._record([job])
        except BaseException as error:  # the store is down: every waiting caller must hear of it
            log.warning("event store write failed for %d commands: %s", len(batch), error)
            for job in batch:
                self._fail(job, error)

    def _save(self, batch: list[_Job]) -> None:
        events = [e for job in batch for e in job.events]
        recordings = self._app.save(*events)
        positions = iter(r.notification.id for r in recordings)
        for job in batch:
            position = 0
            for _ in job.events:
                position = next(positions)
            job.done.set_result(position)

    @staticmethod
    def _fail(job: _Job, error: BaseException) -> None:
        job.done.set_exception(error)
