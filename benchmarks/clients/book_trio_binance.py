"""trio_binance's ``bsm.depth_cache()``: the order-book benchmark's client.

Runs on today's code, or on an older revision's ``trio_binance`` from the directory
in ``BENCH_TRIO_BINANCE`` (the suite's "before"): an old ``DepthCache`` reads the
top 10 with ``get_bids(10)``, and an old book's stream dropped events past
``max_queue_size`` (then resynced), so the old one gets a buffer that holds the
whole run (its best setting here).

* ``cpu``: one book; after every update, the top 10 of each side.  The process's
  CPU from before subscribing to the last update (the snapshot included), per update.
* ``memory``: ``len(symbols)`` books synced; RSS over the baseline, per book.
* ``resync``: ``len(symbols)`` books synced; ``/bench/drop`` closes the connection
  and skips 10 ids; seconds until every book is in sync again.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from typing import Any

if os.environ.get("BENCH_TRIO_BINANCE"):  # another revision's trio_binance, first
    # An editable install's import hook would win over sys.path: set it aside.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
    sys.path.insert(0, os.environ["BENCH_TRIO_BINANCE"])

import httpx
import trio

from trio_binance import DepthCache, Endpoints, open_binance_streams

from .book_common import Clock, emit, memory_kb, spec

NEW_API = hasattr(DepthCache, "bids")


def top10(cache: Any) -> Any:
    if NEW_API:
        return cache.bids(10), cache.asks(10)
    return cache.get_bids(10), cache.get_asks(10)


async def run(config: dict[str, Any]) -> dict[str, Any]:
    host = config["host"]
    endpoints = dataclasses.replace(
        Endpoints.production(), spot_stream=f"ws://{host}", spot_rest=f"http://{host}"
    )
    baseline = memory_kb()[0]
    options: dict[str, Any] = {"limit": config["limit"]}
    if not NEW_API:
        options["max_queue_size"] = 1_000_000
    clock = Clock()
    clock.start()  # the cpu run counts everything: subscribing, the snapshot, the updates
    async with open_binance_streams(endpoints=endpoints) as bsm:
        books = [bsm.depth_cache(symbol, **options) for symbol in config["symbols"]]
        async with trio.open_nursery() as nursery:
            for book in books:
                nursery.start_soon(book.wait_synced)
        if config["scenario"] == "cpu":
            [book] = books
            last_id = config["last_id"]
            cache = await book.receive()  # the synced book
            synced_at = clock.stop()
            ahead = book.stream.stats.messages  # received (decoded) before this point
            updates = 0
            while cache.update_id < last_id:
                cache = await book.receive()
                top10(cache)
                updates += 1
            cpu, wall = clock.stop()
            return {
                "updates": updates,
                "cpu_s": cpu,
                "wall_s": wall,
                "sync_cpu_s": synced_at[0],
                "ahead": ahead,
                "resyncs": book.resyncs,
            }
        if config["scenario"] == "memory":
            gc.collect()
            rss = memory_kb()[0]
            return {"books": len(books), "rss_kb": rss - baseline}
        # resync
        before = trio.current_time()
        async with httpx.AsyncClient() as http:
            await http.get(f"http://{host}/bench/drop")
        dropped = trio.current_time()
        pending = set(range(len(books)))

        async def watch(index: int) -> None:
            book = books[index]
            while book.resyncs == 0 or book.cache is None:
                await book.receive()
            pending.discard(index)

        async with trio.open_nursery() as nursery:
            for index in range(len(books)):
                nursery.start_soon(watch, index)
        return {
            "books": len(books),
            "seconds": trio.current_time() - dropped,
            "drop_request_s": dropped - before,
            "left": len(pending),
        }


if __name__ == "__main__":
    emit(trio.run(run, spec()))
