"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interfaces.bootstrap import Container, build
from tests.conftest import in_background, make_settings
from tests.redis_process import RedisProcess


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    """A Redis server of this test alone: it may stop and restart it."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped(database_url: str) -> Iterator[Container]:
    """A container with its tables but whose followers do NOT run (the test drives them)."""
    built = build(make_settings(database_url))
    built.ensure_read_models()
    yield built
    in_background(built.close)  # before the database goes (database_url's teardown)
