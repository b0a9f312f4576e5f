"""Reads waiting for a read model hold no thread, and one principal cannot queue many (issue 11).

The projections do not run here, so every read of a recorded position waits until its bound.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from tests.conftest import make_settings

PASSWORD = "securepass123"


@pytest.fixture
def app(database_url):
    built = build(make_settings(database_url, run_projections=False, read_wait_timeout=120))
    built.start()
    yield create_app(built)
    built.close()


async def signed_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    await client.post("/register", json={"username": username, "password": PASSWORD})
    answer = await client.post("/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": answer.json()["token"]}


async def until_waiting(app, count: int) -> None:
    """Until ``count`` reads are waiting (they start one after another)."""
    for _ in range(600):
        if app.state.consistency.waiting >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {app.state.consistency.waiting} reads started waiting")


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def test_waiting_reads_do_not_hold_the_threads_other_requests_need(app):
    async def scenario() -> None:
        async with client_of(app) as client:
            users = [await signed_in(client, f"waiter{i}") for i in range(6)]
            created = await client.post("/api/v1/tasks", json={"name": "t"}, headers=users[0])
            position = created.json()["position"]
            # 60 reads of a recorded position the stopped read model will not reach: more than
            # the 40 threads of the pool that runs the plain ``def`` routes.
            waiting = [
                asyncio.create_task(
                    client.get(f"/api/v1/tasks?min_position={position}", headers=headers)
                )
                for headers in users
                for _ in range(10)
            ]
            await until_waiting(app, 40)  # every thread of the pool would be held by now
            me = await client.get("/api/v1/auth/me", headers=users[1])  # a thread-pool route
            assert me.status_code == 200
            assert not any(task.done() for task in waiting)
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())


def test_one_principal_may_have_only_so_many_reads_waiting(app):
    async def scenario() -> None:
        async with client_of(app) as client:
            headers = await signed_in(client, "greedy")
            created = await client.post("/api/v1/tasks", json={"name": "t"}, headers=headers)
            url = f"/api/v1/tasks?min_position={created.json()['position']}"
            waiting = [asyncio.create_task(client.get(url, headers=headers)) for _ in range(16)]
            await until_waiting(app, 16)
            refused = await client.get(url, headers=headers)
            assert refused.status_code == 429
            assert refused.json()["code"] == "TOO_MANY_WAITS"
            assert refused.headers["Retry-After"] == "1"
            assert not any(task.done() for task in waiting)
            other = await signed_in(client, "patient")
            health = await client.get("/api/v1/auth/me", headers=other)
            assert health.status_code == 200
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())
