"""Idempotency-Key on a real PostgreSQL: the first answer again, never a second effect, across
two stores (two API processes), refused for another request, forgotten after a 5xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from interfaces.api.idempotency import Idempotency, IdempotencyStore, request_fingerprint
from interfaces.container import conninfo


class Counter:
    """An ASGI app that counts its calls and answers 201, or 500 when told to."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        self.calls += 1
        status = 500 if self.fail else 201
        answer = json.dumps({"call": self.calls, "echo": body.decode()}).encode()
        headers = [(b"content-type", b"application/json"), (b"etag", f'"{self.calls}"'.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def call(app: Any, body: bytes, key: str = "k-1", token: str = "alice") -> dict[str, Any]:
    """One POST through ``app``; its status, headers and JSON body."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/tasks",
        "query_string": b"",
        "headers": [(b"authorization", token.encode()), (b"idempotency-key", key.encode())],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, end = sent[0], sent[-1]
    return {
        "status": start["status"],
        "headers": dict(start["headers"]),
        "json": json.loads(end["body"]),
    }


@pytest.fixture
def pool(database_url: str):
    opened = ConnectionPool(conninfo(database_url), min_size=1, max_size=4, open=True)
    yield opened
    opened.close()


def apps(pool, counter: Counter) -> tuple[Idempotency, Idempotency]:
    """Two middlewares with stores of their own: two API processes."""
    identify = "user:{}".format
    return (
        Idempotency(counter, IdempotencyStore(pool), identify),
        Idempotency(counter, IdempotencyStore(pool), identify),
    )


def test_the_same_key_and_body_answer_the_first_answer_without_running_again(pool):
    counter = Counter()
    first_process, second_process = apps(pool, counter)
    first = call(first_process, b'{"name":"a"}')
    again = call(second_process, b'{"name":"a"}')
    assert counter.calls == 1
    assert (again["status"], again["json"]) == (201, first["json"])
    assert again["headers"][b"etag"] == b'"1"'
    assert again["headers"][b"idempotent-replayed"] == b"true"


def test_the_same_key_with_another_body_is_refused(pool):
    counter = Counter()
    app, _ = apps(pool, counter)
    call(app, b'{"name":"a"}')
    other = call(app, b'{"name":"b"}')
    assert (other["status"], other["json"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert counter.calls == 1


def test_keys_belong_to_a_principal(pool):
    counter = Counter()
    app, _ = apps(pool, counter)
    call(app, b"{}", token="alice")
    bob = call(app, b"{}", token="bob")
    assert bob["json"]["call"] == 2 and counter.calls == 2


def test_a_failed_first_request_is_not_remembered(pool):
    counter = Counter()
    app, _ = apps(pool, counter)
    counter.fail = True
    assert call(app, b"{}")["status"] == 500
    counter.fail = False
    assert call(app, b"{}")["status"] == 201 and counter.calls == 2


def test_a_key_still_running_answers_409(pool):
    store = IdempotencyStore(pool)
    scope = {"method": "POST", "path": "/api/v1/tasks", "query_string": b""}
    assert store.claim("user:alice", "k-9", request_fingerprint(scope, b"")) is None
    app = Idempotency(Counter(), store, "user:{}".format)
    running = call(app, b"", key="k-9")
    assert (running["status"], running["json"]["code"]) == (409, "IDEMPOTENCY_KEY_IN_USE")


def test_an_answer_older_than_24_hours_is_forgotten(pool):
    counter = Counter()
    app, _ = apps(pool, counter)
    call(app, b"{}")
    with pool.connection() as conn:
        conn.execute("UPDATE ledgerflow_idempotency SET created_at = now() - interval '25 hours'")
    assert call(app, b"{}")["json"]["call"] == 2


def test_a_malformed_key_is_a_400(pool):
    app, _ = apps(pool, Counter())
    answer = call(app, b"{}", key="bad key")
    assert (answer["status"], answer["json"]["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")
