"""Hands queued tasks to the polls waiting in this process, one lease pass at a time.

A poll that finds nothing it holds registers as a waiter and waits (``wait`` seconds at most; a
poll without ``wait`` waits for one pass only). A pass runs when a waiter arrives, when the
process's log reader reads an event that may queue a task (``logged``: a ``Tap`` of the
``LogReader``, fed by its LISTEN thread, whichever process committed), or when the tasks read
model commits a change (the position watch's notification); never on a timer: while nothing
changes, a waiting poll costs no query.

The log reader hears of a new task before the tasks read model has applied it (the read model's
batch is most of the way from a POST to its lease), so a pass it started leases the tasks it
names by id: it loads their aggregates (the truth, not the read model) and offers those still
queued (news read while no poll waits is kept for the next one). A pass started otherwise also
reads the queue: ONE query of the tasks any waiting agent may take, oldest first. Either way,
tasks are matched to waiters in memory (``can_take``: the least-served waiter first, then the
longest-waiting) and leased through the aggregates, their commits sharing one group commit.
The read model's notification stays the safety net: it reads the queue when the read model
applied what the reader has not read, or news no pass offered to a poll (none could take the
task, or too many were named) once a poll has arrived since (``_recheck``).

Passes never overlap in a process, so this process's polls never race for the same task; polls
of other processes may, and the event store's optimistic concurrency lets one win (the loser's
offer is skipped and its waiter is served by the next pass).

Tasks leased here stay in ``recent`` until the read model has applied the lease, so a pass on a
lagging read model does not offer them again; a task the aggregate refused (taken elsewhere)
stays there a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
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
from projections.log_reader import Logged, LogReader, Tap
from projections.task_dispatch import DispatchQueries

log = logging.getLogger(__name__)
WAITING = Gauge(
    "ledgerflow_agent_polls_waiting",
    "Agents' polls waiting for a command (long polls)",
    multiprocess_mode="livesum",
)
PASSES = Counter(
    "ledgerflow_agent_lease_passes",
    "Lease passes for the waiting polls (each one reads the queue, or loads the new tasks the"
    " log reader named)",
)

REFUSED_SECONDS = 5.0  # how long a task refused by its aggregate is not offered again
WIDEN = 2  # the queue query reads this many times the tasks the waiters want (some will not fit)
# The events after which a task may be queued (the aggregate decides); task.created names the
# owner, so a new task no waiting agent's owner has is not loaded.
QUEUES = frozenset(
    {"task.assigned", "task.lease_expired", "task.failed", "task.requeued", "task.status_changed"}
)
NEWS = QUEUES | {"task.created"}
FRESH_MAX = 1000  # tasks named by the reader kept for the next pass (beyond: the queue has them)


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
        self._head: Callable[[], int] | None = None  # how far the log reader has read
        self._unoffered = 0  # the last position of news no pass offered to its polls
        self._recheck = 0  # read the queue again once the read model has applied this position
        self._waiters: list[Waiter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: asyncio.Task[None] | None = None
        self._dirty = False
        self._query = False  # the next pass reads the queue (else: only the reader's news)
        # tasks the reader named since the last pass -> (position, owner if the news said)
        self._fresh: dict[UUID, tuple[int, UUID | None]] = {}
        self._fresh_lock = threading.Lock()
        # task id -> (position of our lease, or None for a refusal; monotonic time)
        self.recent: dict[UUID, tuple[int | None, float]] = {}
        self.passes = 0

    def follow(self, reader: LogReader) -> None:
        """Hear of tasks that may be queued from ``reader`` (the process's log reader), as it
        reads them. What it read before is the queue's: as if named before any poll waited."""
        reader.add_tap(Tap(NEWS.__contains__, self.logged))
        self._head = lambda: reader.head
        self._not_offered(reader.head)

    def _not_offered(self, position: int) -> None:
        """News up to ``position`` may name a queued task no pass offered to its polls: a poll
        arriving before the read model has applied it reads the queue again once it has."""
        with self._fresh_lock:
            self._unoffered = max(self._unoffered, position)

    def changed(self, names: set[str]) -> None:
        """A position-watch listener (in the watch thread): the tasks read model changed. The
        queue is read again only when it may hold a task the reader's news did not name."""
        loop = self._loop
        tasks = "tasks" in names and self._unnamed()
        if loop is not None and self._waiters and (tasks or "*" in names):
            loop.call_soon_threadsafe(self._kick, True)

    def _unnamed(self) -> bool:
        """Whether the read model may have queued a task no pass has seen: the reader's tap did
        not see what the read model applied (no reader here, or it lags), or a poll arrived
        while the read model lagged behind news offered to no poll (``_recheck``)."""
        applied = self._applied()
        return self._head is None or self._head() < applied or 0 < self._recheck <= applied

    def logged(self, events: list[Logged]) -> None:
        """The log reader's tap (in the thread that read ``events``, of the types in ``NEWS``):
        name the tasks that may have been queued to the next pass, and start it (while no poll
        waits, they are kept for the next one to arrive). A new task of an owner none of whose
        agents waits here is left to the queue."""
        named = {e.originator_id: e.position for e in events if e.topic in QUEUES}
        loop = self._loop
        waiting = list(self._waiters)
        owners = {w.agent.owner_id for w in waiting}
        owner_of = {
            e.originator_id: getattr(e.event, "owner_id", None)
            for e in events
            if e.topic == "task.created"
        }
        foreign = {t for t, owner in owner_of.items() if waiting and owner not in owners}
        kept = False
        with self._fresh_lock:
            room = len(self._fresh) < FRESH_MAX
            for task_id, position in named.items():
                if room and task_id not in foreign:
                    self._fresh[task_id] = (position, owner_of.get(task_id))
                    kept = True
                else:
                    self._unoffered = max(self._unoffered, position)
        if loop is not None and waiting and (kept or not room):
            with contextlib.suppress(RuntimeError):  # the loop closed: the process is stopping
                loop.call_soon_threadsafe(self._kick, not room)

    async def take(
        self, agent: Agent, context: CommandContext, limit: int, wait: float
    ) -> list[Task]:
        """New leases for ``agent`` (at most ``limit``): after one pass when ``wait`` is 0, else
        as soon as a pass leases something to it or after ``wait`` seconds."""
        self._loop = asyncio.get_running_loop()
        waiter = Waiter(agent, context, limit, wait <= 0, self._loop.create_future())
        self._waiters.append(waiter)
        WAITING.inc()
        self._kick(True)
        try:
            await asyncio.wait({waiter.future}, timeout=wait if wait > 0 else None)
        finally:
            self._waiters.remove(waiter)
            WAITING.dec()
            if not waiter.future.done():  # a lease won after this stays held: the next poll has it
                waiter.future.cancel()
        return [] if waiter.future.cancelled() else waiter.future.result()

    def _kick(self, query: bool = False) -> None:
        self._dirty = True
        self._query = self._query or query
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._passes())

    async def _passes(self) -> None:
        while self._dirty:
            self._dirty = False
            query, self._query = self._query, False
            waiting = [w for w in self._waiters if not w.future.done()]
            if not waiting:
                continue
            try:
                more = await run_in_threadpool(self.serve, waiting, query)
            except Exception as error:  # the polls answer the error (e.g. 503 database down)
                for waiter in waiting:
                    if not waiter.future.done():
                        waiter.future.set_exception(error)
                continue
            for waiter in waiting:
                if not waiter.future.done() and (waiter.got or waiter.once):
                    waiter.future.set_result(waiter.got)
            if more:
                self._kick(True)

    def serve(self, waiting: list[Waiter], query: bool = True) -> bool:
        """One pass (in a worker thread): lease queued tasks to ``waiting``, those the reader
        named and (``query``) those the queue holds; whether another pass may find more (the
        queue read was cut short, or an offer was lost)."""
        self.passes += 1
        PASSES.inc()
        with self._fresh_lock:
            fresh, self._fresh = self._fresh, {}
        try:
            return self._serve(waiting, query, fresh)
        except Exception:
            self._not_offered(max((at for at, _ in fresh.values()), default=0))
            raise

    def _serve(
        self, waiting: list[Waiter], query: bool, fresh: dict[UUID, tuple[int, UUID | None]]
    ) -> bool:
        self._forget()
        wanted = sum(w.limit for w in waiting)
        limit = wanted * WIDEN + len(self.recent)
        rows, applied = self._queued(waiting, limit) if query else ([], 0)
        listed = {row["task_id"] for row in rows}
        owners = {w.agent.owner_id for w in waiting}
        named = [t for t, (at, _) in fresh.items() if t not in listed and at > applied]  # or read
        foreign = [t for t in named if fresh[t][1] not in (None, *owners)]  # not loaded
        named = [t for t in named if t not in foreign]
        loaded = {task.id: task for task in self._dispatch.queued_tasks(named[:limit])}
        for task_id in loaded:  # the aggregate says it is queued now: a refusal is outdated
            self.recent.pop(task_id, None)
        rows += [_row(loaded[t]) for t in named[:limit] if t in loaded]
        offers = self._match(waiting, rows)
        offered = {task_id for _, task_id in offers}
        left = [t for t in loaded if t not in offered] + named[limit:] + foreign
        self._not_offered(max((fresh[t][0] for t in left), default=0))
        won = self._dispatch.lease_each([(w.context, w.agent, t) for w, t in offers], loaded)
        now = time.monotonic()
        for _, task_id in offers:
            self.recent.setdefault(task_id, (None, now))  # refused unless won below
        for index, task, position in won:
            waiter = offers[index][0]
            waiter.got.append(task)
            self.recent[task.id] = (position, now)
            self._wrote(waiter.agent.id, position)
            self._wrote(waiter.agent.owner_id, position)  # the owner reads the lease at once
        cut = (query and len(listed) >= limit) or len(named) > limit
        return cut or len(won) < len(offers)

    def _queued(self, waiting: list[Waiter], limit: int) -> tuple[list[dict[str, Any]], int]:
        """The queue's rows any of ``waiting`` may take, oldest first (ONE query), and the
        read model's position the query sees at least. When news offered to no poll is ahead
        of the read model, the queue is read again once it has applied it."""
        with self._fresh_lock:
            unoffered = self._unoffered
        applied = self._applied()  # the query sees at least this
        # set before the query: a notification during it must not be lost
        self._recheck = unoffered if unoffered > applied else 0
        agents = [w.agent for w in waiting]
        rows = self._queries.queued_among(
            sorted({a.owner_id for a in agents}),
            sorted({a.id for a in agents}),
            sorted({c for a in agents for c in a.capabilities}),
            limit,
        )
        return rows, applied

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


def _row(task: Task) -> dict[str, Any]:
    """A queued task as the queue query would return it."""
    return {
        "task_id": task.id,
        "owner_id": task.owner_id,
        "agent_id": task.agent_id,
        "intent": task.intent,
        "required_tools": task.required_tools,
    }
