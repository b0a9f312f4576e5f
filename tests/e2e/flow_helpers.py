"""Helpers of the flow and run end-to-end tests: an account, a run followed to its end, and a
plain HTTP receiver for ``http`` steps."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.e2e.conftest import free_port

FINISHED = {"succeeded", "failed", "cancelled"}


def account(base_url: str) -> dict[str, str]:
    """A new user's auth header."""
    username = f"user_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": "correct-horse-9", "name": "A", "lastname": "B"}
    assert httpx.post(f"{base_url}/register", json=body, timeout=60).status_code == 200
    token = httpx.post(
        f"{base_url}/login", json={"username": username, "password": "correct-horse-9"}, timeout=60
    )
    return {"Authorization": f"Bearer {token.json()['token']}"}


def until(client: httpx.Client, run_id: str, done: Callable[[dict[str, Any]], bool]) -> dict:
    """Poll a run until ``done`` says so (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        if done(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run did not get there: {run}")
        time.sleep(0.05)


def finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    """The run once it succeeded, failed or was cancelled."""
    return until(client, run_id, lambda run: run["status"] in FINISHED)


def steps_of(run: dict[str, Any]) -> dict[str, str]:
    """Each step's status by key."""
    return {step["key"]: step["status"] for step in run["steps"]}


class Receiver:
    """An HTTP server on 127.0.0.1 answering the statuses it is given, in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                statuses = receiver.statuses
                code = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                answer = json.dumps({"received": True}).encode()
                self.send_response(code)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
