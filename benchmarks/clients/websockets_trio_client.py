"""websockets' own Trio client (``websockets.trio``) + orjson, memory-channel consumer.

Same shape as the trio-websocket client: one connection, one ``SUBSCRIBE``, a
reader task feeding ``trio.open_memory_channel(100)``, a consumer with ``async for``.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import ClientConnection, connect

from ..spec import RunSpec
from .common import Tally, main
from .consume_trio import consume_channel


async def subscribe(ws: ClientConnection, streams: list[str]) -> None:
    await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
    while orjson.loads(await ws.recv()).get("id") != 1:
        pass


async def reader(ws: ClientConnection, send: trio.MemorySendChannel[Any]) -> None:
    loads = orjson.loads
    async with send:
        try:
            async for raw in ws:
                await send.send(loads(raw))
        except ConnectionClosed:
            pass


async def _run(spec: RunSpec, tally: Tally) -> None:
    async with connect(f"{spec.url}/stream", max_size=None) as ws:
        await subscribe(ws, spec.streams)
        await consume_channel(functools.partial(reader, ws), spec, tally)


def run(spec: RunSpec, tally: Tally) -> None:
    trio.run(_run, spec, tally)


if __name__ == "__main__":
    main("websockets.trio", run)
