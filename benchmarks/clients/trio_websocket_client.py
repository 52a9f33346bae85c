"""The bare Trio stack: trio-websocket + orjson, consumer fed via a memory channel.

One connection to ``/stream``, one ``SUBSCRIBE`` for every stream; a reader task
decodes each message with orjson and ``await send()``s it into a
``trio.open_memory_channel(100)`` (the same buffer size as trio_binance's default);
the consumer drains it with ``async for``.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, Tally, main
from .consume_trio import drain_channel, watchdog

BUFFER = 100


async def subscribe(ws: WebSocketConnection, streams: list[str]) -> None:
    request = {"method": "SUBSCRIBE", "params": streams, "id": 1}
    await ws.send_message(orjson.dumps(request).decode())
    while orjson.loads(await ws.get_message()).get("id") != 1:
        pass


async def reader(ws: WebSocketConnection, send: trio.MemorySendChannel[Any]) -> None:
    loads = orjson.loads
    async with send:
        try:
            while True:
                await send.send(loads(await ws.get_message()))
        except ConnectionClosed:
            pass


async def _run(spec: RunSpec, tally: Tally) -> None:
    async with open_websocket_url(f"{spec.url}/stream") as ws:
        await subscribe(ws, spec.streams)
        send, receive = trio.open_memory_channel[Any](BUFFER)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, ws, send)
            if spec.mode == "memory":
                tally.begin(0)
                with trio.move_on_after(MEMORY_TIMEOUT):
                    async for _msg in receive:
                        tally.count += 1
                        if tally.count >= tally.expected:
                            break
                tally.finish()
                await trio.sleep(spec.hold)
                tally.snapshot_memory()
            else:
                nursery.start_soon(watchdog, tally, nursery.cancel_scope)
                try:
                    await drain_channel(receive, tally)
                except trio.EndOfChannel:
                    pass  # closed before the first message
            nursery.cancel_scope.cancel()


def run(spec: RunSpec, tally: Tally) -> None:
    trio.run(_run, spec, tally)


if __name__ == "__main__":
    main("trio-websocket", run)
