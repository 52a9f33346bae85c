"""The bare Trio stack: trio-websocket + orjson, consumer fed via a memory channel.

One connection to ``/stream``, one ``SUBSCRIBE`` for every stream; a reader task
decodes each message with orjson and ``await send()``s it into a
``trio.open_memory_channel(100)`` (the same buffer size as trio_binance's default);
the consumer drains it with ``async for``.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from ..spec import RunSpec
from .common import Tally, main
from .consume_trio import consume_channel


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
        await consume_channel(functools.partial(reader, ws), spec, tally)


def run(spec: RunSpec, tally: Tally) -> None:
    trio.run(_run, spec, tally)


if __name__ == "__main__":
    main("trio-websocket", run)
