"""A minimal webhook receiver for the benchmark: a raw ASGI app on uvicorn, 127.0.0.1 only.

    python -m bench.webhook_receiver PORT

``POST /hook`` answers 204 and notes ``(aggregate_id, arrival time.time())``; ``GET /stats``
returns the notes as JSON and ``POST /reset`` forgets them. No verification: the benchmark measures
Ledgerflow, the e2e tests verify signatures.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn

seen: list[tuple[str, float]] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    arrived = time.time()
    status, out = 204, b""
    if scope["path"] == "/hook":
        seen.append((json.loads(body)["aggregate_id"], arrived))
    elif scope["path"] == "/stats":
        status, out = 200, json.dumps(seen).encode()
    elif scope["path"] == "/reset":
        seen.clear()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
