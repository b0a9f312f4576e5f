"""One version everywhere: pyproject.toml's, through the package metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_health_and_openapi_give_the_version_of_pyproject(base_url):
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert httpx.get(f"{base_url}/health").json()["version"] == version
    assert httpx.get(f"{base_url}/openapi.json").json()["info"]["version"] == version
