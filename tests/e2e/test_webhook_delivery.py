"""Webhook delivery through a real ``ledgerflow serve`` to a real receiver on 127.0.0.1 that
verifies every request with the ``standardwebhooks`` package: events, the test endpoint, the
attempts log, retries to dead, manual retry, recover and secret rotation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Server, own_server
from tests.e2e.test_tasks_api import account
from tests.integration.helpers import wait_for
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def server(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may deliver to 127.0.0.1, retrying fast: three attempts 0.2 s apart."""
    with own_server(
        pg_server_url,
        tmp_path_factory,
        LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        LEDGERFLOW_WEBHOOK_RETRY_SCHEDULE="[0, 0.2, 0.2]",
        LEDGERFLOW_WEBHOOK_RETRY_JITTER="0",
        LEDGERFLOW_WEBHOOK_BREAKER_FAILURES="100",  # the breaker has its own tests
    ) as running:
        yield running


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=account(base_url), timeout=30) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def hook_for(client: httpx.Client, receiver: Receiver, events: list[str] | None = None) -> str:
    answer = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": events or ["task.*"]}
    )
    assert answer.status_code == 201, answer.text
    receiver.secret = answer.json()["secret"]
    return str(answer.json()["webhook_id"])


def deliveries(client: httpx.Client, hook: str, **params: str) -> list[dict]:
    answer = client.get(f"/api/v1/webhooks/{hook}/deliveries", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["deliveries"])


def test_every_event_arrives_signed_and_the_attempts_are_listed(
    client: httpx.Client, receiver: Receiver
) -> None:
    hook = hook_for(client, receiver)
    names = [f"task {n}" for n in range(3)]
    for name in names:
        client.post("/api/v1/tasks", json={"name": name})
    wait_for(lambda: len(receiver.received) >= 3)
    assert not receiver.rejected
    assert sorted(e["data"]["name"] for e in receiver.events()) == names
    # The receiver answers before the dispatcher records the attempt: wait for the records.
    wait_for(lambda: len(deliveries(client, hook, status="succeeded")) >= 3)
    listed = deliveries(client, hook, status="succeeded")
    assert len(listed) == 3
    assert {f"msg_{d['delivery_id']}" for d in listed} == set(receiver.ids())
    attempt = listed[0]["attempt_log"][0]
    assert attempt["status_code"] == 204 and attempt["latency_ms"] > 0
    assert deliveries(client, hook, status="dead") == []


def test_the_test_endpoint_sends_a_test_event(client: httpx.Client, receiver: Receiver) -> None:
    hook = hook_for(client, receiver)
    answer = client.post(f"/api/v1/webhooks/{hook}/test")
    assert answer.status_code == 202
    wait_for(lambda: len(receiver.received) >= 1)
    assert receiver.events()[0]["type"] == "webhook.test"
    assert receiver.ids() == [f"msg_{answer.json()['delivery_id']}"]


def test_a_failing_delivery_goes_dead_and_a_manual_retry_resends_it(
    client: httpx.Client, receiver: Receiver
) -> None:
    hook = hook_for(client, receiver)
    receiver.status = 500
    client.post("/api/v1/tasks", json={"name": "doomed"})
    wait_for(lambda: len(deliveries(client, hook, status="dead")) == 1)
    dead = deliveries(client, hook, status="dead")[0]
    assert [a["status_code"] for a in dead["attempt_log"]] == [500, 500, 500]
    receiver.status = 204
    retried = client.post(f"/api/v1/webhooks/{hook}/deliveries/{dead['delivery_id']}/retry")
    assert retried.status_code == 202
    wait_for(lambda: len(deliveries(client, hook, status="succeeded")) == 1)
    assert set(receiver.ids()) == {f"msg_{dead['delivery_id']}"}  # the same id every time
    assert len(receiver.received) == 4


def test_recover_resends_every_failed_delivery_since_a_time(
    client: httpx.Client, receiver: Receiver
) -> None:
    hook = hook_for(client, receiver)
    since = datetime.now(UTC) - timedelta(seconds=1)
    receiver.status = 503
    for n in range(2):
        client.post("/api/v1/tasks", json={"name": f"lost {n}"})
    wait_for(lambda: len(deliveries(client, hook, status="dead")) == 2)
    receiver.status = 204
    answer = client.post(f"/api/v1/webhooks/{hook}/recover", params={"since": since.isoformat()})
    assert answer.status_code == 202 and answer.json()["queued"] == 2
    wait_for(lambda: len(deliveries(client, hook, status="succeeded")) == 2)


def test_after_a_rotation_both_the_old_and_the_new_secret_verify(
    client: httpx.Client, receiver: Receiver
) -> None:
    hook = hook_for(client, receiver)
    old = receiver.secret
    rotated = client.post(f"/api/v1/webhooks/{hook}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    client.post("/api/v1/tasks", json={"name": "after rotation"})
    wait_for(lambda: len(receiver.received) >= 1)
    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(got.body, got.headers)["data"]["name"] == "after rotation"


def test_another_users_webhook_deliveries_are_not_found(
    base_url: str, client: httpx.Client, receiver: Receiver
) -> None:
    hook = hook_for(client, receiver)
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        assert stranger.get(f"/api/v1/webhooks/{hook}/deliveries").status_code == 404
        assert stranger.post(f"/api/v1/webhooks/{hook}/test").status_code == 404
