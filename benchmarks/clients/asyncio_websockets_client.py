"""The reference: asyncio + websockets (new asyncio implementation) + orjson.

One connection to ``/stream``, one ``SUBSCRIBE`` for every stream; a reader task
decodes each message with orjson and ``await queue.put()``s it into an
``asyncio.Queue(maxsize=100)``; the consumer task drains the queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ..spec import RunSpec
from .common import Tally, main
from .consume_asyncio import END, consume_getter

BUFFER = 100


async def subscribe(ws: ClientConnection, streams: list[str]) -> None:
    await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
    while orjson.loads(await ws.recv()).get("id") != 1:
        pass


async def reader(ws: ClientConnection, queue: asyncio.Queue[Any]) -> None:
    loads = orjson.loads
    put = queue.put
    try:
        async for raw in ws:
            await put(loads(raw))
    except ConnectionClosed:
        pass
    await put(END)


async def _run(spec: RunSpec, tally: Tally) -> None:
    async with connect(f"{spec.url}/stream", max_size=None) as ws:
        await subscribe(ws, spec.streams)
        queue: asyncio.Queue[Any] = asyncio.Queue(BUFFER)
        read = asyncio.ensure_future(reader(ws, queue))
        try:
            await consume_getter(queue.get, spec, tally)
        finally:
            read.cancel()


def run(spec: RunSpec, tally: Tally) -> None:
    asyncio.run(_run(spec, tally))


if __name__ == "__main__":
    main("asyncio+websockets", run)
