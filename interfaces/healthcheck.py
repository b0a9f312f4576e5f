"""Container health checks that need nothing but Python (no curl in the image).

    python -m interfaces.healthcheck [URL]                  # the API: GET URL answers 200
    python -m interfaces.healthcheck --heartbeat FILE       # the worker: FILE touched lately

Exit status 0 when healthy, 1 otherwise (with one line saying why). Only the standard library
is imported, so a check every few seconds costs little.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000/health"
# The worker touches its heartbeat every few seconds (interfaces/cli/app.py: worker).
HEARTBEAT_MAX_AGE_SECONDS = 30.0


def api_healthy(url: str) -> str | None:
    """None when ``url`` answers 200 within 3 s, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 - a URL we are given
            return None if answer.status == 200 else f"{url} answered {answer.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except OSError as error:
        return f"{url} did not answer: {error}"


def heartbeat_fresh(path: Path, max_age: float = HEARTBEAT_MAX_AGE_SECONDS) -> str | None:
    """None when ``path`` was touched in the last ``max_age`` seconds, else why not."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return f"no heartbeat at {path}"
    return None if age <= max_age else f"last heartbeat {age:.0f} s ago"


def main(argv: list[str]) -> int:
    """Check what the arguments name; return the exit status."""
    if argv[:1] == ["--heartbeat"] and len(argv) == 2:
        problem = heartbeat_fresh(Path(argv[1]))
    elif len(argv) <= 1:
        problem = api_healthy(argv[0] if argv else DEFAULT_URL)
    else:
        problem = "usage: python -m interfaces.healthcheck [URL | --heartbeat FILE]"
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
