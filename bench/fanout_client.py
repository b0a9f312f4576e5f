"""The receiving side of ``bench.fanout``: many WebSocket (or Redis pub/sub) clients in ONE process.

    python -m bench.fanout_client ws URL TOKEN N
    python -m bench.fanout_client redis REDIS_URL CHANNEL N

Each client connects (WebSocket: subscribes to ``task.created`` and waits for ``caught_up``), then
the process prints ``ready``. Every message is timestamped on arrival. When the parent writes
``done <count>`` on stdin the process waits until each client has ``count`` messages (or nothing
arrived for 10 s) and prints one JSON line: the positions each client received, in arrival order,
and the latency of each receipt in ms (arrival minus the sender's timestamp: the event's
``occurred_at`` for WebSocket, the publisher's ``t`` for Redis).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from typing import Any

IDLE = 10.0


class Receipts:
    """What one process's clients received."""

    def __init__(self, clients: int) -> None:
        self.positions: list[list[int]] = [[] for _ in range(clients)]
        self.arrivals: list[list[float]] = [[] for _ in range(clients)]
        self.stamps: dict[int, float] = {}
        self.last_arrival = time.time()

    def record(self, client: int, position: int, sent_at: Any, arrived: float) -> None:
        if position not in self.stamps:  # parse each timestamp once per process, not per client
            self.stamps[position] = epoch(sent_at)
        self.positions[client].append(position)
        self.arrivals[client].append(arrived)
        self.last_arrival = arrived

    def complete(self, count: int) -> bool:
        return all(len(p) >= count for p in self.positions)


def epoch(stamp: Any) -> float:
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


async def websocket_client(
    url: str, token: str, index: int, receipts: Receipts, ready: Any
) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"{url}/ws?token={token}", compression=None, max_queue=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "events": ["task.created"]}))
        while json.loads(await ws.recv())["type"] != "caught_up":
            pass
        ready()
        async for raw in ws:
            arrived = time.time()
            message = json.loads(raw)
            if message["type"] == "event":
                event = message["event"]
                receipts.record(index, event["position"], event["occurred_at"], arrived)


async def redis_client(url: str, channel: str, index: int, receipts: Receipts, ready: Any) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(channel)
        ready()
        async for message in pubsub.listen():
            if message["type"] == "message":
                arrived = time.time()
                body = json.loads(message["data"])
                receipts.record(index, body["n"], body["t"], arrived)


async def main(kind: str, target: str, key: str, clients: int) -> None:
    receipts = Receipts(clients)
    connected = 0
    all_ready = asyncio.Event()

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == clients:
            all_ready.set()

    client = websocket_client if kind == "ws" else redis_client
    tasks = [asyncio.create_task(client(target, key, i, receipts, ready)) for i in range(clients)]
    waiting = asyncio.create_task(all_ready.wait())
    await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done() and task.exception():
            raise RuntimeError(f"a client failed: {task.exception()!r}")
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    count = int(line.split()[1])
    while not receipts.complete(count) and time.time() - receipts.last_arrival < IDLE:
        await asyncio.sleep(0.05)
    result = {"positions": receipts.positions, "arrivals": receipts.arrivals}
    print(json.dumps({**result, "stamps": receipts.stamps}))
    sys.stdout.flush()
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
