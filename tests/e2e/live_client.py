"""A small WebSocket client for the live-event tests (the ``websockets`` library, sync API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


def register(base_url: str) -> tuple[str, dict[str, str]]:
    """A new user's token and auth header."""
    username = f"live_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": "correct-horse-9", "name": "A", "lastname": "B"}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    login = httpx.post(
        f"{base_url}/login", json={"username": username, "password": "correct-horse-9"}
    )
    token = login.json()["token"]
    return token, {"Authorization": f"Bearer {token}"}


def ws_url(base_url: str, path: str = "/ws", token: str | None = None) -> str:
    url = base_url.replace("http://", "ws://") + path
    return f"{url}?token={token}" if token else url


@contextmanager
def open_socket(base_url: str, token: str, path: str = "/ws") -> Iterator[ClientConnection]:
    """An authenticated socket (its ``authenticated`` greeting already read)."""
    with connect(ws_url(base_url, path, token)) as socket:
        assert receive(socket)["type"] == "authenticated"
        yield socket


def receive(socket: ClientConnection, timeout: float = 15) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=timeout))


def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    socket.send(json.dumps(message))


def next_of(socket: ClientConnection, kind: str, timeout: float = 15) -> dict[str, Any]:
    """The next message of type ``kind`` (others, such as heartbeats, are skipped)."""
    while True:
        message = receive(socket, timeout)
        if message["type"] == kind:
            return message


def subscribe(socket: ClientConnection, **fields: Any) -> str:
    send(socket, {"type": "subscribe", **fields})
    return next_of(socket, "subscribed")["subscription_id"]


def events_until(socket: ClientConnection, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Event envelopes received until ``done(envelopes)`` is true."""
    got: list[dict[str, Any]] = []
    while not done(got):
        message = receive(socket, timeout)
        if message["type"] == "event":
            got.append(message["event"])
    return got
