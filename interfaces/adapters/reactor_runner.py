"""Runs a reactor: follows the log through the process's reader and fires its durable timers.

One active instance per reactor across processes (an advisory lock on ``reactor.<name>``), the
others on standby. Each pass first fires the due timers (claimed ``FOR UPDATE SKIP LOCKED``,
marked fired in the claiming transaction after the reaction's commands), then reacts to the next
batch of events and commits the new position and the timers they scheduled in ONE transaction.
A reaction that fails leaves the position where it was: the batch is tried again after a
back-off, and the error is in the runner's status.

A reactor costs nothing on the command path for events it does not react to: a batch without
one is passed over in memory (its position written at most every ``PASS_OVER_PERSIST_SECONDS``,
and when the log goes quiet; after a crash those events are read again and passed over again),
and the timers table is read only when the earliest timer this instance knows of is due. Before
this, every reactor ran two transactions and three to four statements per batch of the log,
whatever the batch held: about 9 % of the API process's interpreter time under a POST load.

Between passes the runner sleeps until new events arrive, its earliest timer is due or the poll
interval passes, whichever comes first: a timer fires at its due time, not at the next poll, and
timers far ahead cost nothing until then. A timer due but locked elsewhere is looked at again at
the poll (no spinning). Before a batch's reactions the reactor may read ahead what they need
(``Reactor.prepare``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from application.reactor import Reaction, Reactor, Timer
from projections.envelope import event_id
from projections.follower import (
    CONNECTION_ERRORS,
    FollowerStuck,
    LogFollower,
    RunnerStatus,
    take_lock,
)
from projections.log_reader import LogReader
from projections.runner import ADVANCE
from projections.schema import Stuck, ensure_tracking_table, record_stuck, skipped

log = logging.getLogger(__name__)
TIMERS = (
    "CREATE TABLE IF NOT EXISTS ledgerflow_timers (reactor text NOT NULL, key text NOT NULL,"
    " due_at timestamptz NOT NULL, payload jsonb NOT NULL, fired_at timestamptz,"
    " PRIMARY KEY (reactor, key))",
    "CREATE INDEX IF NOT EXISTS ledgerflow_timers_due ON ledgerflow_timers (reactor, due_at)"
    " WHERE fired_at IS NULL",
)
PASS_OVER_PERSIST_SECONDS = 1.0
NEEDS_RECHECK_SECONDS = 0.02  # how soon to look again when a needed read model was behind
_EARLIEST = "SELECT min(due_at) FROM ledgerflow_timers WHERE reactor = %s AND fired_at IS NULL"
_UNKNOWN = datetime.min.replace(tzinfo=UTC)  # read the timers table at the next pass
_FIRED = "UPDATE ledgerflow_timers SET fired_at = %s WHERE reactor = %s AND key = ANY(%s)"
_ARM = (
    "INSERT INTO ledgerflow_timers (reactor, key, due_at, payload)"
    " SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::jsonb[]) ON CONFLICT DO NOTHING"
)
_CANCEL = "DELETE FROM ledgerflow_timers WHERE reactor = %s AND key = ANY(%s) AND fired_at IS NULL"
_DUE = (
    "SELECT key, due_at, payload FROM ledgerflow_timers WHERE reactor = %s AND fired_at IS NULL"
    " AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED"
)


class ReactorRunner(LogFollower):
    """Keeps one reactor current with the log and its timers."""

    def __init__(
        self,
        conninfo: str,
        reactor: Reactor,
        reader: LogReader,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(conninfo, reader, batch_size, poll_interval)
        self.reactor = reactor
        self.tracking = f"reactor.{reactor.name}"
        self.name = self.tracking
        self._clock = clock
        self.position = 0
        self._persisted = 0  # the position last written to the tracking row
        self._persisted_at = 0.0
        self._next_due: datetime | None = _UNKNOWN  # None: no timer waits
        self.active = False
        self.last_error: str | None = None
        self._retry_at = 0.0
        self._backoff = 0.5
        self._behind = False  # the last pass stopped at an event a needed read model lacks

    def wants(self, topic: str) -> bool:
        """Woken only by the events its reactor reacts to (the rest is passed over at the poll)."""
        return self.reactor.handles(topic)

    def status(self) -> RunnerStatus:
        """Position, head, whether this instance is the active one, the last error."""
        head = max(self.reader.head, self.position)
        return RunnerStatus(self.tracking, self.position, head, self.active, self.last_error)

    def setup(self, conn: psycopg.Connection[Any]) -> None:
        """Create the tracking row and the timers table if missing."""
        with conn.transaction(), conn.cursor() as cur:
            ensure_tracking_table(cur)
            for statement in TIMERS:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO ledgerflow_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (self.tracking,),
            )

    def _serve(self) -> None:
        self.active = False
        super()._serve()

    def _failed(self, error: str) -> None:
        self.active = False
        self.last_error = error
        super()._failed(error)

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        if not self.active:
            self.setup(conn)
            self.active = take_lock(conn, self.tracking)
            if self.active:
                self._resume(conn)
        return self.active

    def _resume(self, conn: psycopg.Connection[Any]) -> None:
        """Start from the recorded position, and read the timers at the next pass."""
        row = conn.execute(
            "SELECT position FROM ledgerflow_tracking WHERE name = %s", (self.tracking,)
        ).fetchone()
        self.position = self._persisted = row[0] if row else 0
        self._next_due = _UNKNOWN

    def catch_up(self, conn: psycopg.Connection[Any]) -> int:
        """React to everything recorded so far and fire what is due (tests, CLI)."""
        self.setup(conn)
        self._resume(conn)
        total = 0
        while moved := self.process_batch(conn):
            total += moved
        return total

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Fire due timers, then react to the next batch; how much was done (0: nothing)."""
        if time.monotonic() < self._retry_at:
            return 0
        try:
            done = self._fire_due(conn) + self._react(conn)
        except CONNECTION_ERRORS:
            raise
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            self._retry_at = time.monotonic() + self._backoff
            log.error("%s: %s; retrying in %.1f s", self.tracking, error, self._backoff)
            self._backoff = min(self._backoff * 2, 60.0)
            return 0
        self._backoff = 0.5
        return done

    def _fire_due(self, conn: psycopg.Connection[Any]) -> int:
        now = self._clock()
        if self._next_due is None or now < self._next_due:
            return 0
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            due = cur.execute(_DUE, (self.reactor.name, now, self._batch_size)).fetchall()
            timers = [Timer(row["key"], row["due_at"], row["payload"]) for row in due]
            reactions = []
            if timers:
                self.reactor.prepare_timers(timers)
                reactions = [self.reactor.fire(timer) for timer in timers]
                cur.execute(_FIRED, (self._clock(), self.reactor.name, [t.key for t in timers]))
                self._keep(cur, reactions)
            for reaction in reactions:  # the commits they held, queued together
                reaction.flush()
            for reaction in reactions:  # their commands, before the timers are marked fired
                reaction.settle()
            earliest = cur.execute(_EARLIEST, (self.reactor.name,)).fetchone()
        # Set after the commit: a rolled-back pass leaves _next_due as it was (due again).
        self._next_due = earliest["min"] if earliest else None
        if self._next_due is not None and self._next_due <= now and len(due) < self._batch_size:
            # Due but not claimable (locked by another transaction): look again at the poll,
            # rather than spin on it.
            self._next_due = now + timedelta(seconds=self._poll_interval)
        return len(due)

    def _wait_for_news(self, seen: int) -> None:
        """Wake for new events, after the poll interval, when the earliest timer is due (a
        timer's lateness is not the poll's), or soon when a read model the reactor needs was
        behind the log; never sooner than the end of a back-off. New events wake it only when
        they are of a type its reactor handles (``wants``); a stop wakes it too."""
        left = self.idle_for()
        if left > 0 and not self._stop.is_set():
            self._news.wait(seen, left)

    def idle_for(self) -> float:
        """Seconds to sleep after a pass that did nothing, unless new events come first."""
        limit = self._poll_interval
        if self._next_due is not None:
            limit = min(limit, (self._next_due - self._clock()).total_seconds())
        if self._behind:
            limit = min(limit, NEEDS_RECHECK_SECONDS)
        return max(limit, self._retry_at - time.monotonic(), 0.0)

    def _react(self, conn: psycopg.Connection[Any]) -> int:
        self._behind = False
        logged = self.reader.read_after(conn, self.position, self._batch_size)
        if not logged:
            self._persist(conn, quiet=True)
            return 0
        if not any(self.reactor.handles(e.topic) for e in logged):
            moved = logged[-1].position - self.position
            self.position = logged[-1].position
            self._persist(conn, quiet=False)
            return int(moved)
        stuck = None
        with conn.transaction(), conn.cursor() as cur:
            row = cur.execute(
                "SELECT position FROM ledgerflow_tracking WHERE name = %s FOR UPDATE",
                (self.tracking,),
            ).fetchone()
            # The recorded position may lag behind events passed over in memory (not written
            # yet): those need no reaction, so the pass starts after them.
            position = done = max(row[0] if row else 0, self.position)
            if position != self.position:
                logged = self.reader.read_after(conn, position, self._batch_size)
            ready = self._ready(cur, logged)
            self.reactor.prepare(
                [(e.topic, e.event) for e in ready if self.reactor.handles(e.topic)]
            )
            reactions: list[Reaction] = []
            for e in ready:
                if self.reactor.handles(e.topic):
                    try:
                        reaction = self.reactor.react(
                            e.topic, e.event, event_id(e.originator_id, e.originator_version)
                        )
                    except CONNECTION_ERRORS:
                        raise
                    except Exception as error:
                        if e.position not in skipped(cur, self.tracking, done):
                            stuck = Stuck(e.position, e.topic, f"{type(error).__name__}: {error}")
                            break
                        log.warning("%s: skipping position %d as told", self.name, e.position)
                    else:
                        reactions.append(reaction)
                done = e.position
            self._keep(cur, reactions)
            for reaction in reactions:  # their commands, before the position moves past them
                reaction.settle()
            if done != position or stuck is not None or done != self._persisted:
                cur.execute(ADVANCE, (done, [self.tracking]))
                record_stuck(cur, self.tracking, stuck)
        self.position = self._persisted = done
        self._persisted_at = time.monotonic()
        if stuck is not None:
            raise FollowerStuck(self.tracking, stuck)
        self.last_error = None
        return int(done - position)

    def _persist(self, conn: psycopg.Connection[Any], *, quiet: bool) -> None:
        """Write the position passed over in memory: when the log is quiet, else at most
        every ``PASS_OVER_PERSIST_SECONDS``."""
        if self.position == self._persisted:
            return
        now = time.monotonic()
        if not quiet and now - self._persisted_at < PASS_OVER_PERSIST_SECONDS:
            return
        with conn.transaction():
            conn.execute(ADVANCE, (self.position, [self.tracking]))
        self._persisted, self._persisted_at = self.position, now

    def _ready(self, cur: psycopg.Cursor[Any], logged: list[Any]) -> list[Any]:
        """The events before the first one whose reaction reads a read model (``needs``,
        ``waits_for``) that has not reached it yet (the read models are asked only when it
        matters): the events after it wait too, so reactions keep the log's order."""

        def waiting(e: Any) -> bool:
            return self.reactor.handles(e.topic) and self.reactor.waits_for(e.topic, e.event)

        if not self.reactor.needs or not any(waiting(e) for e in logged):
            return logged
        rows = cur.execute(
            "SELECT name, position FROM ledgerflow_tracking WHERE name = ANY(%s)",
            (list(self.reactor.needs),),
        ).fetchall()
        reached = dict(rows)
        limit = min(reached.get(name, 0) for name in self.reactor.needs)
        for index, e in enumerate(logged):
            if e.position > limit and waiting(e):
                self._behind = True
                return logged[:index]
        return logged

    def _keep(self, cur: psycopg.Cursor[Any], reactions: list[Reaction]) -> None:
        """Store the timers the reactions scheduled and drop the ones they cancelled, in their
        order, the timers of consecutive reactions in one statement (not one each)."""
        armed: list[Timer] = []
        for reaction in reactions:
            for timer in reaction.scheduled:
                if self._next_due is None or timer.due_at < self._next_due:
                    self._next_due = timer.due_at  # early if the pass rolls back: only a read
            armed += reaction.scheduled
            if reaction.cancelled:
                self._arm(cur, armed)
                armed = []
                cur.execute(_CANCEL, (self.reactor.name, reaction.cancelled))
        self._arm(cur, armed)

    def _arm(self, cur: psycopg.Cursor[Any], timers: list[Timer]) -> None:
        if timers:
            cur.execute(
                _ARM,
                (
                    self.reactor.name,
                    [t.key for t in timers],
                    [t.due_at for t in timers],
                    [Jsonb(dict(t.payload)) for t in timers],
                ),
            )
