"""The Worker aggregate (002): a machine that hosts agents; an admin approves it before use.
Its resource figures (heartbeats) are not events: only approval and status changes are."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import InvalidValue, NotFound
from domain.value import bounded_text

NAME_MAX = 200


class WorkerStatus(StrEnum):
    """Where a worker stands."""

    PENDING_APPROVAL = "pending_approval"
    ONLINE = "online"
    OFFLINE = "offline"
    REJECTED = "rejected"


class WorkerNotFound(NotFound):
    """No such worker, or not one the actor may see."""

    kind = "worker"
    code = "WORKER_NOT_FOUND"


SPEC_TEXT = ("hostname", "ip_address", "os_info")
SPEC_NUMBERS = ("max_agents", "cpu_cores", "memory_total_mb")


def checked_spec(values: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's machine description, validated."""
    spec: dict[str, Any] = {}
    for key in SPEC_TEXT:
        if values.get(key) is not None:
            spec[key] = bounded_text(key, values[key], max_length=NAME_MAX, required=False)
    for key in SPEC_NUMBERS:
        value = values.get(key)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidValue(key, "must be a whole number, 0 or more")
        spec[key] = value
    return spec


class Worker(Aggregate):
    """A registered worker machine, its approval and its online status."""

    TOPIC = "worker"

    class Created(Aggregate.Created):
        TOPIC = "worker.registered"
        owner_id: UUID
        name: str
        spec: dict[str, Any]

    class Approved(Aggregate.Event):
        TOPIC = "worker.approved"
        group: str | None

    class Rejected(Aggregate.Event):
        TOPIC = "worker.rejected"

    class StatusChanged(Aggregate.Event):
        TOPIC = "worker.status_changed"
        from_status: str
        to_status: str

    @event(Created)
    def __init__(self, owner_id: UUID, name: str, spec: dict[str, Any]) -> None:
        self.owner_id = owner_id
        self.name = name
        self.spec = dict(spec)
        self.is_approved = False
        self.group: str | None = None
        self.status = WorkerStatus.PENDING_APPROVAL.value

    @classmethod
    def register(cls, owner_id: UUID, name: str, spec: Mapping[str, Any]) -> Worker:
        """A worker waiting for an admin's approval."""
        checked = bounded_text("name", name, max_length=NAME_MAX)
        return cls(owner_id=owner_id, name=checked, spec=checked_spec(spec))

    def decide(self, approved: bool, group: str | None) -> None:
        """An admin approves (in ``group``) or rejects the worker."""
        if approved:
            self._approve(group=group and bounded_text("group", group, max_length=NAME_MAX))
        elif self.status != WorkerStatus.REJECTED.value:
            self._reject()

    def set_online(self, online: bool) -> bool:
        """An approved worker's heartbeat (or silence); False when nothing changes."""
        wanted = (WorkerStatus.ONLINE if online else WorkerStatus.OFFLINE).value
        if not self.is_approved or self.status == wanted:
            return False
        self._change_status(from_status=self.status, to_status=wanted)
        return True

    @event(Approved)
    def _approve(self, group: str | None) -> None:
        self.is_approved, self.group = True, group
        if self.status in (WorkerStatus.PENDING_APPROVAL.value, WorkerStatus.REJECTED.value):
            self.status = WorkerStatus.OFFLINE.value

    @event(Rejected)
    def _reject(self) -> None:
        self.is_approved = False
        self.status = WorkerStatus.REJECTED.value

    @event(StatusChanged)
    def _change_status(self, from_status: str, to_status: str) -> None:
        self.status = to_status
