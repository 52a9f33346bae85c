"""Record several streams to a JSON-lines file, noting every gap.

Each handle is consumed by its own worker task; gaps (reconnects, overflow drops)
arrive in-band and are written as records of their own, so a later reader knows
exactly where data may be missing and which id to backfill from.  (For compressed,
rotating files, use ``trio-binance record``.)

    python examples/recorder.py out.jsonl
    python examples/recorder.py out.jsonl --endpoints fake.json --count 20   # offline
"""

from __future__ import annotations

import argparse

import orjson
import trio

from trio_binance import Endpoints, Gap, StreamHandle, open_binance_streams


async def record(handle: StreamHandle, out: trio.MemorySendChannel[bytes]) -> None:
    async with handle, out:
        while True:
            for msg in await handle.receive_batch():  # one checkpoint per batch
                if isinstance(msg, Gap):
                    line = {"gap": msg.stream, "reason": msg.reason, "after_id": msg.last_id}
                else:
                    line = msg
                await out.send(orjson.dumps(line) + b"\n")


async def main(path: str, endpoints: Endpoints | None, count: int | None) -> None:
    send, receive = trio.open_memory_channel[bytes](10_000)
    async with (
        open_binance_streams(endpoints=endpoints, gap_notices=True) as bsm,
        trio.open_nursery() as nursery,
    ):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            nursery.start_soon(record, bsm.trade_socket(symbol), send.clone())
            nursery.start_soon(record, bsm.symbol_book_ticker_socket(symbol), send.clone())
        send.close()
        written = 0
        async with await trio.open_file(path, "ab") as f:
            async for line in receive:
                await f.write(line)
                written += 1
                if written == count:
                    nursery.cancel_scope.cancel()
                    return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Record trades and book tickers.")
    parser.add_argument("path", nargs="?", default="binance.jsonl")
    parser.add_argument(
        "--endpoints", metavar="FILE", help="endpoints JSON, e.g. of trio-binance fake"
    )
    parser.add_argument("--count", type=int, help="stop after this many lines")
    args = parser.parse_args()
    endpoints = Endpoints.from_file(args.endpoints) if args.endpoints else None
    trio.run(main, args.path, endpoints, args.count)
