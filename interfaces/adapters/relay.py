"""The relay: follows the event log like a projection and publishes each envelope to the bus.

Its tracking position advances in the same transaction as a batch whose every envelope the bus
took (published in one round trip just before the commit); when a publish fails the batch rolls
back and is published again later (at least once). Bus messages are
``{"reader_id": "<uuid>", "event": <envelope>}``: who may read it travels with it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg

from interfaces.adapters.bus import BusUnavailable, EventBus
from projections.envelope import envelope
from projections.readers import Owners, ReaderRules
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)
RELAY = "relay"


class EventRelay:
    """A projection whose output is the bus instead of a table."""

    topics: tuple[str, ...] = ()  # every event
    transient_errors = (BusUnavailable,)  # the bus is down: retry later, blame no event

    def __init__(self, bus: EventBus, rules: ReaderRules, name: str = RELAY) -> None:
        self.name = name
        self.bus = bus
        self.owners = Owners(f"{name}_owners", rules)
        self._pending: list[tuple[int, str]] = []

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """The relay's own owners table (it must not depend on another read model's progress)."""
        self.owners.create_table(cur)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Queue the envelope with its reader for ``flush``."""
        self._queue(position, domain_event, self.owners.reader_of(cur, domain_event))

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """``apply`` for a batch: the readers of all its events in two statements at most
        (``Owners.readers_of``), not one or two per event (half the relay's time was there
        under a burst of scheduled runs)."""
        readers = self.owners.readers_of(cur, [event for _, event in events])
        for (position, event), reader in zip(events, readers, strict=True):
            self._queue(position, event, reader)

    def _queue(self, position: int, domain_event: Any, reader: Any) -> None:
        if self._pending and position <= self._pending[-1][0]:
            self._pending.clear()  # a batch that failed before its flush is being applied again
        if reader is None:
            return
        message = {"reader_id": str(reader), "event": envelope(domain_event, position)}
        self._pending.append((position, json.dumps(message, separators=(",", ":"))))

    def flush(self) -> None:
        """Publish the batch before its commit; BusUnavailable rolls the batch back."""
        pending, self._pending = self._pending, []
        if pending:
            self.bus.publish_many([message for _, message in pending])


class RelayRunner(ProjectionRunner):
    """A ProjectionRunner that also waits out bus failures instead of dying."""

    def run(self) -> None:
        """Publish until ``stop``; when the bus is down, retry the unpublished batch later."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                super().run()
            except BusUnavailable as error:
                self.active = False
                self.last_error = str(error)
                log.warning("relay: %s; retrying in %.1f s", error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
