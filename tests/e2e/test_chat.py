"""Behflow's chat example run as written, and a conversation of several turns over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.live_client import next_of, receive, subscribe, ws_url
from tests.e2e.test_behflow_examples import run_example, token_of


@pytest.fixture(scope="module")
def token(server) -> str:
    run_example("register.sh", server.base_url)
    return token_of(server.base_url)


def test_the_chat_example_creates_the_task_review_project_documentation(token, base_url):
    answer = json.loads(run_example("chat.sh", base_url, token))
    assert answer["session_id"] == "abc-123"
    assert answer["response"] == 'Created task "Review project documentation".'
    [task] = answer["tasks"]
    assert (task["name"], task["description"], task["status"], task["priority"]) == (
        "Review project documentation",
        "",
        "not_started",
        "medium",
    )
    headers = {"Authorization": token}
    listed = httpx.get(f"{base_url}/api/v1/tasks", headers=headers).json()["tasks"]
    assert task["task_id"] in [t["task_id"] for t in listed]


def test_a_chat_change_carries_the_chat_request_as_its_correlation_id(token, base_url):
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "chat-correlation-1"}
    body = {"message": "add a task to trace me #audit", "session_id": "trace"}
    answer = httpx.post(f"{base_url}/api/v1/chat", json=body, headers=headers).json()
    task_id = answer["tasks"][0]["task_id"]
    history = httpx.get(f"{base_url}/api/v1/tasks/{task_id}/history", headers=headers).json()
    assert [e["correlation_id"] for e in history["events"]] == ["chat-correlation-1"]
    assert history["events"][0]["data"]["tags"] == ["audit"]


def say(base_url: str, token: str, session: str, message: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    answer = httpx.post(
        f"{base_url}/api/v1/chat", json={"message": message, "session_id": session}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_conversation_of_several_turns_refers_to_earlier_answers(token, base_url):
    session = "multi-turn"
    say(base_url, token, session, "create an urgent task to draft the Q3 report by tomorrow")
    say(base_url, token, session, "add a task called Draft the Q4 report #finance")
    ambiguous = say(base_url, token, session, "start draft the")
    assert "Nothing was changed" in ambiguous["response"]
    assert {t["name"] for t in ambiguous["tasks"]} == {"Draft the Q3 report", "Draft the Q4 report"}
    assert {t["status"] for t in ambiguous["tasks"]} == {"not_started"}

    listing = say(base_url, token, session, "show my urgent tasks")
    assert [t["name"] for t in listing["tasks"]] == ["Draft the Q3 report"]
    done = say(base_url, token, session, "mark #1 as done")
    assert done["tasks"][0]["name"] == "Draft the Q3 report"
    assert done["tasks"][0]["status"] == "completed"

    lowered = say(base_url, token, session, "make Q4 low priority")
    assert lowered["tasks"][0]["priority"] == "low"
    refused = say(base_url, token, session, "delete task Q4")
    assert "exactly" in refused["response"]
    deleted = say(base_url, token, session, "delete task draft the q4 report")
    assert deleted["response"] == 'Deleted task "Draft the Q4 report".'

    headers = {"Authorization": token}
    listed = httpx.get(f"{base_url}/api/v1/tasks", headers=headers).json()["tasks"]
    assert "Draft the Q4 report" not in [t["name"] for t in listed]
    url = f"{base_url}/api/v1/chat/conversations/{session}/messages"
    messages = httpx.get(url, headers=headers).json()
    assert messages["total"] == 16
    assert [m["role"] for m in messages["messages"][:2]] == ["user", "assistant"]
    assert messages["messages"][0]["content"].startswith("create an urgent task")


def test_conversations_are_listed_posted_to_and_deleted(token, base_url):
    headers = {"Authorization": token}
    url = f"{base_url}/api/v1/chat/conversations"
    created = httpx.post(url, json={"title": "Planning"}, headers=headers)
    assert created.status_code == 201
    conversation = created.json()
    again = httpx.post(url, json={"session_id": conversation["session_id"]}, headers=headers)
    assert again.status_code == 409

    posted = httpx.post(
        f"{url}/{conversation['conversation_id']}/messages",
        json={"content": "todo: book the room"},
        headers=headers,
    )
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["session_id"] == conversation["session_id"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert body["tasks"][0]["name"] == "Book the room"

    listed = httpx.get(url, headers=headers).json()
    mine = {c["conversation_id"]: c for c in listed["conversations"]}
    assert mine[conversation["conversation_id"]]["message_count"] == 2
    assert mine[conversation["conversation_id"]]["title"] == "Planning"

    gone = httpx.delete(f"{url}/{conversation['conversation_id']}", headers=headers)
    assert gone.status_code == 204
    missing = httpx.get(f"{url}/{conversation['conversation_id']}/messages", headers=headers)
    assert missing.status_code == 404
    tasks = httpx.get(f"{base_url}/api/v1/tasks", headers=headers).json()["tasks"]
    assert "Book the room" in [t["name"] for t in tasks]


def test_the_chat_needs_a_token_and_a_message(base_url, token):
    assert httpx.post(f"{base_url}/api/v1/chat", json={"message": "help"}).status_code == 401
    empty = httpx.post(
        f"{base_url}/api/v1/chat", json={"message": ""}, headers={"Authorization": token}
    )
    assert empty.status_code == 422


def test_without_a_session_id_a_new_session_is_returned(base_url, token):
    answer = say(base_url, token, None, "help")  # type: ignore[arg-type]
    assert answer["session_id"] and "create a task" in answer["response"]
    assert answer["tasks"] == []


def test_the_session_socket_delivers_that_conversations_messages_live(token, base_url):
    session = "live-session"
    with connect(ws_url(base_url, f"/ws/{session}", token)) as socket:
        hello = receive(socket)
        assert hello["session_id"] == session
        subscribe(socket, events=["conversation.message_posted", "task.created"])
        next_of(socket, "caught_up")
        answer = say(base_url, token, session, "todo: water the ferns")
        got = [next_of(socket, "event")["event"] for _ in range(3)]
    assert [e["type"] for e in got] == [
        "task.created",
        "conversation.message_posted",
        "conversation.message_posted",
    ]
    assert got[0]["aggregate_id"] == answer["tasks"][0]["task_id"]
    assert {e["aggregate_id"] for e in got[1:]} == {hello["conversation_id"]}
    assert [e["data"]["role"] for e in got[1:]] == ["user", "assistant"]


def test_a_reference_with_percent_or_underscore_matches_them_literally(token, base_url):
    session = "wildcards"
    say(base_url, token, session, "todo: ship 100% of v_2")
    say(base_url, token, session, "todo: ship 1000 of vx2")
    done = say(base_url, token, session, "complete 100% of v_2")
    assert [t["name"] for t in done["tasks"]] == ["Ship 100% of v_2"]
    assert done["tasks"][0]["status"] == "completed"
    nothing = say(base_url, token, session, "start 100_")
    assert nothing["tasks"] == [] and "no task" in nothing["response"]
