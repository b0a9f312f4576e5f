"""The process manager of agents' leases and liveness, on durable timers (never a sleep).

- A lease (``task.leased``) gets a timer at its expiry. When it fires: a lease extended since
  (progress) is looked at again at its new expiry; a holder that heartbeats is given a longer
  lease (``task.lease_extended``); otherwise ``task.lease_expired`` puts the task back in the
  queue (the next poller takes it, attempt + 1).
- An agent that comes online (registered, or back from offline) gets a liveness timer. When it
  fires, an agent heard from within ``offline_after`` is looked at again later; a silent one
  becomes ``offline``.
- An agent that goes offline, is stopped or deleted has its leases put back in the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.agent import AgentCommands
from application.dispatch import DispatchCommands
from application.ledger import Ledger
from application.reactor import Reaction, Reactor, Timer, reacts_to
from domain.agent import Agent, AgentNotFound, AgentStatus
from domain.task import Task, TaskNotFound
from domain.worker import Worker, WorkerNotFound


class HeldLeases(Protocol):
    """The read-model query of the tasks an agent holds."""

    def leased_to(self, agent_id: UUID) -> list[UUID]: ...


class AgentLeases(Reactor):
    """Expires leases, notices silent agents and frees the leases of agents that went away."""

    name = "agent-leases"
    needs = ("tasks",)

    def __init__(self, ledger: Ledger, held: HeldLeases) -> None:
        super().__init__(ledger)
        self.held = held

    @property
    def agents(self) -> AgentCommands:
        """The agents' handlers (liveness and the offline threshold live there)."""
        return self.ledger[AgentCommands]

    @reacts_to(Task.Leased)
    def when_task_leased_schedule_expiry(self, event: Any, reaction: Reaction) -> None:
        """Look at the lease when it is due to expire."""
        key = f"lease:{event.originator_id}:{event.originator_version}"
        reaction.schedule(key, event.lease_expires_at, task_id=str(event.originator_id))

    @reacts_to(Agent.Created, Agent.StatusChanged)
    def when_agent_status_changed_watch_liveness(self, event: Any, reaction: Reaction) -> None:
        """Start watching an agent that came online; free the leases of one that went away."""
        agent_id = event.originator_id
        online = getattr(event, "to_status", AgentStatus.IDLE.value) != AgentStatus.OFFLINE.value
        came_online = getattr(event, "from_status", AgentStatus.OFFLINE.value) == "offline"
        if online and came_online:
            since = event.timestamp
            due = since + self.agents.offline_after
            reaction.schedule(f"alive:{agent_id}:{event.originator_version}", due, since=str(since))
        if not online:
            self._release(agent_id, reaction, "agent_offline")

    @reacts_to(Worker.StatusChanged)
    def when_worker_status_changed_watch_liveness(self, event: Any, reaction: Reaction) -> None:
        """A worker that came online is watched like an agent (002's worker.offline)."""
        if event.to_status == "online":
            since = event.timestamp
            due = since + self.agents.offline_after
            key = f"worker:{event.originator_id}:{event.originator_version}"
            reaction.schedule(key, due, since=str(since))

    @reacts_to(Agent.Deleted)
    def when_agent_deleted_release_leases(self, event: Any, reaction: Reaction) -> None:
        """A deleted agent's tasks go back to the queue."""
        self._release(event.originator_id, reaction, "agent_deleted")

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """A lease expiry or a liveness check is due."""
        kind, agent_or_task, _ = timer.key.split(":", 2)
        if kind == "lease":
            self._lease_due(UUID(agent_or_task), timer, reaction)
        elif kind == "alive":
            since = datetime.fromisoformat(timer.payload["since"])
            self._liveness_due(UUID(agent_or_task), since, timer, reaction)
        elif kind == "worker":
            since = datetime.fromisoformat(timer.payload["since"])
            self._worker_due(UUID(agent_or_task), since, timer, reaction)

    def _alive_since(self, agent_id: UUID, since: datetime) -> datetime:
        seen = self.agents.liveness.last_seen(agent_id)
        return max(since, seen) if seen else since

    def _lease_due(self, task_id: UUID, timer: Timer, reaction: Reaction) -> None:
        dispatch = self.ledger[DispatchCommands]
        try:
            task = self.ledger.load(Task, task_id, TaskNotFound)
        except TaskNotFound:
            return
        expires = task.lease_expires_at
        if task.lease_agent_id is None or expires is None:
            return
        now = dispatch.clock()
        holder = UUID(task.lease_agent_id)
        if expires > now:  # extended by progress since: look again then
            reaction.schedule(f"lease:{task_id}:{expires.isoformat()}", expires, **timer.payload)
            return
        seen = self.agents.liveness.last_seen(holder)
        if seen is not None and now - seen < self.agents.offline_after:  # alive: keep working
            written = dispatch.extend_lease(reaction.context, task_id)
            renewed = written.aggregate.lease_expires_at
            assert renewed is not None
            reaction.schedule(f"lease:{task_id}:{renewed.isoformat()}", renewed, **timer.payload)
            return
        dispatch.expire_lease(reaction.context, task_id, "expired")

    def _liveness_due(
        self, agent_id: UUID, since: datetime, timer: Timer, reaction: Reaction
    ) -> None:
        try:
            agent = self.ledger.load(Agent, agent_id, AgentNotFound)
        except AgentNotFound:
            return
        if agent.deleted or agent.status == AgentStatus.OFFLINE.value:
            return  # the watch ends; a new one starts when the agent comes back
        due = self._alive_since(agent_id, since) + self.agents.offline_after
        if due > self.ledger[DispatchCommands].clock():
            reaction.schedule(f"alive:{agent_id}:{due.isoformat()}", due, **timer.payload)
            return
        self.agents.mark_offline(reaction.context, agent_id)

    def _worker_due(
        self, worker_id: UUID, since: datetime, timer: Timer, reaction: Reaction
    ) -> None:
        try:
            worker = self.ledger.load(Worker, worker_id, WorkerNotFound)
        except WorkerNotFound:
            return
        if worker.status != "online":
            return
        due = self._alive_since(worker_id, since) + self.agents.offline_after
        if due > self.ledger[DispatchCommands].clock():
            reaction.schedule(f"worker:{worker_id}:{due.isoformat()}", due, **timer.payload)
            return
        self.ledger.change(
            reaction.context, lambda: worker, worker_id, None, lambda w: w.set_online(False)
        )

    def _release(self, agent_id: UUID, reaction: Reaction, reason: str) -> None:
        dispatch = self.ledger[DispatchCommands]
        for task_id in self.held.leased_to(agent_id):
            dispatch.expire_lease(reaction.context, task_id, reason, agent_id)
