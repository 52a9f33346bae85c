"""trio_binance end to end: ``open_binance_streams`` pointed at the local server.

Variants:

* ``iter``: one ``multiplex_socket(streams)`` handle consumed with ``async for``.
* ``batch``: the same handle consumed with ``receive_batch()``.

Runs on today's code, or on the ``trio_binance`` in the directory named by
``BENCH_TRIO_BINANCE`` (another revision's, for :mod:`benchmarks.ab`).

Memory mode: ``iter`` opens one ``trade_socket`` handle per stream, each drained by
its own consumer task (the documented habit); ``batch`` opens one multiplex handle
for all of them, drained with ``receive_batch()``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

if os.environ.get("BENCH_TRIO_BINANCE"):  # another revision's trio_binance (benchmarks.ab)
    # An editable install's import hook would win over sys.path: set it aside.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
    sys.path.insert(0, os.environ["BENCH_TRIO_BINANCE"])

import trio

import trio_binance
from trio_binance import BinanceStreamError, Endpoints, StreamHandle, open_binance_streams

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, START_TIMEOUT, Tally, main
from .consume_trio import drain_batches, drain_channel, watchdog


def _endpoints(url: str) -> Endpoints:
    return dataclasses.replace(Endpoints.production(), spot_stream=url)


def _record(tally: Tally, handle: StreamHandle) -> None:
    stats = handle.stats
    tally.extra.update(dropped=stats.dropped, peak_backlog=stats.peak_backlog, gaps=stats.gaps)
    tally.extra["package"] = os.path.dirname(trio_binance.__file__)  # which revision ran


async def _stream(spec: RunSpec, tally: Tally) -> None:
    async with open_binance_streams(endpoints=_endpoints(spec.url)) as bsm:
        handle = bsm.multiplex_socket(spec.streams)
        with trio.fail_after(START_TIMEOUT):
            await handle.wait_live()
        async with handle, trio.open_nursery() as nursery:
            nursery.start_soon(watchdog, tally, nursery.cancel_scope)
            try:
                if spec.variant == "batch":
                    await drain_batches(handle, tally)
                else:
                    await drain_channel(handle, tally)
            except BinanceStreamError as exc:  # e.g. QueueOverflow: counted as lost
                tally.finish()
                tally.error(f"{type(exc).__name__}: {exc}")
            finally:
                _record(tally, handle)
            nursery.cancel_scope.cancel()


async def _memory_per_stream(spec: RunSpec, tally: Tally) -> None:
    done = trio.Event()

    async def worker(handle: StreamHandle) -> None:
        async with handle:
            async for _msg in handle:
                tally.count += 1
                if tally.count >= tally.expected:
                    done.set()

    async with open_binance_streams(endpoints=_endpoints(spec.url)) as bsm:
        handles = [bsm.trade_socket(name.partition("@")[0]) for name in spec.streams]
        async with trio.open_nursery() as nursery:
            for handle in handles:
                nursery.start_soon(worker, handle)
            tally.begin(0)
            with trio.move_on_after(MEMORY_TIMEOUT):
                await done.wait()
            tally.finish()
            await trio.sleep(spec.hold)
            tally.snapshot_memory()
            nursery.cancel_scope.cancel()


async def _memory_multiplex(spec: RunSpec, tally: Tally) -> None:
    async with open_binance_streams(endpoints=_endpoints(spec.url)) as bsm:
        handle: Any = bsm.multiplex_socket(spec.streams)
        async with handle:
            tally.begin(0)
            with trio.move_on_after(MEMORY_TIMEOUT):
                while tally.count < tally.expected:
                    tally.count += len(await handle.receive_batch())
            tally.finish()
            await trio.sleep(spec.hold)
            tally.snapshot_memory()


def run(spec: RunSpec, tally: Tally) -> None:
    if spec.mode == "memory":
        trio.run(_memory_multiplex if spec.variant == "batch" else _memory_per_stream, spec, tally)
    else:
        trio.run(_stream, spec, tally)


if __name__ == "__main__":
    main("trio_binance", run)
