"""A WebSocket checks its credentials on every subscribe, ends with its token, and is bounded.

The projections do not run here: nothing but the socket's own checks can close it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from application.context import CommandContext
from application.sessions import SessionCommands
from interfaces.api.app import create_app
from interfaces.bootstrap import build
from tests.conftest import make_settings

PASSWORD = "securepass123"


@pytest.fixture
def setup(database_url):
    built = build(make_settings(database_url, run_projections=False, max_body_bytes=2048))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            client.post("/register", json={"username": "johndoe", "password": PASSWORD})
            login = client.post("/login", json={"username": "johndoe", "password": PASSWORD})
            yield built, client, login.json()["token"]
    finally:
        built.close()


def claims_of(built, token):
    return built.tokens.verify_claims(token)


def messages_until_closed(socket) -> tuple[list[dict], int]:
    got = []
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            got.append(json.loads(socket.receive_text()))
    return got, closed.value.code


def test_a_subscribe_after_the_session_ended_closes_the_socket_with_4401(setup):
    built, client, token = setup
    claims = claims_of(built, token)
    with client.websocket_connect(f"/ws?token={token}") as socket:
        assert json.loads(socket.receive_text())["type"] == "authenticated"
        socket.send_text(json.dumps({"type": "subscribe", "events": ["task.*"]}))
        assert json.loads(socket.receive_text())["type"] == "subscribed"
        context = CommandContext.for_user(claims.user_id, "test")
        built.ledger[SessionCommands].end_session(context, claims.user_id, claims.session_id)
        socket.send_text(json.dumps({"type": "subscribe", "events": ["*"], "from_position": 0}))
        got, code = messages_until_closed(socket)
    assert code == 4401
    assert not [m for m in got if m["type"] in ("subscribed", "event")]


def test_a_socket_is_closed_when_its_access_token_expires(setup):
    built, client, token = setup
    claims = claims_of(built, token)
    ttl = timedelta(seconds=built.tokens.ttl_seconds)
    soon = built.tokens.issue(
        claims.user_id,
        now=datetime.now(UTC) - ttl + timedelta(seconds=2),
        session_id=claims.session_id,
    )
    with client.websocket_connect(f"/ws?token={soon}") as socket:
        assert json.loads(socket.receive_text())["type"] == "authenticated"
        _, code = messages_until_closed(socket)
    assert code == 4401


def test_a_message_over_the_body_limit_closes_the_socket_with_1009(setup):
    _, client, token = setup
    with client.websocket_connect(f"/ws?token={token}") as socket:
        socket.receive_text()
        socket.send_text(json.dumps({"type": "ping", "padding": "x" * 3000}))
        _, code = messages_until_closed(socket)
    assert code == 1009


@pytest.mark.parametrize(
    "subscribe",
    [
        {"events": ["*" * 20 + "Z" * 90]},
        {"events": [f"t{i}.*" for i in range(51)]},
        {"events": ["task.\u0000"]},
        {"events": [{"nested": 1}]},
        {"events": ["task.*"], "from_position": True},
        {"events": ["task.*"], "from_position": 10**9},
    ],
)
def test_a_bad_subscription_is_refused_and_the_socket_stays_open(setup, subscribe):
    _, client, token = setup
    with client.websocket_connect(f"/ws?token={token}") as socket:
        socket.receive_text()
        socket.send_text(json.dumps({"type": "subscribe", **subscribe}))
        answer = json.loads(socket.receive_text())
        assert answer["type"] == "error" and answer["code"] == "BAD_MESSAGE"
        socket.send_text(json.dumps({"type": "ping"}))
        assert json.loads(socket.receive_text())["type"] == "pong"


def test_a_socket_may_hold_only_so_many_subscriptions(setup):
    _, client, token = setup
    with client.websocket_connect(f"/ws?token={token}") as socket:
        socket.receive_text()
        answers = []
        for i in range(51):
            socket.send_text(json.dumps({"type": "subscribe", "events": [f"t{i}.*"]}))
            answer = json.loads(socket.receive_text())
            while answer["type"] == "caught_up":
                answer = json.loads(socket.receive_text())
            answers.append(answer["type"])
    assert answers == ["subscribed"] * 50 + ["error"]


@pytest.fixture
def strict_auth(database_url):
    """A first message must come within 0.3 s and hold at most 512 bytes."""
    settings = make_settings(
        database_url, run_projections=False, ws_auth_timeout_seconds=0.3, ws_auth_max_bytes=512
    )
    built = build(settings)
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            client.post("/register", json={"username": "johndoe", "password": PASSWORD})
            login = client.post("/login", json={"username": "johndoe", "password": PASSWORD})
            yield client, login.json()["token"]
    finally:
        built.close()


def test_an_auth_message_within_the_limit_authenticates_the_socket(strict_auth):
    client, token = strict_auth
    with client.websocket_connect("/ws") as socket:
        socket.send_text(json.dumps({"type": "auth", "token": token}))
        assert json.loads(socket.receive_text())["type"] == "authenticated"


def test_an_auth_message_over_its_small_limit_closes_the_socket_with_1009(strict_auth):
    client, token = strict_auth
    with client.websocket_connect("/ws") as socket:
        socket.send_text(json.dumps({"type": "auth", "token": token, "padding": "x" * 600}))
        got, code = messages_until_closed(socket)
    assert code == 1009 and got == []  # a valid token does not make it acceptable


def test_a_socket_without_a_first_message_by_the_deadline_is_closed_with_4408(strict_auth):
    client, _ = strict_auth
    with client.websocket_connect("/ws") as socket:
        got, code = messages_until_closed(socket)
    assert code == 4408 and got == []


@pytest.mark.parametrize(
    "first", ['{"type": "ping"}', "not json", '["auth"]', '{"type": "auth", "token": "nope"}']
)
def test_a_first_message_that_is_not_a_valid_auth_closes_the_socket_with_4401(strict_auth, first):
    client, _ = strict_auth
    with client.websocket_connect("/ws") as socket:
        socket.send_text(first)
        got, code = messages_until_closed(socket)
    assert code == 4401 and got == []
