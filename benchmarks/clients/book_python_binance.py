"""python-binance's ``DepthCacheManager``: the order-book benchmark's peer.

Pointed at the local server through ``AsyncClient.API_URL`` (REST snapshot) and
``BinanceSocketManager.STREAM_URL`` (the ``<symbol>@depth`` socket).  Its best
documented settings: ``limit`` as the run's, ``refresh_interval=None``, and a
socket queue (``max_queue_size``) large enough that a fast stream never overflows
it.  After every update the top 10 of each side, the documented way:
``get_bids()[:10]`` and ``get_asks()[:10]`` (python-binance has no top-k read).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from binance.async_client import AsyncClient
from binance.ws.depthcache import DepthCacheManager
from binance.ws.streams import BinanceSocketManager

from .book_common import Clock, emit, memory_kb, spec


async def run(config: dict[str, Any]) -> dict[str, Any]:
    host = config["host"]
    BinanceSocketManager.STREAM_URL = f"ws://{host}/"
    baseline = memory_kb()[0]
    client = AsyncClient()
    client.API_URL = f"http://{host}/api"
    bsm = BinanceSocketManager(client, max_queue_size=1_000_000)
    managers = [
        DepthCacheManager(client, symbol, bm=bsm, limit=config["limit"])
        for symbol in config["symbols"]
    ]
    clock = Clock()
    clock.start()  # the cpu run counts everything: the snapshot, subscribing, the updates
    for manager in managers:
        await manager.__aenter__()
    if config["scenario"] == "memory":
        gc.collect()
        return {"books": len(managers), "rss_kb": memory_kb()[0] - baseline}
    [manager] = managers
    sync_cpu = clock.stop()[0]
    last_id = config["last_id"]
    updates = 0
    while True:
        cache = await manager.recv()
        cache.get_bids()[:10]
        cache.get_asks()[:10]
        updates += 1
        if manager._last_update_id >= last_id:
            break
    cpu, wall = clock.stop()
    return {"updates": updates, "cpu_s": cpu, "wall_s": wall, "sync_cpu_s": sync_cpu, "resyncs": 0}


if __name__ == "__main__":
    logging.getLogger("binance").setLevel(logging.CRITICAL)
    emit(asyncio.run(run(spec())))
