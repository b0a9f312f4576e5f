"""002's agent-to-agent messages: send, list by agent and channel, mark read."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.live_client import register


@pytest.fixture(scope="module")
def headers(server) -> dict[str, str]:
    return register(server.base_url)[1]


def test_a_sent_message_is_listed_by_agent_and_channel_and_read_once(headers, base_url):
    planner, coder, reviewer = (str(uuid.uuid4()) for _ in range(3))
    url = f"{base_url}/api/v1/messages"
    body = {
        "sender_agent_id": planner,
        "recipient_agent_id": coder,
        "channel": "build",
        "subject": "Next step",
        "body": "Implement the parser",
    }
    sent = httpx.post(f"{url}/send", json=body, headers=headers)
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert {k: message[k] for k in body} == body and message["read_at"] is None
    other = {**body, "recipient_agent_id": reviewer, "channel": "review", "body": "Look at it"}
    assert httpx.post(f"{url}/send", json=other, headers=headers).status_code == 201

    to_coder = httpx.get(f"{url}/", params={"agent_id": coder}, headers=headers).json()
    assert [m["message_id"] for m in to_coder["messages"]] == [message["message_id"]]
    by_planner = httpx.get(url, params={"agent_id": planner}, headers=headers).json()
    assert by_planner["total"] == 2
    on_review = httpx.get(url, params={"channel": "review"}, headers=headers).json()
    assert [m["body"] for m in on_review["messages"]] == ["Look at it"]

    read = httpx.patch(f"{url}/{message['message_id']}/read", headers=headers)
    assert read.status_code == 200 and read.json()["read_at"]
    again = httpx.patch(f"{url}/{message['message_id']}/read", headers=headers).json()
    assert again["read_at"] == read.json()["read_at"]


def test_another_users_message_is_not_found_and_never_listed(headers, base_url):
    _, stranger = register(base_url)
    url = f"{base_url}/api/v1/messages"
    body = {
        "sender_agent_id": str(uuid.uuid4()),
        "recipient_agent_id": str(uuid.uuid4()),
        "body": "hi",
    }
    mine = httpx.post(f"{url}/send", json=body, headers=headers).json()
    assert httpx.patch(f"{url}/{mine['message_id']}/read", headers=stranger).status_code == 404
    assert httpx.get(url, headers=stranger).json()["total"] == 0
    assert httpx.post(f"{url}/send", json={**body, "body": ""}, headers=headers).status_code == 422
