"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_process import RedisProcess


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    """A Redis server of this test alone: it may stop and restart it."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()
