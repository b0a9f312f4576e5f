"""The scheduler: the reactor that fires schedules (time-based triggers) on durable timers.

Each enabled schedule has exactly one armed timer, due at its next fire time: an idle schedule
costs nothing between fire times (no polling per schedule; the runner wakes for the earliest
due timer), and nothing depends on a process staying up, since the timers are rows in
PostgreSQL. A timer fires once (claimed ``FOR UPDATE SKIP LOCKED`` by the one active instance),
starts the run ``uuid5(schedule_id, fire_time)`` and arms the next timer; a second scheduler, a
replay or a redelivery collides on that id, so each (schedule, fire time) starts one run.

Timers are keyed by schedule, generation and fire time. Changing, disabling or deleting a
schedule bumps its generation: the timer armed before is stale and does nothing when it fires.

After downtime a timer fires late. More than ``GRACE`` after its fire time, the scheduler
records ``trigger.missed`` naming every fire time it slept through, then runs by the schedule's
``catchup_policy``: none (``skip``), the latest (``latest``) or all (``all``), only those within
``catchup_window_seconds`` of now.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.flow import FlowCommands
from application.reactor import Reaction, Reactor, Timer, reacts_to
from application.trigger import BatchFlows, TriggerCommands
from domain.cron import fire_times_until, next_fire
from domain.run import RunFinished
from domain.trigger import Trigger, TriggerNotFound, TriggerType, scheduled_run_id
from domain.trigger_outcome import TriggerOutcome

GRACE = timedelta(seconds=60)
BUFFER_POLL = timedelta(seconds=2)
WORD = "schedule"


def now() -> datetime:
    """The scheduler's clock (freezegun moves it in tests)."""
    return datetime.now(UTC)


def timer_key(trigger: Trigger, at: datetime, kind: str = "fire", attempt: int = 0) -> str:
    """The key of a timer: the same schedule, generation and time never arm twice."""
    suffix = "" if kind == "fire" else f":{kind}:{attempt}"
    return f"{trigger.id}:{trigger.generation}:{at.isoformat()}{suffix}"


