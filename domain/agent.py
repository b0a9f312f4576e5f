"""The Agent aggregate: a worker process (or a person with a script) that takes dispatched tasks.

Its id is ``uuid5(owner_id, agent_key)``, so a second registration of the same key by the same
owner collides on version 1 (DevFlow's 409). Liveness (heartbeats) is not stored here: only
status changes are events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, InvalidValue, NotFound
from domain.value import bounded_text

NAME_MAX = 200
TEXT_MAX = 5000
LIST_MAX = 50
PLATFORMS = ("darwin", "linux", "win32")


class AgentStatus(StrEnum):
    """Where an agent stands (CONTRACT 2.5)."""

    IDLE = "idle"
    BUSY = "busy"
    OFFLINE = "offline"
    ERROR = "error"


class AgentNotFound(NotFound):
    """No such agent, or not one the actor may see."""

    kind = "agent"
    code = "AGENT_NOT_FOUND"


class AgentExists(Conflict):
    """The owner already registered an agent with that key."""

    code = "AGENT_EXISTS"

    def __init__(self) -> None:
        super().__init__("Agent with this ID already exists for user")


class AgentStopped(Conflict):
    """A stopped agent gets no commands until it is started again."""

    code = "AGENT_STOPPED"

    def __init__(self) -> None:
        super().__init__("The agent is stopped; start it to receive commands")


def agent_id_for(owner_id: UUID, agent_key: str) -> UUID:
    """The id of the owner's agent registered under ``agent_key``."""
    return uuid5(owner_id, agent_key)


def _names(field: str, values: Iterable[str]) -> list[str]:
    found = [bounded_text(field, v, max_length=NAME_MAX) for v in values]
    if len(found) > LIST_MAX:
        raise InvalidValue(field, f"at most {LIST_MAX} entries")
    return list(dict.fromkeys(found))


def _platform(value: str | None) -> str | None:
    if value is not None and value not in PLATFORMS:
        raise InvalidValue("platform", f"must be one of: {', '.join(PLATFORMS)}")
    return value


def _text(field: str, limit: int) -> Any:
    return lambda v: None if v is None else bounded_text(field, v, max_length=limit, required=False)


PROFILE: dict[str, Any] = {
    "name": lambda v: bounded_text("name", v, max_length=NAME_MAX),
    "agent_version": _text("agent_version", NAME_MAX),
    "platform": _platform,
    "capabilities": lambda v: _names("capabilities", v),
    "description": _text("description", TEXT_MAX),
    "role": _text("role", NAME_MAX),
    "llm_provider": _text("llm_provider", NAME_MAX),
    "llm_model": _text("llm_model", NAME_MAX),
    "system_prompt": _text("system_prompt", TEXT_MAX),
    "enabled_tools": lambda v: _names("enabled_tools", v),
    "worker_id": lambda v: None if v is None else str(v),
}


def checked_profile(values: Mapping[str, Any]) -> dict[str, Any]:
    """The profile fields of ``values``, validated; an unknown field is refused."""
    unknown = set(values) - set(PROFILE)
    if unknown:
        raise InvalidValue(sorted(unknown)[0], "is not a field of an agent")
    return {k: PROFILE[k](v) for k, v in values.items()}


class Agent(Aggregate):
    """A registered agent: its capabilities, status and the generation of its token."""

    TOPIC = "agent"

    class Created(Aggregate.Created):
        TOPIC = "agent.registered"
        owner_id: UUID
        agent_key: str
        profile: dict[str, Any]

    class Updated(Aggregate.Event):
        TOPIC = "agent.updated"
        changes: dict[str, Any]

    class StatusChanged(Aggregate.Event):
        TOPIC = "agent.status_changed"
        from_status: str
        to_status: str
        enabled: bool

    class TokenRotated(Aggregate.Event):
        TOPIC = "agent.token_rotated"
        generation: int  # tokens of older generations stop working; the token itself is not here

    class Deleted(Aggregate.Event):
        TOPIC = "agent.deleted"

    @event(Created)
    def __init__(self, owner_id: UUID, agent_key: str, profile: dict[str, Any]) -> None:
        self.owner_id = owner_id
        self.agent_key = agent_key
        self.name = ""
        self.agent_version: str | None = None
        self.platform: str | None = None
        self.capabilities: list[str] = []
        self.description = self.role = self.llm_provider = self.llm_model = None
        self.system_prompt: str | None = None
        self.enabled_tools: list[str] = []
        self.worker_id: str | None = None
        for key, value in profile.items():
            setattr(self, key, value)
        self.status = AgentStatus.IDLE.value  # registering counts as the first heartbeat
        self.enabled = True
        self.token_generation = 1
        self.deleted = False

    @classmethod
    def register(cls, owner_id: UUID, agent_key: str, profile: Mapping[str, Any]) -> Agent:
        """Check the profile and register an idle, enabled agent."""
        key = bounded_text("agent_key", agent_key, max_length=NAME_MAX)
        checked = checked_profile(profile)
        if "name" not in checked:
            raise InvalidValue("name", "is required")
        return cls(owner_id=owner_id, agent_key=key, profile=checked)

    @staticmethod
    def create_id(owner_id: UUID, agent_key: str, **_: Any) -> UUID:
        """The deterministic id (the library calls this with the creation arguments)."""
        return agent_id_for(owner_id, agent_key)

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` owns this live agent."""
        return self.owner_id == user_id and not self.deleted

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change profile fields; unchanged fields emit nothing."""
        self._ensure_live()
        checked = checked_profile(changes)
        differing = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if "name" in differing and differing["name"] is None:
            raise InvalidValue("name", "must not be empty")
        if differing:
            self._update(changes=differing)

    def set_status(self, status: str, enabled: bool | None = None) -> bool:
        """Move to ``status`` (and ``enabled``); False when nothing changes."""
        self._ensure_live()
        to_status = AgentStatus(status).value
        now_enabled = self.enabled if enabled is None else enabled
        if to_status == self.status and now_enabled == self.enabled:
            return False
        self._change_status(from_status=self.status, to_status=to_status, enabled=now_enabled)
        return True

    def start(self) -> None:
        """Enable the agent: it is idle and gets commands again (002's start)."""
        self.set_status(AgentStatus.IDLE.value, enabled=True)

    def stop(self) -> None:
        """Disable the agent: offline, no commands (002's stop)."""
        self.set_status(AgentStatus.OFFLINE.value, enabled=False)

    def ensure_dispatchable(self) -> None:
        """Refuse polling by a stopped agent."""
        self._ensure_live()
        if not self.enabled:
            raise AgentStopped()

    def rotate_token(self) -> int:
        """Start a new token generation (older tokens stop working); the new generation."""
        self._ensure_live()
        self._rotate(generation=self.token_generation + 1)
        return self.token_generation

    def delete(self) -> None:
        """Soft delete: the agent and its token stop working."""
        self._ensure_live()
        self._delete()

    def _ensure_live(self) -> None:
        if self.deleted:
            raise AgentNotFound(self.id)

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event(StatusChanged)
    def _change_status(self, from_status: str, to_status: str, enabled: bool) -> None:
        self.status = to_status
        self.enabled = enabled

    @event(TokenRotated)
    def _rotate(self, generation: int) -> None:
        self.token_generation = generation

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True
