"""X-Forwarded-For is believed only from the proxies the operator lists (issue 11).

uvicorn trusts it from 127.0.0.1 by default, so a client on the same machine (or behind a proxy
that passes the header through) could pick a new address for every login attempt.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Server, server_of_its_own


@pytest.fixture(scope="module")
def strict(pg_server_url, tmp_path_factory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("xff") / "server.log"
    with server_of_its_own(
        pg_server_url, log, LEDGERFLOW_LOGIN_ADDRESS_RATE_LIMIT="3/minute"
    ) as running:
        yield running


def test_a_forged_x_forwarded_for_does_not_escape_the_address_throttle(strict):
    codes = [
        httpx.post(
            f"{strict.base_url}/login",
            json={"username": f"someone{i}", "password": "guess-guess"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
