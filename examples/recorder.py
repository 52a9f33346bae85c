"""Record several streams to a JSON-lines file, noting every gap (needs Binance).

Each handle is consumed by its own worker task; gaps (reconnects, overflow drops)
arrive in-band and are written as records of their own, so a later reader knows
exactly where data may be missing and which id to backfill from.

    python examples/recorder.py out.jsonl
"""

import sys

import orjson
import trio

from trio_binance import Gap, StreamHandle, open_binance_streams


async def record(handle: StreamHandle, out: trio.MemorySendChannel[bytes]) -> None:
    async with handle, out:
        while True:
            for msg in await handle.receive_batch():  # one checkpoint per batch
                if isinstance(msg, Gap):
                    line = {"gap": msg.stream, "reason": msg.reason, "after_id": msg.last_id}
                else:
                    line = msg
                await out.send(orjson.dumps(line) + b"\n")


async def main(path: str) -> None:
    send, receive = trio.open_memory_channel[bytes](10_000)
    async with open_binance_streams(gap_notices=True) as bsm, trio.open_nursery() as nursery:
        for symbol in ("BTCUSDT", "ETHUSDT"):
            nursery.start_soon(record, bsm.trade_socket(symbol), send.clone())
            nursery.start_soon(record, bsm.symbol_book_ticker_socket(symbol), send.clone())
        send.close()
        async with await trio.open_file(path, "ab") as f:
            async for line in receive:
                await f.write(line)


if __name__ == "__main__":
    trio.run(main, sys.argv[1] if len(sys.argv) > 1 else "binance.jsonl")
