"""A trio-websocket client for testing the fake exchange on its own.

Used by the fake's tests, which must not depend on trio_binance's own client.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
import pytest
import trio
from trio_websocket import ConnectionRejected, WebSocketConnection, wrap_client_stream

from trio_binance.testing import FakeBinance

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


@asynccontextmanager
async def connect(
    fake: FakeBinance, path: str, *, queue: int = 10_000
) -> AsyncIterator[WebSocketConnection]:
    """A trio-websocket client connected to ``path`` through the fake's transport."""
    async with trio.open_nursery() as nursery:
        stream = await fake.transport.open_stream("127.0.0.1", 1, tls=False)
        # trio-websocket annotates SocketStream but works on any trio Stream.
        ws = await wrap_client_stream(
            nursery, cast(trio.SocketStream, stream), "127.0.0.1", path, message_queue_size=queue
        )
        try:
            yield ws
        finally:
            await ws.aclose()
            # trio-websocket leaves the stream open after some closes (e.g. its
            # own 1009); a real client would hang up, so hang up.
            await stream.aclose()


async def receive(ws: WebSocketConnection) -> Any:
    return orjson.loads(await ws.get_message())


async def call(ws: WebSocketConnection, request: Any) -> Any:
    """Send a request and return the next message; paced under every rate limit."""
    await trio.sleep(0.25)
    await ws.send_message(orjson.dumps(request).decode())
    return await receive(ws)


async def assert_silent(ws: WebSocketConnection, seconds: float = 30.0) -> None:
    with trio.move_on_after(seconds) as scope:
        message = await ws.get_message()
        pytest.fail(f"expected silence, got {message!r}")
    assert scope.cancelled_caught


async def rejected(fake: FakeBinance, path: str) -> ConnectionRejected:
    """The rejection of a handshake (``wrap_client_stream`` raises it from its reader task)."""
    with pytest.RaisesGroup(ConnectionRejected, flatten_subgroups=True) as info:
        async with connect(fake, path):
            pass
    error = info.value.exceptions[0]
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, ConnectionRejected)
    return error
