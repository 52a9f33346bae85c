"""A live demo that needs no access to Binance: ``python -m trio_binance.demo``.

It starts the fake exchange on 127.0.0.1 with a synthetic market, consumes several
streams through the real client stack (TCP sockets, the WebSocket client, the
connection engine) and keeps a local order book, drops one connection half-way to show
a reconnect and its gap notices, prints a compact live view, and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

import trio

from . import DepthCacheHandle, Gap, Product, StreamHandle, open_binance_streams
from .testing import open_fake_binance


def _fmt(value: Any) -> str:
    return f"{float(value):,.2f}" if value is not None else "-"


class _View:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.last_trade: dict[str, Any] = {}
        self.book: dict[str, Any] = {}
        self.kline: dict[str, Any] = {}
        self.futures: dict[str, Any] = {}
        self.depth = "book -"
        self.events: list[str] = []

    def line(self, now: float) -> str:
        trade, book, kline, fut = self.last_trade, self.book, self.kline.get("k", {}), self.futures
        return (
            f"t={now:4.1f}s  BTCUSDT last {_fmt(trade.get('p'))} (#{trade.get('t', '-')})"
            f"  bid {_fmt(book.get('b'))} / ask {_fmt(book.get('a'))}"
            f"  1m close {_fmt(kline.get('c'))}"
            f"  | {self.depth}"
            f"  | USD-M aggTrade {_fmt(fut.get('p'))}"
            f"  | msgs {sum(self.counts.values()):5d}"
        )


async def _consume(name: str, handle: StreamHandle, view: _View, slot: dict[str, Any]) -> None:
    async with handle:
        async for msg in handle:
            if isinstance(msg, Gap):
                after = f", last id before it {msg.last_id}" if msg.last_id is not None else ""
                view.events.append(
                    f"gap on {msg.stream}: {msg.reason}, {msg.duration:.2f} s{after}"
                )
                continue
            view.counts[name] += 1
            slot.clear()
            slot.update(msg)


async def _watch_book(book: DepthCacheHandle, view: _View) -> None:
    async with book:
        async for cache in book:
            bids, asks = cache.get_bids(), cache.get_asks()
            view.counts["order book"] += 1
            view.depth = (
                f"book {len(bids)}x{len(asks)} levels, spread "
                f"{asks[0][0] - bids[0][0]:.2f}, resyncs {book.resyncs}"
            )


async def run(seconds: float) -> None:
    """Run the demo for ``seconds`` of wall-clock time."""
    async with open_fake_binance(listen=True) as fake:
        fake.start_market(
            ["BTCUSDT", "ETHUSDT"],
            trade_interval=0.05,
            book_ticker_interval=0.1,
            depth_interval=0.25,
        )
        fake.start_market(["BTCUSDT"], Product.USDM, trade_interval=0.1)
        print(f"fake exchange listening on {fake.endpoints.spot_stream} (loopback only)")
        view = _View()
        async with open_binance_streams(endpoints=fake.endpoints, gap_notices=True) as bsm:
            async with trio.open_nursery() as nursery:
                streams = {
                    "trade": (bsm.trade_socket("BTCUSDT"), view.last_trade),
                    "bookTicker": (bsm.symbol_book_ticker_socket("BTCUSDT"), view.book),
                    "kline": (bsm.kline_socket("BTCUSDT", "1m"), view.kline),
                    "futures aggTrade": (bsm.aggtrade_futures_socket("BTCUSDT"), view.futures),
                }
                for name, (handle, slot) in streams.items():
                    nursery.start_soon(_consume, name, handle, view, slot)
                nursery.start_soon(_watch_book, bsm.depth_cache("BTCUSDT", limit=100), view)
                start = trio.current_time()
                dropped = False
                while (now := trio.current_time() - start) < seconds:
                    print(view.line(now), flush=True)
                    for event in view.events:
                        print(f"    {event}")
                    view.events.clear()
                    if not dropped and now >= seconds / 2:
                        dropped = True
                        spot = fake.open_connections(Product.SPOT)
                        print(f"    dropping {len(spot)} spot connection(s) abruptly ...")
                        for spot_conn in spot:
                            spot_conn.drop()
                    await trio.sleep(0.5)
                stats = bsm.connection_stats()
                nursery.cancel_scope.cancel()
        print("\nmessages per stream:", dict(view.counts))
        for conn in stats:
            print(
                f"connection {conn.name}: {conn.streams} streams, {conn.connects} connects, "
                f"{conn.reconnects} reconnects, {conn.bytes:,} bytes"
            )
        print("all sockets closed; every background task ended.")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    args = parser.parse_args(argv)
    trio.run(run, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
