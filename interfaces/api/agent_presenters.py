"""DevFlow's shapes of its agent API (003, CONTRACT B.3): the presenters of the agents feature's
aliases (``interfaces/features/agents.py``). The canonical routes read DevFlow's camelCase
bodies themselves (their models accept both spellings); the presenters reshape the answers and
the errors (DevFlow's titles, 400 with ``details``)."""

from __future__ import annotations

from typing import Any

from interfaces.api.agent_view import devflow_agent
from interfaces.api.alias import Exchange, Presenter, Refused
from interfaces.api.presenters import devflow_document, devflow_error
from projections.envelope import camel

# DevFlow's required registration fields (003:L43-46), each with the spellings the model reads.
REGISTRATION = {
    "agentId": ("agentId", "agentKey", "agent_key"),
    "name": ("name",),
    "version": ("version", "agentVersion", "agent_version"),
}


def registration_body(document: Any, _: Exchange) -> Any:
    """DevFlow requires ``agentId``, ``name`` and ``version`` (the canonical route does not)."""
    if isinstance(document, dict):
        missing = [
            name
            for name, spellings in REGISTRATION.items()
            if all(document.get(s) is None for s in spellings)
        ]
        if missing:
            raise Refused(
                [{"type": "missing", "loc": ["body", n], "msg": "required"} for n in missing]
            )
    return document


def registration(answer: Any, _: Exchange) -> Any:
    """``{success, agent, token}`` with DevFlow's agent (003:L25-41)."""
    return {"success": True, "agent": devflow_agent(answer["agent"]), "token": answer["token"]}


def agents(answer: Any, _: Exchange) -> Any:
    """DevFlow's agent list (003:L60-73) with ``limit``, ``offset`` and ``hasMore``."""
    return {
        "agents": [devflow_agent(agent) for agent in answer["agents"]],
        "total": answer["total"],
        "limit": answer["limit"],
        "offset": answer["offset"],
        "hasMore": bool(answer.get("has_more", False)),
    }


def heartbeat(answer: Any, _: Exchange) -> Any:
    """``{success, nextPollInterval}`` in milliseconds (003:L119-122)."""
    return {"success": True, "nextPollInterval": answer["next_poll_interval_ms"]}


def report(answer: Any, _: Exchange) -> Any:
    """A task report's answer in camelCase, without Ledgerflow's ``position`` (003:L155-202)."""
    return {camel(k): v for k, v in answer.items() if k != "position"}


def agent_call_error(status: int, body: dict[str, Any], exchange: Exchange) -> tuple[int, Any]:
    """DevFlow's errors on the agent's own calls: its 401 names the agent token (003:L100)."""
    status, out = devflow_error(status, body, exchange)
    if status == 401:
        out["error"] = "Agent token expired or invalid"
    return status, out


def devflow(answer: Any = None, *, agent_call: bool = False, **more: Any) -> Presenter:
    """A DevFlow presenter: its answer, its error titles, its 400 documented."""
    error = agent_call_error if agent_call else devflow_error
    return Presenter(answer=answer, error=error, document=devflow_document, **more)


REGISTER = devflow(registration, body=registration_body)
LIST = devflow(agents)
COMMANDS = devflow(agent_call=True)
HEARTBEAT = devflow(heartbeat, agent_call=True)
REPORT = devflow(report, agent_call=True)
