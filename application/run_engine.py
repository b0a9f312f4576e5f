"""The run engine: the process manager that drives every run (CONTRACT A.3, "Engine semantics").

It reacts to ``run.created`` (start the root steps), ``run.step_started`` (do the step's work
through its type's executor), ``run.step_failed`` (schedule the retry), ``run.failed`` and
``run.cancelled`` (stop the work of steps in flight), ``task.status_changed`` and
``task.deleted`` (finish the step that waits for that task), and to its durable timers (a delay
has passed, a step timed out, a retry is due). Which step starts next is decided by the Run
aggregate, in the same commit as the event that made it ready.

Nothing runs twice across a crash: the task a step creates has the id
``uuid5(run_id, step_id:attempt)`` and is committed once; every change of the run names the
step's attempt and is a no-op when the run has moved on; timers are keyed by run, step and attempt.
The one exception is an ``http`` step's call, which is at least once (like a webhook delivery),
with an ``Idempotency-Key`` that is the same on every repeat of one attempt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.context import CommandContext
from application.error import ConcurrentChange
from application.flow import FlowCommands
from application.ledger import CONFLICT_RETRIES
from application.reactor import Reaction, Reactor, Submitted, Timer, reacts_to
from application.step_types import Outcome, StepStart, StepType
from application.template import TemplateError, render
from domain.error import DomainError, NotFound
from domain.run import IN_FLIGHT, Run, RunNotFound, StepStatus
from domain.run_task import RunTask
from domain.task import Task, TaskNotFound

ACTOR = "system:run-engine"
TIMED_OUT = "timed out"
# Step types whose work touches nothing outside the log (a task to create, a timer to set):
# done in the commit that starts the step, so a chain of them runs in one reaction.
INLINE = frozenset({"task", "delay"})
MEMORY = 10_000  # queued commits remembered before settled ones are dropped
Change = Callable[["Run"], "list[Aggregate] | None"]
_READ_AHEAD = frozenset({Run.Created.TOPIC, Run.StepStarted.TOPIC})


class RunTaskMissing(NotFound):
    """The task belongs to no run."""


class TimersChanged(RuntimeError):
    """A reaction done again after a lost race asked for timers its first try did not."""

    def __init__(self, run_id: UUID) -> None:
        super().__init__(f"run {run_id}: the reaction was redone with other timers; again")


class RunEngine(Reactor):
    """Advances runs: starts ready steps, does their work, retries, times out, cancels."""

    name = "run-engine"

    def __init__(self, ledger: Any, step_types: Mapping[str, StepType] | None = None) -> None:
        self._given = dict(step_types or {})
        self._types: dict[str, StepType] | None = None
        self._queued: dict[UUID, Submitted] = {}  # run -> its commit queued by this batch
        # (run, step, attempt) -> the queued commit that started the step and did its work
        self._worked: dict[tuple[UUID, UUID, int], Submitted] = {}
        # run -> its latest state known here, and the queued commit that recorded it
        self._runs: dict[UUID, tuple[Run, Submitted | None]] = {}
        super().__init__(ledger)

    @property
    def step_types(self) -> dict[str, StepType]:
        """The executor of each step type the features declare (``FlowCommands.kinds``; those
        given to the constructor win); a step of a type with no executor fails saying so."""
        if self._types is None:
            commands = self.ledger[FlowCommands]
            built = {name: kind.executor(commands) for name, kind in commands.kinds.items()}
            self._types = {**built, **self._given}
        return self._types

    def prepare(self, events: Sequence[tuple[str, Any]]) -> None:
        """Before a batch: the runs its reactions would each load. A new run (``run.created``,
        version 1) is taken from that event, without a read (its creator commits nothing
        else with it: if it has changed since, as on a replay, the commit collides and the
        reaction is redone on a fresh load); the runs of its ``run.step_started`` are read in
        ONE query. A run known here at least as recent is not read again."""
        wanted = []
        for topic, e in events:
            if topic not in _READ_AHEAD or self._known(e.originator_id, e.originator_version):
                continue
            if topic == Run.Created.TOPIC and e.originator_version == 1:
                self._runs[e.originator_id] = (e.mutate(None), None)
            else:
                wanted.append(e.originator_id)
        if wanted:
            for run_id, run in self.ledger.load_many(Run, wanted).items():
                if not self._known(run_id, run.version):
                    self._runs[run_id] = (run, None)

    # --- reactions -----------------------------------------------------------------------

    @reacts_to(Run.Created)
    def when_run_created_start_it(self, event: Any, reaction: Reaction) -> None:
        """Start the run's root steps (and do the work of those that run in the commit)."""
        self._advance(reaction, event.originator_id, Run.start, event.originator_version)

    @reacts_to(Run.StepStarted)
    def when_step_started_do_its_work(self, event: Any, reaction: Reaction) -> None:
        """Run the step's executor (once per attempt) and record its outcome."""
        run_id, step_id, attempt = event.originator_id, event.step_id, event.attempt
        worked = self._worked.pop((run_id, step_id, attempt), None)
        if worked is not None and worked.committed:
            return  # its work was recorded in the commit that started it, and it finished

        def work(run: Run) -> list[Aggregate]:
            # A replay finds the step waiting when its outcome was recorded but the timers the
            # reaction scheduled were not (they commit with the reactor's position): doing the
            # work again is safe (a task is created once, timers are keyed) and brings them back.
            if not run.in_state(step_id, attempt, StepStatus.RUNNING, StepStatus.WAITING):
                return []  # the step finished meanwhile, or the run ended
            return self._work(run, step_id, attempt, event.timestamp, reaction)

        self._advance(reaction, run_id, work, event.originator_version)

    @reacts_to(Run.StepFailed)
    def when_step_failed_schedule_retry(self, event: Any, reaction: Reaction) -> None:
        """A failed attempt with attempts left is retried after a backoff (base x 2^(n-1))."""
        if not event.retrying:
            return
        run = self._run(event.originator_id, event.originator_version)
        step = run.step(event.step_id)
        delay = float(step.get("retry_backoff_seconds", 5.0)) * 2 ** (event.attempt - 1)
        start = StepStart(run, step, {}, event.attempt + 1, event.timestamp, reaction)
        start.timer("retry", event.timestamp + timedelta(seconds=delay))

    @reacts_to(Task.StatusChanged)
    def when_task_completed_finish_its_step(self, event: Any, reaction: Reaction) -> None:
        """A task a waiting step created is completed: the step succeeded."""
        if event.to_status != "completed":
            return
        link = self._link(event.originator_id)
        if link is not None:
            result = {"task_id": str(event.originator_id), "status": "completed"}
            self._advance(
                reaction, link.run_id, lambda r: r.succeed_step(link.step_id, link.attempt, result)
            )

    @reacts_to(Task.Deleted)
    def when_task_deleted_fail_its_step(self, event: Any, reaction: Reaction) -> None:
        """A task a waiting step created was deleted: the step failed."""
        link = self._link(event.originator_id)
        if link is not None:
            error = f"the task was deleted{': ' + event.reason if event.reason else ''}"
            self._advance(
                reaction, link.run_id, lambda r: r.fail_step(link.step_id, link.attempt, error)
            )

    @reacts_to(Run.Cancelled, Run.Failed)
    def when_run_ended_stop_step_work(self, event: Any, reaction: Reaction) -> None:
        """Tasks of steps that were in flight end with the run (cancelled, saying why)."""
        run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        for step_id in event.cancelled_steps:
            task_id = run.step_state(step_id).get("task_id")
            if task_id:
                self._end_task(reaction.context, UUID(str(task_id)), f"run {run.status}")

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """A delay passed, a step timed out, or a retry is due."""
        p = timer.payload
        run_id, step_id, attempt = UUID(p["run_id"]), UUID(p["step_id"]), int(p["attempt"])
        if p["kind"] == "delay":
            waited = (timer.due_at - datetime.fromisoformat(p["started_at"])).total_seconds()
            result = {"waited_seconds": round(waited, 3)}
            self._advance(reaction, run_id, lambda r: r.succeed_step(step_id, attempt, result))
        elif p["kind"] == "timeout":
            context = CommandContext(
                actor=ACTOR, correlation_id=str(p["correlation_id"]), causation_id=reaction.cause
            )
            self._change(context, run_id, lambda r: r.fail_step(step_id, attempt, TIMED_OUT))
            self._end_timed_out_task(context, run_id, step_id, attempt)
        elif p["kind"] == "retry":
            self._advance(reaction, run_id, lambda r: r.retry_step(step_id, attempt))

    # --- advancing a run: one queued commit per reaction ---------------------------------

    def _advance(
        self, reaction: Reaction, run_id: UUID, change: Change, seen: int | None = None
    ) -> None:
        """Apply ``change`` to the run, do the work of the steps it started that run in the
        commit (``INLINE``), and queue it all as ONE commit that is not waited for here.
        ``seen``: the version of the run event reacted to (the run is at least that recent)."""
        run = self._run(run_id, seen)
        try:
            created, worked = self._decide(run, change, reaction)
        except Exception:
            self._runs.pop(run_id, None)  # changed half-way: load it again next time
            raise
        if not run.pending_events:
            if created:  # a replay of a waiting step: its task exists already
                reaction.submit_once(*created)
            return
        queued = reaction.submit(
            run,
            *created,
            on_conflict=partial(self._redo, reaction, run_id, change),
            context=self._context(reaction, run),
        )
        self._queued[run_id] = queued
        self._runs[run_id] = (run, queued)
        for step in worked:
            self._worked[(run_id, *step)] = queued
        if len(self._runs) > MEMORY or len(self._worked) > MEMORY:
            self._forget()

    def _run(self, run_id: UUID, seen: int | None) -> Run:
        """The run, from memory when the copy there is at least as recent as the event
        reacted to (version ``seen``) and its last change was recorded; else loaded. Newer
        changes by other writers are events this engine reacts to in turn, as after a load."""
        self._settle(run_id)
        kept = self._runs.get(run_id)
        recent = kept is not None and seen is not None and kept[0].version >= seen
        if kept is not None and recent and (kept[1] is None or kept[1].committed):
            return kept[0]
        run: Run = self.ledger.load(Run, run_id, RunNotFound)
        self._runs[run_id] = (run, None)
        return run

    def _decide(
        self, run: Run, change: Change, reaction: Reaction
    ) -> tuple[list[Aggregate], list[tuple[UUID, int]]]:
        """Apply ``change``, then work the ``INLINE`` steps it started, until none is left: what
        the work created, and the steps worked that nothing more waits for."""
        created = list(change(run) or ())
        done: set[tuple[UUID, int]] = set()
        while todo := [
            (e.step_id, e.attempt, e.timestamp)
            for e in run.pending_events
            if isinstance(e, Run.StepStarted)
            and (e.step_id, e.attempt) not in done
            and run.step(e.step_id)["type"] in INLINE
        ]:
            for step_id, attempt, at in todo:
                done.add((step_id, attempt))
                if run.in_state(step_id, attempt, StepStatus.RUNNING):
                    created += self._work(run, step_id, attempt, at, reaction)
        return created, [s for s in done if not run.in_state(*s, *IN_FLIGHT)]

    def _redo(self, reaction: Reaction, run_id: UUID, change: Change) -> None:
        """The queued commit lost a race with another writer of the run: do the reaction again
        on fresh state, one commit at a time (the step's work first, as a replay may find it
        done), like every reaction before they were queued."""
        self._runs.pop(run_id, None)
        timers = {t.key for t in reaction.scheduled}
        for attempt in range(CONFLICT_RETRIES):
            run: Run = self.ledger.load(Run, run_id, RunNotFound)
            created, _ = self._decide(run, change, reaction)
            context = self._context(reaction, run)
            for aggregate in created:
                with contextlib.suppress(ConcurrentChange):
                    self.ledger.commit(context, aggregate)
            try:
                if run.pending_events:
                    self.ledger.commit(context, run)
                break
            except ConcurrentChange:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
        # The runner stored the timers of the first try before this ran: a timer only the
        # second try asks for fails the batch, which is then tried again as a whole.
        if any(t.key not in timers for t in reaction.scheduled):
            raise TimersChanged(run_id)

    def _known(self, run_id: UUID, version: int) -> bool:
        """Whether the copy of the run kept here is at least at ``version`` (or is being
        changed by a commit queued here: the reaction then settles it and loads afresh)."""
        kept = self._runs.get(run_id)
        return kept is not None and (kept[0].version >= version or kept[1] is not None)

    def _settle(self, run_id: UUID) -> None:
        """An earlier reaction of this batch to the same run has its commit done (or redone)
        before the run is loaded again: changes of a run are never queued on top of each other."""
        queued = self._queued.pop(run_id, None)
        if queued is not None:
            queued.settle()

    def _forget(self) -> None:
        """Drop what settled commits left in memory (only ever an optimisation)."""
        self._queued = {k: q for k, q in self._queued.items() if not q.settled}
        self._worked = {k: q for k, q in self._worked.items() if not q.future.done()}
        self._runs = dict(list(self._runs.items())[-MEMORY // 2 :])

    # --- helpers -------------------------------------------------------------------------

    def _work(
        self, run: Run, step_id: UUID, attempt: int, at: datetime, reaction: Reaction
    ) -> list[Aggregate]:
        """Start the step's executor and record its outcome on ``run``; what it created."""
        step = run.step(step_id)
        start = StepStart(run, step, {}, attempt, at, reaction)
        outcome, created = self._execute(start)
        if outcome.status == "waiting" and step.get("timeout_seconds"):
            start.timer("timeout", at + timedelta(seconds=step["timeout_seconds"]))
        self._record(run, step_id, attempt, outcome)
        return created

    def _execute(self, start: StepStart) -> tuple[Outcome, list[Aggregate]]:
        kind = start.step["type"]
        executor = self.step_types.get(kind)
        if executor is None:
            return Outcome(
                "failed", error=f"steps of type {kind} cannot run yet on this server"
            ), []
        scope = {"inputs": start.run.inputs, "steps": start.run.results()}
        try:
            config = render(start.step["config"], scope)
            rendered = StepStart(
                start.run, start.step, config, start.attempt, start.at, start.reaction
            )
            return executor.start(rendered), rendered.created
        except (TemplateError, DomainError, ValueError, KeyError, TypeError) as error:
            return Outcome("failed", error=str(error)), []

    @staticmethod
    def _record(run: Run, step_id: UUID, attempt: int, outcome: Outcome) -> None:
        if outcome.status == "succeeded":
            run.succeed_step(step_id, attempt, outcome.result)
        elif outcome.status == "waiting":
            run.wait_step(step_id, attempt, **outcome.detail)
        else:
            run.fail_step(step_id, attempt, outcome.error)

    def _change(self, context: CommandContext, run_id: UUID, change: Callable[[Run], Any]) -> None:
        self.ledger.change(
            context, lambda: self.ledger.load(Run, run_id, RunNotFound), run_id, None, change
        )

    @staticmethod
    def _context(reaction: Reaction, run: Run) -> CommandContext:
        """The reaction's context with the run's correlation id, like every event the run
        causes (a task's change carried its own request's)."""
        return replace(reaction.context, correlation_id=run.correlation_id)

    def _link(self, task_id: UUID) -> RunTask | None:
        try:
            link: RunTask = self.ledger.load(RunTask, RunTask.id_for(task_id), RunTaskMissing)
        except RunTaskMissing:
            return None
        return link

    def _end_timed_out_task(
        self, context: CommandContext, run_id: UUID, step_id: UUID, attempt: int
    ) -> None:
        """The task of an attempt that timed out is ended (a retry creates a new one)."""
        state = self.ledger.load(Run, run_id, RunNotFound).step_state(step_id)
        timed_out = state["attempt"] == attempt and state.get("error") == TIMED_OUT
        if timed_out and state.get("task_id"):
            self._end_task(context, UUID(str(state["task_id"])), "step timed out")

    def _end_task(self, context: CommandContext, task_id: UUID, reason: str) -> None:
        def end(task: Task) -> None:
            if not task.deleted and task.status not in ("completed", "failed", "cancelled"):
                task.cancel(reason)  # task.cancelled: an agent holding it gets 409 and stops

        # Gone already, or changed by its owner meanwhile: nothing to stop.
        with contextlib.suppress(TaskNotFound, ConcurrentChange):
            self.ledger.change(
                context, lambda: self.ledger.load(Task, task_id, TaskNotFound), task_id, None, end
            )
