"""The OpenAPI document describes every field and gives every request body an example, and
those examples work when sent as they are, in the order a newcomer tries them in Swagger's
"Try it out" (issue 12, defect 10)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from interfaces.api.agent_out import AgentListOut, AgentOut, AgentRegisteredOut, AgentWrittenOut
from interfaces.api.app import create_app
from interfaces.api.routes.task_stats import TaskStatsOut
from interfaces.bootstrap import build
from tests.conftest import make_settings


@pytest.fixture
def client(database_url):
    built = build(make_settings(database_url))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            yield client
    finally:
        built.close()


def test_every_property_is_described_and_every_body_has_an_example(client):
    schema = client.app.openapi()
    undescribed = [
        f"{name}.{field}"
        for name, model in schema["components"]["schemas"].items()
        for field, spec in model.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undescribed == []
    without_example = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if not media.get("example")
    ]
    assert without_example == []
    token = schema["paths"]["/oauth/token"]["post"]["responses"]["200"]["content"]
    assert token["application/json"]["schema"]["$ref"].endswith("/OAuthTokenOut")
    audit = schema["paths"]["/api/v1/exports/audit"]["get"]["responses"]["200"]["content"]
    assert all(media["schema"]["type"] == "string" for media in audit.values())


class TryItOut:
    """Sends each operation's documented example, as Swagger's "Try it out" does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.schema = client.app.openapi()
        self.headers: dict[str, str] = {}
        self.tried: list[str] = []

    def __call__(self, method: str, path: str, **ids: str) -> dict[str, Any]:
        operation = self.schema["paths"][path][method.lower()]
        content = operation["requestBody"]["content"]
        url = path.format(**ids)
        if "application/json" in content:
            body = content["application/json"]["example"]
            answer = self.client.request(method, url, json=body, headers=self.headers)
        else:
            form = content["application/x-www-form-urlencoded"]["example"]
            answer = self.client.request(method, url, data=form, headers=self.headers)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        self.tried.append(f"{method} {path}")
        return answer.json() if answer.content else {}


def test_the_examples_work_when_sent_as_they_are(client):
    send = TryItOut(client)
    send("POST", "/register")
    send.headers = {"Authorization": f"Bearer {send('POST', '/login')['token']}"}
    send("POST", "/api/v1/auth/login")
    send("POST", "/oauth/token")
    send("PUT", "/api/v1/auth/me")
    send("POST", "/api/v1/api-keys")
    task = send("POST", "/api/v1/tasks")["task_id"]
    send("PATCH", "/api/v1/tasks/{task_id}", task_id=task)
    send("PUT", "/api/v1/tasks/{task_id}", task_id=task)
    send("POST", "/api/v1/tasks/{task_id}/cancel", task_id=task)
    stats = client.get("/api/v1/tasks/stats", headers=send.headers).json()
    assert set(stats) == set(TaskStatsOut.model_fields)  # documented exactly
    TaskStatsOut.model_validate(stats)

    flow = send("POST", "/api/v1/flows")["flow_id"]
    send("PATCH", "/api/v1/flows/{flow_id}", flow_id=flow)
    step = send("POST", "/api/v1/flows/{flow_id}/steps", flow_id=flow)["step_id"]
    send("PATCH", "/api/v1/flows/{flow_id}/steps/{step_id}", flow_id=flow, step_id=step)
    run = send("POST", "/api/v1/flows/{flow_id}/runs", flow_id=flow)["run_id"]
    send("POST", "/api/v1/runs/{run_id}/cancel", run_id=run)
    workflow = send("POST", "/api/v1/workflows")["flow_id"]
    send("POST", "/api/v1/workflows/{id}/steps", id=workflow)
    play_flow = send("POST", "/api/flows")["id"]
    send("PUT", "/api/flows/{id}", id=play_flow)
    send("POST", "/api/flows/{id}/layers", id=play_flow)

    send("POST", "/api/v1/chat")
    conversation = send("POST", "/api/v1/chat/conversations")["conversation_id"]
    send(
        "POST",
        "/api/v1/chat/conversations/{conversation_id}/messages",
        conversation_id=conversation,
    )

    registered = send("POST", "/api/v1/agents")
    agent = registered["agent"]["agent_id"]
    changed = send("PATCH", "/api/v1/agents/{agent_id}", agent_id=agent)
    listed = client.get("/api/v1/agents", headers=send.headers).json()
    for answer, model in [
        (registered, AgentRegisteredOut),
        (registered["agent"], AgentOut),
        (changed, AgentWrittenOut),
        (listed, AgentListOut),
    ]:
        assert set(answer) == set(model.model_fields), model.__name__  # documented exactly
        model.model_validate(answer)
    send("POST", "/api/workflows/execute")
    worker = send("POST", "/api/v1/workers/register")["worker_id"]
    send("PATCH", "/api/v1/admin/workers/{worker_id}/approve", worker_id=worker)

    user = send("POST", "/api/v1/users")["user_id"]
    send("PATCH", "/api/v1/users/{user_id}", user_id=user)
    send("POST", "/api/v1/auth/password")  # last: the example changes the password
    assert len(send.tried) >= 30
