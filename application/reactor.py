"""Reactors: the process managers of Ledgerflow ("a run advances when its approval is granted").

A reactor follows the event log with its own tracking position (run by
``interfaces/adapters/reactor_runner.py``, one active instance per reactor across processes) and
reacts to event types by issuing commands. Exactly once across crashes comes from two rules:

- every effect is idempotent: an aggregate a reaction creates has a deterministic id
  (``reaction.id_for(...)``, a uuid5 of the event that caused it), so doing it again collides on
  version 1 and is skipped (``reaction.commit_once``); a change checks state first (revoking a
  revoked session records nothing);
- the reactor's position and the timers its reactions schedule commit in ONE transaction, after
  the reactions' commands: a crash in between replays the reactions, which find their work done.

Durable timers (delays, lease and approval expiries, cron) are rows in PostgreSQL, fired once by
the active instance (``on_timer``), with the same idempotency rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from application.context import CommandContext, metadata_of
from application.error import ConcurrentChange
from application.ledger import Ledger

REACTOR_NAMESPACE = UUID("5f0d1c0e-2b6a-4d38-9a8e-6c1f7d2b9e44")
F = TypeVar("F", bound=Callable[..., None])


def reacts_to(*event_classes: type) -> Callable[[F], F]:
    """Mark a reactor method (``when_<event>_<do>``) as the reaction to these event classes."""
    topics = tuple(str(cls.TOPIC) for cls in event_classes)  # type: ignore[attr-defined]

    def mark(method: F) -> F:
        method.reacts_to = topics  # type: ignore[attr-defined]
        return method

    return mark


@dataclass(frozen=True)
class Timer:
    """A durable timer of a reactor: due at ``due_at``, fired once, with its ``payload``."""

    key: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Submitted:
    """Events a reaction queued for the group commit, settled before the reactor's position
    moves past the reaction: a collision is a replay finding its work done (``submit_once``),
    or calls ``on_conflict`` (``submit``), which redoes the work on fresh state."""

    future: Future[int]
    on_conflict: Callable[[], None] | None = None
    settled: bool = False

    def settle(self) -> None:
        """Wait for the commit (once); a collision is handled as said above."""
        if self.settled:
            return
        self.settled = True
        try:
            self.future.result()
        except ConcurrentChange:
            if self.on_conflict is not None:
                self.on_conflict()

    @property
    def committed(self) -> bool:
        """True once the events are recorded (False while queued, or when it failed)."""
        return self.future.done() and self.future.exception() is None


@dataclass
class Reaction:
    """What one reaction (to an event, or to a timer) may do, and what it asked for."""

    ledger: Ledger
    context: CommandContext
    cause: str  # the event id or timer key: the seed of deterministic ids
    reactor: str
    scheduled: list[Timer] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    pending: list[Submitted] = field(default_factory=list)
    # Hold what ``submit_once`` queues until ``flush`` (the scheduler's timers: a second's fires
    # are all decided before the first is committed, then committed together).
    defer: bool = False
    held: list[tuple[Aggregate, ...]] = field(default_factory=list)

    def id_for(self, *parts: object) -> UUID:
        """A deterministic id for something this reaction creates (the same on a replay)."""
        return uuid5(REACTOR_NAMESPACE, ":".join([self.reactor, self.cause, *map(str, parts)]))

    def commit_once(self, *aggregates: Aggregate) -> int | None:
        """Commit new aggregates with deterministic ids; None when a replay finds them done."""
        try:
            return self.ledger.commit(self.context, *aggregates)
        except ConcurrentChange:
            return None

    def submit_once(self, *aggregates: Aggregate) -> None:
        """Queue new aggregates with deterministic ids for the group commit without waiting
        for it: the runner waits for every reaction of a batch (``settle``) before it moves
        its position, so a batch of reactions commits in a few group commits, not one each.
        With ``defer``, held until ``flush``."""
        if self.defer:
            self.held.append(aggregates)
        else:
            self.pending.append(Submitted(self.ledger.submit(self.context, *aggregates)))

    def flush(self) -> None:
        """Queue for the group commit what ``submit_once`` held (``defer``), without waiting."""
        for aggregates in self.held:
            self.pending.append(Submitted(self.ledger.submit(self.context, *aggregates)))
        self.held.clear()

    def submit(
        self,
        *aggregates: Aggregate,
        on_conflict: Callable[[], None],
        context: CommandContext | None = None,
    ) -> Submitted:
        """Queue changes of existing aggregates (with new ones, in the same transaction) for
        the group commit without waiting; when another writer got there first, ``on_conflict``
        runs at ``settle`` (or earlier, when the reactor settles it itself)."""
        future = self.ledger.submit(context or self.context, *aggregates)
        submitted = Submitted(future, on_conflict)
        self.pending.append(submitted)
        return submitted

    def settle(self) -> None:
        """Wait for what ``submit_once`` and ``submit`` queued, in order (held ones queued)."""
        self.flush()
        for submitted in self.pending:
            submitted.settle()
        self.pending.clear()

    def schedule(self, key: str, due_at: datetime, **payload: Any) -> None:
        """Fire ``on_timer`` at ``due_at`` (once; scheduling the same key again is a no-op)."""
        self.scheduled.append(Timer(key, due_at, payload))

    def cancel(self, key: str) -> None:
        """Drop a timer that has not fired yet."""
        self.cancelled.append(key)


class Reactor:
    """The base of every process manager: say what to react to with ``@reacts_to``.

    ``needs`` names read models a reaction queries: the runner applies an event only once each of
    them has reached the event's position, so a reaction never reads a state older than its cause.
    """

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    defers_timer_commits: ClassVar[bool] = False  # its timers' reactions hold their commits

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._reactions: dict[str, Callable[[Any, Reaction], None]] = {}
        for attribute in dir(type(self)):
            method = getattr(self, attribute)
            for topic in getattr(method, "reacts_to", ()):
                self._reactions[topic] = method

    @property
    def topics(self) -> frozenset[str]:
        """The event types this reactor reacts to."""
        return frozenset(self._reactions)

    def handles(self, topic: str) -> bool:
        """Whether this reactor reacts to events of ``topic`` (asked for every event; a
        reactor that looks at every event, like the trigger matcher, overrides it)."""
        return topic in self._reactions

    def waits_for(self, topic: str, domain_event: Any) -> bool:
        """Whether the reaction to this event reads the read models in ``needs`` (the runner
        then holds it, and every event after it, until they have reached it). Yes by default;
        a reactor whose reaction to some events needs nothing but the event overrides it."""
        return True

    def prepare(self, events: Sequence[tuple[str, Any]]) -> None:
        """Called by the runner before the reactions of a batch, with the (topic, event) pairs
        it will react to (none for a batch of timers): read ahead in one query what the
        reactions will need, forget what the previous batch read. Nothing by default."""

    def prepare_timers(self, timers: Sequence[Timer]) -> None:
        """Called by the runner before it fires a batch of due timers, with those timers: read
        ahead what their reactions need (the scheduler loads every schedule of the batch in
        one query). By default what ``prepare`` does for a batch without events."""
        self.prepare([])

    def reaction_to(self, topic: str) -> Callable[[Any, Reaction], None]:
        """The method that reacts to ``topic``."""
        return self._reactions[topic]

    def react(self, topic: str, domain_event: Any, event_id: UUID) -> Reaction:
        """Run the reaction to one event; return what it scheduled or cancelled."""
        meta = metadata_of(domain_event)
        reaction = Reaction(
            self.ledger,
            CommandContext(
                actor=f"system:{self.name}",
                correlation_id=str(meta.get("correlation_id") or event_id),
                causation_id=str(event_id),
            ),
            str(event_id),
            self.name,
        )
        self.reaction_to(topic)(domain_event, reaction)
        return reaction

    def fire(self, timer: Timer) -> Reaction:
        """Run ``on_timer`` for a due timer; return what it scheduled or cancelled."""
        cause = f"timer:{timer.key}"
        reaction = Reaction(
            self.ledger,
            CommandContext(actor=f"system:{self.name}", causation_id=cause),
            cause,
            self.name,
            defer=self.defers_timer_commits,
        )
        self.on_timer(timer, reaction)
        return reaction

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """React to a due timer (reactors that schedule timers override this)."""
