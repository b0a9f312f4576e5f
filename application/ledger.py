"""The one event-sourced Application of Ledgerflow: load, change and commit for every feature.

One Application means one events table and one gapless global order: the notification id
of an event is its ``position``, the cursor every reader (projections, clients) follows.
Each feature's command handlers are a ``Handlers`` class of their own, reached as
``ledger[TaskCommands]``; this class keeps only what they share: the group commit, the
per-aggregate lock and the retry policy of a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from application.context import CommandContext, stamp
from application.credential import CredentialVault
from application.error import ConcurrentChange, StaleVersion
from application.group_commit import GroupCommitter
from application.handlers import Handlers
from application.result import Written
from domain.error import NotFound

A = TypeVar("A", bound=Aggregate)
H = TypeVar("H", bound=Handlers)
CONFLICT_RETRIES = 10
LOCK_STRIPES = 256


class Ledger(Application[UUID]):
    """The write side: every feature's handlers record their events through it.

    ``ledger[Kind]`` is the feature's handlers (``Kind(ledger)`` unless the composition root
    registered an instance built with more, e.g. webhooks with their SSRF guard).
    """

    name = "ledgerflow"

    def __init__(
        self, env: Mapping[str, str] | None = None, *, credentials: CredentialVault
    ) -> None:
        super().__init__(env)
        self.credentials = credentials
        self._committer = GroupCommitter(self)
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._handlers: dict[type[Handlers], Handlers] = {}

    def __getitem__(self, kind: type[H]) -> H:
        found = self._handlers.get(kind)
        if found is None:
            found = self._handlers.setdefault(kind, kind(self))
        assert isinstance(found, kind)
        return found

    def register(self, handlers: Handlers) -> None:
        """Use this instance of its class for ``ledger[type(handlers)]``."""
        self._handlers[type(handlers)] = handlers

    def close(self) -> None:
        """Finish queued writes, then release the store."""
        self._committer.close()
        super().close()

    def change(
        self,
        context: CommandContext,
        load: Callable[[], A],
        aggregate_id: UUID,
        expected_version: int | None,
        change: Callable[[A], object],
    ) -> Written[A]:
        """Load an aggregate, apply ``change`` and commit it, retrying a lost race.

        ``expected_version`` (If-Match) makes a stale state an error instead.
        """
        # Changes of one aggregate are serialised inside this process (a striped lock), so
        # only writers in other processes can race. Without If-Match a lost race is retried on
        # fresh state, so no change is lost silently; with If-Match the caller asked for exactly
        # that version, so a race is reported.
        with self._stripes[hash(aggregate_id) % len(self._stripes)]:
            for attempt in range(CONFLICT_RETRIES):
                aggregate = load()
                if expected_version is not None and aggregate.version != expected_version:
                    raise StaleVersion(expected_version, aggregate.version)
                change(aggregate)
                try:
                    return Written(aggregate, self.commit(context, aggregate))
                except ConcurrentChange:
                    if expected_version is not None or attempt == CONFLICT_RETRIES - 1:
                        raise
                time.sleep(random.uniform(0, 0.005) * (attempt + 1))  # noqa: S311 - jitter
        raise AssertionError("unreachable")  # pragma: no cover

    def load(
        self, kind: type[A], aggregate_id: UUID, missing: type[NotFound], version: int | None = None
    ) -> A:
        """The aggregate of that id and kind (at ``version``); ``missing`` when there is none."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise missing(aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise missing(aggregate_id)
        return aggregate

    def load_many(self, kind: type[A], aggregate_ids: Iterable[UUID]) -> dict[UUID, A]:
        """The aggregates of these ids that exist and are of that kind, read in ONE query of
        the store (a reactor's batch of a hundred timers: one round trip, not a hundred)."""
        wanted = list(dict.fromkeys(aggregate_ids))
        select = getattr(self.recorder, "select_events_of", None)
        if select is None:  # a store without it (the in-memory one of the unit tests)
            found: dict[UUID, A] = {}
            for aggregate_id in wanted:
                with contextlib.suppress(AggregateNotFoundError):
                    aggregate: Aggregate = self.repository.get(aggregate_id)
                    if isinstance(aggregate, kind):
                        found[aggregate_id] = aggregate
            return found
        events: dict[UUID, list[Any]] = {}
        for stored in select(wanted) if wanted else ():
            events.setdefault(stored.originator_id, []).append(self.mapper.to_domain_event(stored))
        loaded: dict[UUID, A] = {}
        for aggregate_id, stream in events.items():
            state: Any = None
            for event in stream:  # ``project_aggregate`` without its Protocol check per event
                state = event.mutate(state)
            if isinstance(state, kind):
                loaded[aggregate_id] = state
        return loaded

    def commit(self, context: CommandContext, *aggregates: Aggregate) -> int:
        """Record the aggregates' pending events together; the position of the last one."""
        return self.submit(context, *aggregates).result()

    def submit(self, context: CommandContext, *aggregates: Aggregate) -> Future[int]:
        """Queue the pending events for the group commit; the future gives their position."""
        return self._committer.submit(self._stamped(context, aggregates))

    def submit_async(self, context: CommandContext, *aggregates: Aggregate) -> asyncio.Future[int]:
        """``submit`` from a coroutine: await the position on the running loop."""
        return self._committer.submit_async(self._stamped(context, aggregates))

    @staticmethod
    def _stamped(context: CommandContext, aggregates: tuple[Aggregate, ...]) -> list[Any]:
        events = [e for agg in aggregates for e in agg.collect_events()]
        stamp(events, context)
        return events
