"""The WebSocket over a real server (in-process bus): auth, ping, subscribe, resume, isolation."""

from __future__ import annotations

import threading

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.live_client import (
    events_until,
    next_of,
    open_socket,
    receive,
    register,
    send,
    subscribe,
    ws_url,
)


@pytest.fixture(scope="module", autouse=True)
def admin(server):
    """The first user registered on this module's server, hence its admin."""
    _, headers = register(server.base_url)
    assert httpx.get(f"{server.base_url}/api/v1/auth/me", headers=headers).json()["role"] == "admin"
    return headers


@pytest.fixture
def user(base_url):
    token, headers = register(base_url)
    with httpx.Client(base_url=base_url, headers=headers) as client:
        yield token, client


def closed_code(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            socket.recv(timeout=15)
    return closed.value.rcvd.code


def test_a_socket_without_a_valid_token_is_closed_with_4401(base_url):
    with connect(ws_url(base_url, "/ws", "not-a-token")) as socket:
        assert closed_code(socket) == 4401
    with connect(ws_url(base_url)) as socket:
        send(socket, {"type": "ping"})
        assert closed_code(socket) == 4401


def test_a_deactivated_users_token_is_refused_with_4401(base_url, admin, user):
    token, client = user
    me = client.get("/api/v1/auth/me").json()
    off = httpx.patch(
        f"{base_url}/api/v1/users/{me['user_id']}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200
    with connect(ws_url(base_url, "/ws", token)) as socket:
        assert closed_code(socket) == 4401


def test_behflow_session_socket_authenticates_by_first_message_and_answers_ping(base_url, user):
    token, _ = user
    with connect(ws_url(base_url, "/ws/session-42")) as socket:
        send(socket, {"type": "auth", "token": token})
        hello = receive(socket)
        assert hello["type"] == "authenticated" and hello["session_id"] == "session-42"
        send(socket, {"type": "ping"})
        assert next_of(socket, "pong")["type"] == "pong"


def test_a_subscriber_gets_live_events_of_its_own_tasks_and_never_another_users(base_url, user):
    token, client = user
    _, stranger_headers = register(base_url)
    with open_socket(base_url, token) as socket:
        subscribe(socket, events=["task.*"])
        httpx.post(f"{base_url}/api/v1/tasks", json={"name": "theirs"}, headers=stranger_headers)
        mine = client.post("/api/v1/tasks", json={"name": "mine"}).json()
        client.put(f"/api/v1/tasks/{mine['task_id']}", json={"status": "completed"})
        got = events_until(socket, lambda events: len(events) >= 2)
    assert [e["type"] for e in got] == ["task.created", "task.status_changed"]
    assert {e["aggregate_id"] for e in got} == {mine["task_id"]}


def test_seed_style_subscribe_to_one_event_type_filters_the_others(base_url, user):
    token, client = user
    with open_socket(base_url, token) as socket:
        subscribe(socket, event="task.status_changed")
        task = client.post("/api/v1/tasks", json={"name": "filter"}).json()
        client.put(f"/api/v1/tasks/{task['task_id']}", json={"status": "in_progress"})
        got = events_until(socket, lambda events: len(events) >= 1)
    assert got[0]["type"] == "task.status_changed"
    assert got[0]["data"] == {"from_status": "not_started", "to_status": "in_progress"}


def test_resuming_from_a_position_replays_then_goes_live_with_no_gap_and_no_duplicate(
    base_url, user
):
    token, client = user
    before = [client.post("/api/v1/tasks", json={"name": f"old {i}"}).json() for i in range(30)]
    during: list[dict] = []

    def write_more() -> None:
        with httpx.Client(base_url=base_url, headers=client.headers) as writer:
            for i in range(30):
                during.append(writer.post("/api/v1/tasks", json={"name": f"new {i}"}).json())

    with open_socket(base_url, token) as socket:
        writer = threading.Thread(target=write_more)
        writer.start()
        subscribe(socket, events=["task.created"], from_position=0)
        got = events_until(socket, lambda events: len(events) >= 60)
        writer.join()
        send(socket, {"type": "ping"})
        tail = []
        while (message := receive(socket))["type"] != "pong":
            tail.append(message)
    positions = [e["position"] for e in got]
    assert positions == sorted(set(positions)), "in order, each once"
    assert {e["aggregate_id"] for e in got} == {t["task_id"] for t in before + during}
    assert not [m for m in tail if m["type"] == "event"], "nothing after the 60: no duplicate"


def test_unsubscribe_stops_the_events_of_that_subscription(base_url, user):
    token, client = user
    with open_socket(base_url, token) as socket:
        first = subscribe(socket, events=["task.*"])
        client.post("/api/v1/tasks", json={"name": "one"})
        assert events_until(socket, lambda events: len(events) >= 1)[0]["type"] == "task.created"
        send(socket, {"type": "unsubscribe", "subscription_id": first})
        assert next_of(socket, "unsubscribed")["subscription_id"] == first
        subscribe(socket, events=["task.deleted"])
        task = client.post("/api/v1/tasks", json={"name": "two"}).json()
        client.delete(f"/api/v1/tasks/{task['task_id']}")
        got = events_until(socket, lambda events: len(events) >= 1)
    assert [e["type"] for e in got] == ["task.deleted"]
