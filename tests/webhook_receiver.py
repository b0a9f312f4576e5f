"""A real webhook receiver on 127.0.0.1 that verifies every delivery with ``standardwebhooks``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.e2e.conftest import free_port


@dataclass
class Received:
    """One verified delivery."""

    webhook_id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    body: bytes = b""
    at: float = field(default_factory=time.monotonic)


class Receiver:
    """Answers ``status`` (or what ``answer`` decides) and keeps what verified; can go down and
    come back on the same port."""

    def __init__(self, secret: str = "", port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.status = 204
        self.answer: Callable[[Received], tuple[int, dict[str, str]]] | None = None
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                code, extra = receiver._take(dict(self.headers.items()), body)
                self.send_response(code)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _take(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            payload = Webhook(self.secret).verify(body, lowered)
        except WebhookVerificationError as error:
            with self._lock:
                self.rejected.append(str(error))
            return 400, {}
        got = Received(lowered["webhook-id"], payload, lowered, body)
        with self._lock:
            self.received.append(got)
        if self.answer is not None:
            return self.answer(got)
        return self.status, {}

    def ids(self) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.received]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.payload for r in self.received]
