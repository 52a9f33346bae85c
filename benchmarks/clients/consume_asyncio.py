"""Consumer loops and the watchdog for asyncio clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, POLL, Tally

__all__ = ["END", "consume_getter", "drain_getter", "run_with_watchdog", "watchdog"]

END: Any = object()
"""Put by a reader into its queue when the connection ended."""


async def watchdog(tally: Tally, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` once the run is done or has stalled."""
    while True:
        await asyncio.sleep(POLL)
        if tally.idle():
            break
    task.cancel()


async def drain_getter(get: Callable[[], Awaitable[Any]], tally: Tally) -> None:
    """Consume ``await get()`` until ``tally.expected`` messages (or :data:`END`)."""
    first = await get()
    if first is END:
        return
    tally.begin(1)
    expected = tally.expected
    if tally.latency:
        tally.note(first)
        while tally.count < expected:
            msg = await get()
            if msg is END:
                break
            tally.note(msg)
            tally.count += 1
    else:
        while tally.count < expected:
            if await get() is END:
                break
            tally.count += 1
    tally.finish()


async def run_with_watchdog(consumer: Awaitable[None], tally: Tally) -> None:
    """Run ``consumer`` as a task until it returns or the watchdog cancels it."""
    task = asyncio.ensure_future(consumer)
    guard = asyncio.ensure_future(watchdog(tally, task))
    try:
        await task
    except asyncio.CancelledError:
        if not guard.done():
            raise
    finally:
        guard.cancel()


async def consume_getter(get: Callable[[], Awaitable[Any]], spec: RunSpec, tally: Tally) -> None:
    """Run the spec's scenario over ``await get()``: memory (count every stream's
    message, idle, read RSS) or throughput/latency (drain under the watchdog)."""
    if spec.mode != "memory":
        await run_with_watchdog(drain_getter(get, tally), tally)
        return
    tally.begin(0)

    async def count() -> None:
        while tally.count < tally.expected:
            if await get() is END:
                break
            tally.count += 1

    try:
        await asyncio.wait_for(count(), MEMORY_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    tally.finish()
    await asyncio.sleep(spec.hold)
    tally.snapshot_memory()
