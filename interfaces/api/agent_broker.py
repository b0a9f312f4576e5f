"""Hands queued tasks to the polls waiting in this process, one lease pass at a time.

A poll that finds nothing it holds registers as a waiter and waits (``wait`` seconds at most; a
poll without ``wait`` waits for one pass only). A pass runs when a waiter arrives or when the
tasks read model commits a change (the position watch's notification: the runner's NOTIFY,
whichever process committed), never on a timer: while nothing changes, a waiting poll costs no
query. One pass serves every waiter with ONE query of the queue (the tasks any waiting agent may
take, oldest first), matches tasks to waiters in memory (``can_take``: the least-served waiter
first, then the longest-waiting), and leases them through the aggregates, their commits sharing
one group commit. Passes never overlap in a process, so this process's polls never race for the
same task; polls of other processes may, and the event store's optimistic concurrency lets one
win (the loser's offer is skipped and its waiter is served by the next pass).

Tasks leased here stay in ``recent`` until the read model has applied the lease, so a pass on a
lagging read model does not offer them again; a task the aggregate refused (taken elsewhere)
stays there a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prometheus_client import Counter, Gauge
from starlette.concurrency import run_in_threadpool

from application.context import CommandContext
from application.dispatch import DispatchCommands
from domain.agent import Agent
from domain.dispatch import can_take
from domain.task import Task
from projections.task_dispatch import DispatchQueries

log = logging.getLogger(__name__)
WAITING = Gauge(
    "ledgerflow_agent_polls_waiting",
    "Agents' polls waiting for a command (long polls)",
    multiprocess_mode="livesum",
)
PASSES = Counter(
    "ledgerflow_agent_lease_passes", "Lease passes: queries of the queue for the waiting polls"
)

REFUSED_SECONDS = 5.0  # how long a task refused by its aggregate is not offered again
WIDEN = 2  # the queue query reads this many times the tasks the waiters want (some will not fit)


@dataclass(eq=False)
class Waiter:
    """A poll waiting for new leases."""

    agent: Agent
    context: CommandContext
    limit: int
    once: bool  # answer after the next pass even when it found nothing
    future: asyncio.Future[list[Task]]
    got: list[Task] = field(default_factory=list)


class LeaseBroker:
    """The waiting polls of this process and the passes that serve them."""

    def __init__(
        self,
        dispatch: DispatchCommands,
        queries: DispatchQueries,
        applied: Callable[[], int],
        wrote: Callable[[UUID, int], None],
    ) -> None:
        self._dispatch = dispatch
        self._queries = queries
        self._applied = applied  # the tasks read model's position
        self._wrote = wrote  # read-your-writes: (principal, position)
        self._waiters: list[Waiter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: asyncio.Task[None] | None = None
        self._dirty = False
        # task id -> (position of our lease, or None for a refusal; monotonic time)
        self.recent: dict[UUID, tuple[int | None, float]] = {}
        self.passes = 0

    def changed(self, names: set[str]) -> None:
        """A position-watch listener (in the watch thread): the tasks read model changed."""
        loop = self._loop
        if loop is not None and self._waiters and ("tasks" in names or "*" in names):
            loop.call_soon_threadsafe(self._kick)

    async def take(
        self, agent: Agent, context: CommandContext, limit: int, wait: float
    ) -> list[Task]:
        """New leases for ``agent`` (at most ``limit``): after one pass when ``wait`` is 0, else
        as soon as a pass leases something to it or after ``wait`` seconds."""
        self._loop = asyncio.get_running_loop()
        waiter = Waiter(agent, context, limit, wait <= 0, self._loop.create_future())
        self._waiters.append(waiter)
        WAITING.inc()
        self._kick()
        try:
            await asyncio.wait({waiter.future}, timeout=wait if wait > 0 else None)
        finally:
            self._waiters.remove(waiter)
            WAITING.dec()
            if not waiter.future.done():  # a lease won after this stays held: the next poll has it
                waiter.future.cancel()
        return [] if waiter.future.cancelled() else waiter.future.result()

    def _kick(self) -> None:
        self._dirty = True
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._passes())

    async def _passes(self) -> None:
        while self._dirty:
            self._dirty = False
            waiting = [w for w in self._waiters if not w.future.done()]
            if not waiting:
                continue
            try:
                more = await run_in_threadpool(self.serve, waiting)
            except Exception as error:  # the polls answer the error (e.g. 503 database down)
                for waiter in waiting:
                    if not waiter.future.done():
                        waiter.future.set_exception(error)
                continue
            for waiter in waiting:
                if not waiter.future.done() and (waiter.got or waiter.once):
                    waiter.future.set_result(waiter.got)
            self._dirty = self._dirty or more

    def serve(self, waiting: list[Waiter]) -> bool:
        """One pass (in a worker thread): lease queued tasks to ``waiting``; whether another
        pass may find more (the queue read was cut short, or an offer was lost)."""
        self.passes += 1
        PASSES.inc()
        self._forget()
        agents = [w.agent for w in waiting]
        wanted = sum(w.limit for w in waiting)
        limit = wanted * WIDEN + len(self.recent)
        rows = self._queries.queued_among(
            sorted({a.owner_id for a in agents}),
            sorted({a.id for a in agents}),
            sorted({c for a in agents for c in a.capabilities}),
            limit,
        )
        offers = self._match(waiting, rows)
        won = self._dispatch.lease_each([(w.context, w.agent, t) for w, t in offers])
        now = time.monotonic()
        for _, task_id in offers:
            self.recent.setdefault(task_id, (None, now))  # refused unless won below
        for index, task, position in won:
            waiter = offers[index][0]
            waiter.got.append(task)
            self.recent[task.id] = (position, now)
            self._wrote(waiter.agent.id, position)
            self._wrote(waiter.agent.owner_id, position)  # the owner reads the lease at once
        return len(rows) >= limit or len(won) < len(offers)

    def _match(
        self, waiting: list[Waiter], rows: list[dict[str, Any]]
    ) -> list[tuple[Waiter, UUID]]:
        load = {id(w): len(w.got) for w in waiting}
        offers: list[tuple[Waiter, UUID]] = []
        for row in rows:
            if row["task_id"] in self.recent:
                continue
            pinned = None if row["agent_id"] is None else str(row["agent_id"])
            fits = [
                w
                for w in waiting
                if load[id(w)] < w.limit
                and w.agent.owner_id == row["owner_id"]
                and can_take(
                    w.agent.id,
                    w.agent.capabilities,
                    w.agent.enabled_tools,
                    pinned,
                    row["intent"],
                    row["required_tools"] or [],
                )
            ]
            if fits:
                chosen = min(fits, key=lambda w: load[id(w)])  # min keeps the earliest of ties
                load[id(chosen)] += 1
                offers.append((chosen, row["task_id"]))
        return offers

    def _forget(self) -> None:
        applied = self._applied()
        stale = time.monotonic() - REFUSED_SECONDS
        for task_id, (position, at) in list(self.recent.items()):
            if (position is not None and position <= applied) or at < stale:
                del self.recent[task_id]
