"""What the canonical agent endpoints answer (``/api/v1/agents``), for the OpenAPI document.

The routes build these answers as mappings (``agent_view.agent_out``); these models describe
them field by field. DevFlow's camelCase answers at ``/api/agents`` are its presenter's.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut

AGENT_ID = "313227ed-7ea1-5b11-bcad-8981ddbe6a02"
WHEN = "2026-12-01T10:00:00Z"


class AgentOut(BaseModel):
    """An agent as its owner (or the agent itself) sees it; never its token."""

    agent_id: UUID = Field(
        description="the agent's id: uuid5 of the owner and the agent key", examples=[AGENT_ID]
    )
    agent_key: str = Field(
        description="the owner's key for it (DevFlow's agentId)", examples=["agent-mac-01"]
    )
    owner_id: UUID = Field(
        description="the user it works for", examples=["5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"]
    )
    status: str = Field(description="idle, busy, offline or error", examples=["idle"])
    enabled: bool = Field(description="false once stopped: it gets no commands", examples=[True])
    name: str = Field(description="its display name", examples=["reviewer-bot"])
    agent_version: str | None = Field(description="its software version", examples=["1.4.2"])
    platform: str | None = Field(description="darwin, linux or win32", examples=["linux"])
    capabilities: list[str] = Field(
        description="the intents it takes tasks for", examples=[["fix-bug", "review-pr"]]
    )
    description: str | None = Field(description="what it does", examples=["Reviews pull requests"])
    role: str | None = Field(description="its role in a team of agents", examples=["reviewer"])
    llm_provider: str | None = Field(
        description="its language-model provider", examples=["anthropic"]
    )
    llm_model: str | None = Field(description="its language model", examples=["claude-sonnet"])
    system_prompt: str | None = Field(
        description="its system prompt, kept for reference", examples=["You review code."]
    )
    enabled_tools: list[str] = Field(description="tools it may use", examples=[["git"]])
    worker_id: str | None = Field(
        description="the worker machine hosting it",
        examples=["9c0d1e2f-3a4b-4c5d-9e6f-8091a2b3c4d5"],
    )
    created_at: CreatedAt
    updated_at: UpdatedAt
    version: int = Field(description="the agent's version; also its ETag", examples=[1])
    last_heartbeat_at: datetime = Field(
        description="its last heartbeat (its registration before the first), ISO 8601 UTC",
        examples=[WHEN],
    )


class AgentWrittenOut(AgentOut):
    """An agent after a command, with the log position that recorded the change."""

    position: int = Field(
        description="pass as X-Ledgerflow-Min-Position to read this write", examples=[42]
    )


class AgentRegisteredOut(BaseModel):
    """A registered agent and its agent token, shown this once."""

    success: bool = Field(description="always true (002's envelope)", examples=[True])
    agent: AgentOut = Field(description="the agent")
    token: str = Field(
        description="the agent token: Authorization: Bearer <token> on the agent endpoints",
        examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJhZ2VudCJ9.c2ln"],
    )
    token_expires_at: datetime = Field(
        description="when the token expires (30 days)", examples=[WHEN]
    )


class AgentListOut(PageOut):
    """A page of the caller's agents."""

    agents: list[AgentOut] = Field(description="the agents of this page")
