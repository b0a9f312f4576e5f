"""Worker commands (002): register, an admin's approval, heartbeats with resource figures (kept
in the liveness store, not in events; only online/offline changes are events)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.agent import AgentCommands
from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from domain.worker import Worker, WorkerNotFound


class WorkerCommands(Handlers):
    """The handlers of 002's workers."""

    def register_worker(
        self, context: CommandContext, owner_id: UUID, name: str, spec: Mapping[str, Any]
    ) -> Written[Worker]:
        """Register a worker; it waits for an admin's approval."""
        worker = Worker.register(owner_id, name, spec)
        return Written(worker, self._commit(context, worker))

    def get_worker(self, owner_id: UUID | None, worker_id: UUID) -> Worker:
        """A worker of ``owner_id`` (any worker when None: an admin)."""
        worker = self._load(Worker, worker_id, WorkerNotFound)
        if owner_id is not None and worker.owner_id != owner_id:
            raise WorkerNotFound(worker_id)
        return worker

    def decide(
        self, context: CommandContext, worker_id: UUID, approved: bool, group: str | None
    ) -> Written[Worker]:
        """An admin approves or rejects a worker."""
        return self._change(
            context,
            lambda: self.get_worker(None, worker_id),
            worker_id,
            None,
            lambda w: w.decide(approved, group),
        )

    def heartbeat(
        self, context: CommandContext, owner_id: UUID, worker_id: UUID, figures: dict[str, Any]
    ) -> Worker:
        """Remember the figures; an approved worker that was offline comes online (an event)."""
        worker = self.get_worker(owner_id, worker_id)
        self.ledger[AgentCommands].liveness.beat(worker_id, datetime.now(UTC), figures)
        if worker.is_approved and worker.status != "online":
            loader = lambda: self.get_worker(owner_id, worker_id)  # noqa: E731
            return self._change(
                context, loader, worker_id, None, lambda w: w.set_online(True)
            ).aggregate
        return worker
