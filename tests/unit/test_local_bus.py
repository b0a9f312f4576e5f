"""The in-process bus (``LEDGERFLOW_BUS=local``): a thread publishes, event loops listen."""

from __future__ import annotations

import asyncio
import threading

from interfaces.adapters.bus import LocalBus


def test_every_listener_gets_messages_published_from_another_thread_in_order():
    bus = LocalBus()

    async def listen_and_publish() -> list[list[str | None]]:
        listeners = [bus.listen() for _ in range(2)]
        received: list[list[str | None]] = [[await anext(it)] for it in listeners]
        publisher = threading.Thread(target=bus.publish_many, args=(["a", "b", "c"],))
        publisher.start()
        publisher.join()
        for got, it in zip(received, listeners, strict=True):
            got += [await asyncio.wait_for(anext(it), 5) for _ in range(3)]
            await it.aclose()
        return received

    assert asyncio.run(listen_and_publish()) == [[None, "a", "b", "c"]] * 2
