"""websockets' own Trio client (``websockets.trio``) + orjson, memory-channel consumer.

Same shape as the trio-websocket client: one connection, one ``SUBSCRIBE``, a
reader task feeding ``trio.open_memory_channel(100)``, a consumer with ``async for``.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import ClientConnection, connect

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, Tally, main
from .consume_trio import drain_channel, watchdog

BUFFER = 100


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
    main("websockets.trio", run)
