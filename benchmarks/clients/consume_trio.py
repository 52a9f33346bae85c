"""Consumer loops and the watchdog for Trio clients."""

from __future__ import annotations

from typing import Any

import trio

from .common import POLL, Tally

__all__ = ["drain_batches", "drain_channel", "watchdog"]


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