class Scheduler(Reactor):
    """Arms each schedule's next timer and starts its runs when they fire."""

    name = "scheduler"
    # A batch of due timers (the ~170 fires of one minute's first second) is decided first,
    # then committed: deciding is not slowed by the commits, projections and run starts of the
    # first fires, which took the interpreter from it (each fire's lateness grew with its rank).
    defers_timer_commits = True

    def __init__(self, ledger: Any) -> None:
        super().__init__(ledger)
        self._flows = BatchFlows(ledger)
        self._batch: dict[UUID, Trigger] = {}  # the schedules of the batch of timers

    @reacts_to(Trigger.Created, Trigger.Updated, Trigger.Enabled)
    def when_schedule_set_arm_timer(self, event: Any, reaction: Reaction) -> None:
        """A new, changed or re-enabled schedule: arm its next fire time after the change."""
        if isinstance(event, Trigger.Created):
            if event.kind != TriggerType.TIME_BASED or not event.enabled:
                return  # an event trigger, or a disabled schedule: nothing to arm
            # Its state when created, without a load (defining 10,000 schedules arms them in
            # seconds): a change since bumps the generation, so this timer is then stale and
            # the change arms its own.
            trigger: Trigger | None = event.mutate(None)
        else:
            trigger = self._schedule(event.originator_id)
            if trigger is None or trigger.version != event.originator_version:
                return  # the latest change arms the timer: older ones would arm stale times
        assert trigger is not None
        at = next_fire(trigger.config["cron"], trigger.config["timezone"], event.timestamp)
        self._arm(reaction, trigger, at, None)

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """A fire time (or a buffered fire waiting for the previous run) has come."""
        p = timer.payload
        trigger = self._schedule(UUID(p["trigger_id"]))
        if trigger is None or trigger.generation != p["generation"]:
            return  # changed, disabled or deleted since: a stale timer
        if p.get("kind") == "buffer":
            self._buffered(trigger, timer, reaction)
            return
        due, current = timer.due_at.astimezone(UTC), now()
        cron, zone = trigger.config["cron"], trigger.config["timezone"]
        between, following = fire_times_until(cron, zone, due, current)
        times = [due, *between]
        if current - due > GRACE:
            times = self._catch_up(trigger, times, current, following, reaction)
        last = p.get("last_run_id")
        for at in times:
            last = self._fire(trigger, at, last, following, reaction)
        self._arm(reaction, trigger, following, last)

    def prepare(self, events: Sequence[tuple[str, Any]]) -> None:
        """Before a batch of events: a new batch of flows, nothing read ahead."""
        self._flows.clear()
        self._batch.clear()

    def prepare_timers(self, timers: Sequence[Timer]) -> None:
        """Before a batch of due timers: their schedules, then those schedules' flows, each
        read in ONE query (the ~170 schedules of one minute's first second: two round trips,
        not ~340). A schedule changed since is seen as changed by the next batch."""
        self.prepare([])
        ids = {UUID(t.payload["trigger_id"]) for t in timers if "trigger_id" in t.payload}
        self._batch.update(self.ledger.load_many(Trigger, ids))
        self._flows.preload(t.flow_id for t in self._batch.values())

    # --- helpers -------------------------------------------------------------------------

    def _schedule(self, trigger_id: UUID) -> Trigger | None:
        trigger = self._batch.get(trigger_id)
        if trigger is None:
            try:
                trigger = self.ledger.load(Trigger, trigger_id, TriggerNotFound)
            except TriggerNotFound:
                return None
        if trigger.kind != TriggerType.TIME_BASED or not trigger.enabled or trigger.deleted:
            return None
        return trigger

    def _arm(
        self, reaction: Reaction, trigger: Trigger, at: datetime, last_run_id: str | None
    ) -> None:
        reaction.schedule(
            timer_key(trigger, at),
            at,
            trigger_id=str(trigger.id),
            generation=trigger.generation,
            last_run_id=last_run_id,
        )

    def _catch_up(
        self,
        trigger: Trigger,
        times: list[datetime],
        current: datetime,
        following: datetime,
        reaction: Reaction,
    ) -> list[datetime]:
        """Record the fire times slept through; the ones to run by the catch-up policy."""
        reaction.submit_once(TriggerOutcome.missed(trigger, times, following))
        window = current - timedelta(seconds=trigger.config["catchup_window_seconds"])
        recent = [at for at in times if at >= window]
        policy = trigger.config["catchup_policy"]
        if policy == "all":
            return recent
        if policy == "latest":
            return recent[-1:]
        return []

    def _fire(
        self,
        trigger: Trigger,
        at: datetime,
        last: str | None,
        following: datetime,
        reaction: Reaction,
    ) -> str | None:
        """Start the run of fire time ``at`` unless the overlap policy says otherwise; the id
        of the schedule's latest run (started or buffered) afterwards."""
        commands = self.ledger[TriggerCommands]
        policy = trigger.config["overlap_policy"]
        # ``allow`` starts the run whatever the previous one does: no need to load it.
        previous = commands.run_of(UUID(last)) if last and policy != "allow" else None
        busy = last is not None and (previous is None or not previous.finished)
        detail: dict[str, Any] = {"fire_time": at, "next_fire_at": following}
        if busy and policy == "cancel_previous" and previous is not None:
            with contextlib.suppress(RunFinished):
                self.ledger[FlowCommands].cancel_run(
                    reaction.context, trigger.owner_id, previous.id, "replaced by its schedule"
                )
        elif busy and policy == "buffer_one" and previous is not None:
            reaction.schedule(
                timer_key(trigger, at, "buffer"),
                at + BUFFER_POLL,
                trigger_id=str(trigger.id),
                generation=trigger.generation,
                kind="buffer",
                fire_time=at.isoformat(),
                waiting_for=last,
                attempt=0,
            )
            return str(scheduled_run_id(trigger.id, at))
        elif busy and policy != "allow":
            skipped = TriggerOutcome.skipped(
                trigger, "overlap", at.isoformat(), run_id=UUID(last), **detail
            )
            reaction.submit_once(skipped)
            return last
        run_id = scheduled_run_id(trigger.id, at)
        started = commands.fire(reaction, trigger, run_id, WORD, self._flows.of(trigger), **detail)
        return str(run_id) if started else last

    def _buffered(self, trigger: Trigger, timer: Timer, reaction: Reaction) -> None:
        """A buffered fire: start it once the run it waits for has finished."""
        p = timer.payload
        commands = self.ledger[TriggerCommands]
        previous = commands.run_of(UUID(p["waiting_for"]))
        at = datetime.fromisoformat(p["fire_time"])
        if previous is not None and not previous.finished:
            attempt = int(p["attempt"]) + 1
            again = {**p, "attempt": attempt}
            due = now() + BUFFER_POLL
            reaction.schedule(timer_key(trigger, at, "buffer", attempt), due, **again)
            return
        following = next_fire(trigger.config["cron"], trigger.config["timezone"], now())
        run_id = scheduled_run_id(trigger.id, at)
        commands.fire(reaction, trigger, run_id, WORD, fire_time=at, next_fire_at=following)
