"""Idempotency-Key on a real PostgreSQL: the first answer again, never a second effect, across
two stores (two API processes), refused for another request, forgotten after a 5xx, waited for
while it is being recorded, and settled after a crash between the claim and the record."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import JSONTranscoder

from application.context import CommandContext
from interfaces.api.idempotency import Idempotency, IdempotencyStore, request_fingerprint
from interfaces.container import conninfo

EVENTS = "test_events"  # a log of the library's shape: positions and JSON states


class Counter:
    """An ASGI app that counts its calls and answers 201, or 500 when told to; each call
    records an "event" stamped with the request's id, as the command path does."""

    def __init__(self, database_url: str) -> None:
        self.calls = 0
        self.fail = False
        self.database_url = database_url

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        self.calls += 1
        record_event(self.database_url, scope["state"]["request_id"])
        status = 500 if self.fail else 201
        answer = json.dumps({"call": self.calls, "echo": body.decode()}).encode()
        headers = [(b"content-type", b"application/json"), (b"etag", f'"{self.calls}"'.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def record_event(database_url: str, request_id: str) -> None:
    """An event as the library stores one, with the command's metadata."""
    meta = CommandContext.for_user(uuid.uuid4(), request_id).as_metadata()
    state = JSONTranscoder().encode({"name": "x", "meta": meta})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {EVENTS} (state) VALUES (%s)", (state,))


async def call(
    app: Any, body: bytes, key: str = "k-1", token: str = "alice", request_id: str = "r-1"
) -> dict[str, Any]:
    """One POST through ``app``; its status, headers and JSON body."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/tasks",
        "query_string": b"",
        "headers": [(b"authorization", token.encode()), (b"idempotency-key", key.encode())],
        "state": {"request_id": request_id},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, end = sent[0], sent[-1]
    return {
        "status": start["status"],
        "headers": dict(start["headers"]),
        "json": json.loads(end["body"]),
    }


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    info = conninfo(database_url)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {EVENTS} (notification_id bigserial PRIMARY KEY, state bytea)")
    yield info


Scenario = Callable[[Idempotency, Idempotency, Counter], Awaitable[None]]


def run(url: str, scenario: Scenario) -> None:
    """``scenario`` with two middlewares over stores of their own (two API processes)."""

    async def both() -> None:
        counter = Counter(url)
        stores = IdempotencyStore(url, EVENTS), IdempotencyStore(url, EVENTS)
        apps = [Idempotency(counter, store, "user:{}".format) for store in stores]
        try:
            await scenario(apps[0], apps[1], counter)
        finally:
            for store in stores:
                await store.close()

    asyncio.run(both())


def test_the_same_key_and_body_answer_the_first_answer_without_running_again(url):
    async def scenario(first_process: Idempotency, second_process: Idempotency, counter) -> None:
        first = await call(first_process, b'{"name":"a"}')
        again = await call(second_process, b'{"name":"a"}')
        assert counter.calls == 1
        assert (again["status"], again["json"]) == (201, first["json"])
        assert again["headers"][b"etag"] == b'"1"'
        assert again["headers"][b"idempotent-replayed"] == b"true"

    run(url, scenario)


def test_the_same_key_with_another_body_is_refused(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        await call(app, b'{"name":"a"}')
        other = await call(app, b'{"name":"b"}')
        assert (other["status"], other["json"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
        assert counter.calls == 1

    run(url, scenario)


def test_keys_belong_to_a_principal(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        await call(app, b"{}", token="alice")
        bob = await call(app, b"{}", token="bob")
        assert bob["json"]["call"] == 2 and counter.calls == 2

    run(url, scenario)


def test_a_failed_first_request_is_not_remembered(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        counter.fail = True
        assert (await call(app, b"{}"))["status"] == 500
        counter.fail = False
        assert (await call(app, b"{}"))["status"] == 201 and counter.calls == 2

    run(url, scenario)


def test_a_key_still_running_answers_409(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        scope = {"method": "POST", "path": "/api/v1/tasks", "query_string": b""}
        claimed = await app.store.claim("user:alice", "k-9", request_fingerprint(scope, b""), "r")
        assert claimed is None
        running = await call(app, b"", key="k-9")
        assert (running["status"], running["json"]["code"]) == (409, "IDEMPOTENCY_KEY_IN_USE")
        assert counter.calls == 0

    run(url, scenario)


def test_a_retry_sent_while_the_answer_is_being_recorded_gets_the_answer(url, monkeypatch):
    """The answer reaches the client before it is stored: a retry in that moment, in this
    process or another, waits for it rather than answering 409."""
    recorded = asyncio.Event()

    async def scenario(first_process: Idempotency, second_process: Idempotency, counter) -> None:
        store = first_process.store
        keep = store.record

        async def slow_record(*args: Any) -> None:
            await recorded.wait()
            await keep(*args)

        monkeypatch.setattr(store, "record", slow_record)
        first = asyncio.create_task(call(first_process, b"{}"))
        while (
            not first_process.running or first_process.running["user:alice", "k-1"].answer is None
        ):
            await asyncio.sleep(0.001)
        here = await call(first_process, b"{}")
        elsewhere = asyncio.create_task(call(second_process, b"{}"))
        await asyncio.sleep(0.02)
        recorded.set()
        answers = [await first, here, await elsewhere]
        assert [a["json"]["call"] for a in answers] == [1, 1, 1] and counter.calls == 1

    run(url, scenario)


def test_an_answer_older_than_24_hours_is_forgotten(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        await call(app, b"{}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE ledgerflow_idempotency SET created_at = now() - interval '25 hours'"
            )
        assert (await call(app, b"{}"))["json"]["call"] == 2

    run(url, scenario)


def test_a_malformed_key_is_a_400(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        answer = await call(app, b"{}", key="bad key")
        assert (answer["status"], answer["json"]["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")

    run(url, scenario)


def crash_after_the_claim(app: Idempotency, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies once the command has run: its answer is never recorded."""

    async def died(*_: Any) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(app.store, "record", died)
    monkeypatch.setattr(app.store, "release", died)


def abandon(url: str) -> None:
    """Time passes: the unanswered claim is older than any request runs."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE ledgerflow_idempotency SET created_at = now() - interval '2 minutes'")


def test_a_crash_after_the_effect_never_runs_the_command_again(url, monkeypatch):
    async def scenario(crashed: Idempotency, survivor: Idempotency, counter) -> None:
        crash_after_the_claim(crashed, monkeypatch)
        with pytest.raises(SystemExit):
            await call(crashed, b"{}", request_id="first")
        assert (await call(survivor, b"{}"))["json"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        abandon(url)
        retries = [await call(survivor, b"{}", request_id=f"retry-{i}") for i in range(2)]
        assert [r["status"] for r in retries] == [409, 409]
        assert {r["json"]["code"] for r in retries} == {"IDEMPOTENCY_KEY_ANSWER_LOST"}
        assert counter.calls == 1

    run(url, scenario)


def test_a_crash_before_the_effect_lets_a_retry_run_the_command(url, monkeypatch):
    async def scenario(crashed: Idempotency, survivor: Idempotency, counter) -> None:
        async def died_first(*_: Any) -> None:
            raise SystemExit("killed before the command")

        monkeypatch.setattr(crashed, "app", died_first)
        monkeypatch.setattr(crashed.store, "release", died_first)
        with pytest.raises(SystemExit):
            await call(crashed, b"{}", request_id="first")
        abandon(url)
        retried = await call(survivor, b"{}", request_id="retry")
        again = await call(survivor, b"{}", request_id="another")
        assert (retried["status"], counter.calls) == (201, 1)
        assert again["json"] == retried["json"]

    run(url, scenario)


def test_the_store_commits_without_waiting_for_the_wal_flush(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        pool = await app.store._open()
        async with pool.connection() as conn:
            setting = await (await conn.execute("SHOW synchronous_commit")).fetchone()
        assert setting == ("off",)

    run(url, scenario)


def test_the_store_closes_its_connections_when_the_app_shuts_down(url):
    async def scenario(app: Idempotency, _: Idempotency, counter) -> None:
        await call(app, b"{}")
        pool = await app.store._open()
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def lifespan(scope: Any, receive: Any, send: Any) -> None:
            for phase in ("startup", "shutdown"):
                await receive()
                await send({"type": f"lifespan.{phase}.complete"})

        app.app = lifespan

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            pass

        await app({"type": "lifespan"}, receive, send)
        assert pool.closed

    run(url, scenario)


def test_a_store_shut_down_while_still_opening_closes_its_pool(url):
    """Started and stopped at once (a test client, a short-lived process): the pool that was
    still opening is closed too, so no psycopg_pool task outlives the loop (its scheduler
    survives a cancel, and the loop's shutdown would wait for it)."""

    async def scenario() -> None:
        store = IdempotencyStore(url, EVENTS)
        store.warm()
        opening = store._pool
        assert opening is not None and not opening.done()
        await store.close()
        assert opening.result().closed
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.wait_for(asyncio.gather(*others, return_exceptions=True), timeout=10)

    asyncio.run(scenario())
