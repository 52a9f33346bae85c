"""Consumer loops and the watchdog for Trio clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, POLL, Tally

__all__ = ["consume_channel", "drain_batches", "drain_channel", "watchdog"]


BUFFER = 100
"""The memory channel size of the bare Trio clients (trio_binance's default too)."""


async def watchdog(tally: Tally, scope: trio.CancelScope) -> None:
    """Cancel ``scope`` once the run is done or has stalled."""
    while True:
        await trio.sleep(POLL)
        if tally.idle():
            break
    scope.cancel()


async def drain_channel(channel: trio.abc.ReceiveChannel[Any], tally: Tally) -> None:
    """Consume ``channel`` with ``async for`` until ``tally.expected`` messages."""
    first = await channel.receive()
    tally.begin(1)
    expected = tally.expected
    if tally.latency:
        tally.note(first)
        async for msg in channel:
            tally.note(msg)
            tally.count += 1
            if tally.count >= expected:
                break
    elif tally.count < expected:
        async for _msg in channel:
            tally.count += 1
            if tally.count >= expected:
                break
    tally.finish()


async def drain_batches(handle: Any, tally: Tally) -> None:
    """Consume a trio_binance handle with ``receive_batch()``."""
    first = await handle.receive_batch()
    tally.begin(len(first))
    expected = tally.expected
    receive_batch = handle.receive_batch
    if tally.latency:
        for msg in first:
            tally.note(msg)
        while tally.count < expected:
            batch = await receive_batch()
            for msg in batch:
                tally.note(msg)
            tally.count += len(batch)
    else:
        while tally.count < expected:
            tally.count += len(await receive_batch())
    tally.finish()


async def consume_channel(
    reader: Callable[[trio.MemorySendChannel[Any]], Awaitable[None]], spec: RunSpec, tally: Tally
) -> None:
    """Run ``reader`` as a task feeding a memory channel of :data:`BUFFER`, and the
    spec's scenario over the channel: memory (count every stream's message, idle,
    read RSS) or throughput/latency (drain under the watchdog)."""
    send, receive = trio.open_memory_channel[Any](BUFFER)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader, send)
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
