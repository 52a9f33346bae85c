"""Shared helpers: a client wired to the fake exchange, and a look at live tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from trio_binance import BinanceSocketManager, open_binance_streams
from trio_binance.testing import FakeBinance


@asynccontextmanager
async def client(fake: FakeBinance, **options: Any) -> AsyncIterator[BinanceSocketManager]:
    """``open_binance_streams`` pointed at ``fake``."""
    async with open_binance_streams(
        endpoints=fake.endpoints, transport=fake.transport, **options
    ) as bsm:
        yield bsm


def library_tasks() -> list[str]:
    """Names of live tasks running trio_binance client code (not the fake's)."""
    found: list[str] = []

    def walk(task: trio.lowlevel.Task) -> None:
        code = getattr(task.coro, "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if "trio_binance" in filename and "testing" not in filename:
            found.append(task.name)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return found


async def all_closed(fake: FakeBinance) -> None:
    """Wait until the fake has seen every connection closed."""
    await fake.wait_until(lambda: all(c.closed_at is not None for c in fake.connections))
