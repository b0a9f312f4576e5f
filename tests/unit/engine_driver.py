"""Drives the run engine (and other reactors given with it) over an in-memory Ledger, as the
reactor runners do over PostgreSQL: each new event once, in order, and the durable timers at a
clock the test moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from application.context import CommandContext
from application.flow import FlowCommands
from application.ledger import Ledger
from application.reactor import Reactor, Timer
from application.run_engine import RunEngine
from domain.run import Run
from projections.envelope import event_id

OWNER = uuid4()
CTX = CommandContext(actor=f"user:{OWNER}", correlation_id="corr-run")


class Driver:
    """The engine, the events it has seen and its pending timers."""

    def __init__(self, ledger: Ledger, engine: RunEngine, *others: Reactor) -> None:
        self.ledger = ledger
        self.engine = engine
        self.reactors: tuple[Reactor, ...] = (engine, *others)
        self.position = 0
        self.timers: dict[str, Timer] = {}  # by key; each fired by the reactor that set it
        self._owner: dict[str, Reactor] = {}
        self.seen: list[str] = []

    def settle(self) -> None:
        """React to every event recorded so far (and to the ones the reactions record)."""
        while True:
            found = self.ledger.recorder.select_notifications(start=self.position + 1, limit=100)
            if not found:
                return
            for notification in found:
                self.position = notification.id
                self.seen.append(notification.topic)
                wanting = [r for r in self.reactors if notification.topic in r.topics]
                if not wanting:
                    continue
                event = self.ledger.mapper.to_domain_event(notification)
                key = event_id(event.originator_id, event.originator_version)
                for reactor in wanting:  # each event a batch of its own, prepared first
                    reactor.prepare([(notification.topic, event)])
                    self._keep(reactor, reactor.react(notification.topic, event, key))

    def fire_due(self, now: datetime) -> list[str]:
        """Fire the timers due at ``now``; their keys."""
        due = sorted((t for t in self.timers.values() if t.due_at <= now), key=lambda t: t.due_at)
        for timer in due:
            del self.timers[timer.key]
            reactor = self._owner.pop(timer.key)
            reactor.prepare_timers([timer])
            self._keep(reactor, reactor.fire(timer))
            self.settle()
        return [t.key for t in due]

    def fire_all(self) -> None:
        """Fire every timer, however far ahead, until none is left."""
        while self.timers:
            self.fire_due(max(t.due_at for t in self.timers.values()) + timedelta(seconds=1))

    def _keep(self, reactor: Reactor, reaction: Any) -> None:
        reaction.settle()
        for timer in reaction.scheduled:
            if timer.key not in self.timers:
                self.timers[timer.key], self._owner[timer.key] = timer, reactor
        for key in reaction.cancelled:
            self.timers.pop(key, None)
            self._owner.pop(key, None)

    def run(self, steps: list[dict[str, Any]], inputs: dict[str, Any] | None = None) -> Run:
        """Define a flow of ``steps``, start a run of it, and let the engine settle."""
        commands = self.ledger[FlowCommands]
        flow = commands.define_flow(CTX, OWNER, {"name": "f", "steps": steps}).aggregate
        run = commands.start_run(CTX, OWNER, flow.id, inputs or {}).aggregate
        self.settle()
        return self.get(run.id)

    def get(self, run_id: Any) -> Run:
        """The run now."""
        found: Run = self.ledger.repository.get(run_id)
        return found
