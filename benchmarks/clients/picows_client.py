"""picows (Cython WebSocket for asyncio) + orjson: a fast-asyncio reference point.

The listener decodes every text frame with orjson in ``on_ws_frame`` and puts it
into an ``asyncio.Queue``; reading is paused while the queue holds 100 messages or
more (the same buffer as the other clients) and resumed below 50.  A consumer task
drains the queue.  Subscribes with one ``SUBSCRIBE`` request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..spec import RunSpec
from .common import Tally, main
from .consume_asyncio import END, consume_getter

HIGH, LOW = 100, 50


class Listener(WSListener):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.subscribed = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None
        self.paused = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            msg = orjson.loads(frame.get_payload_as_memoryview())
            if not self.subscribed.done():
                if msg.get("id") == 1:
                    self.subscribed.set_result(None)
                return
            queue = self.queue
            queue.put_nowait(msg)
            if queue.qsize() >= HIGH and not self.paused:
                self.paused = True
                transport.underlying_transport.pause_reading()
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.queue.put_nowait(END)

    async def get(self) -> Any:
        msg = await self.queue.get()
        if self.paused and self.queue.qsize() < LOW:
            self.paused = False
            assert self.transport is not None
            self.transport.underlying_transport.resume_reading()
        return msg


async def _run(spec: RunSpec, tally: Tally) -> None:
    transport, listener = await ws_connect(Listener, f"{spec.url}/stream")
    assert isinstance(listener, Listener)
    try:
        request = orjson.dumps({"method": "SUBSCRIBE", "params": spec.streams, "id": 1})
        transport.send(WSMsgType.TEXT, request)
        await listener.subscribed
        await consume_getter(listener.get, spec, tally)
    finally:
        transport.disconnect()


def run(spec: RunSpec, tally: Tally) -> None:
    asyncio.run(_run(spec, tally))


if __name__ == "__main__":
    main("picows", run)
