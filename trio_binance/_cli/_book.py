"""``trio-binance book``: a live order book, or JSON snapshots of it."""

from __future__ import annotations

import collections
import decimal
from typing import Any

import click
import trio
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._depth_cache import DepthCacheHandle
from .._endpoints import Endpoints, Product
from .._enums import FuturesType
from .._manager import BinanceSocketManager, open_binance_streams
from .._order_book import DepthCache
from .._streams import normalize_symbol
from .._transport import Transport
from ._common import (
    MARKETS,
    CliError,
    Output,
    connection_options,
    market_option,
    resolve_endpoints,
    run_until_signal,
)

__all__ = ["book", "book_snapshot", "open_book", "render_book", "show_book", "watch_book"]

#: Snapshot levels fetched per product: the smallest every product accepts above 50.
_LIMIT = 100
_REFRESH = 0.1  # seconds between two renders of the live view


def open_book(
    bsm: BinanceSocketManager, product: Product, symbol: str
) -> DepthCacheHandle[decimal.Decimal]:
    """The product's depth cache of ``symbol``, with exact (Decimal) prices."""
    conv = decimal.Decimal
    if product is Product.SPOT:
        return bsm.depth_cache(symbol, limit=_LIMIT, ws_interval=100, conv_type=conv)
    if product is Product.OPTIONS:
        return bsm.options_depth_cache(symbol, limit=_LIMIT, conv_type=conv)
    futures_type = FuturesType.USD_M if product is Product.USDM else FuturesType.COIN_M
    return bsm.futures_depth_cache(symbol, limit=_LIMIT, futures_type=futures_type, conv_type=conv)


def _levels(levels: Any) -> list[list[str]]:
    # Levels may be tuples or lists, prices Decimal or float: [[str, str], ...] either way.
    return [[str(price), str(qty)] for price, qty in levels]


def book_snapshot(cache: DepthCache[Any], depth: int) -> dict[str, Any]:
    """``{"symbol", "update_id", "bids": [[p, q], ...], "asks": [...]}``, prices as text."""
    return {
        "symbol": cache.symbol,
        "update_id": cache.update_id,
        "bids": _levels(cache.bids(depth)),
        "asks": _levels(cache.asks(depth)),
    }


def render_book(
    cache: DepthCache[Any],
    *,
    depth: int,
    market: str,
    updates_per_second: float,
    resyncs: int,
) -> RenderableType:
    """The live view: a header line, then bids and asks side by side, best first."""
    bids, asks = cache.bids(depth), cache.asks(depth)
    best_bid, best_ask = cache.best_bid(), cache.best_ask()
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"{cache.symbol} ", style="bold")
    head.append(f"{market}  update {cache.update_id}  ")
    if best_bid is not None and best_ask is not None:
        spread = best_ask[0] - best_bid[0]
        mid = (best_ask[0] + best_bid[0]) / 2
        bps = float(spread) / float(mid) * 10_000 if mid else 0.0
        head.append(f"spread {spread} ({bps:.1f} bps)  ")
    else:
        head.append("spread -  ")
    head.append(f"{updates_per_second:,.1f} upd/s  ")
    head.append(f"resyncs {resyncs}", style="bold yellow" if resyncs else "")
    table = Table(box=None, pad_edge=False, expand=False, show_edge=False)
    table.add_column("bid qty", justify="right")
    table.add_column("bid", justify="right", style="green")
    table.add_column("ask", justify="right", style="red")
    table.add_column("ask qty", justify="right")
    for i in range(max(len(bids), len(asks))):
        bid = bids[i] if i < len(bids) else ("", "")
        ask = asks[i] if i < len(asks) else ("", "")
        table.add_row(str(bid[1]), str(bid[0]), str(ask[0]), str(ask[1]))
    return Group(head, table)


async def watch_book(
    product: Product,
    symbol: str,
    *,
    endpoints: Endpoints,
    transport: Transport | None = None,
    depth: int,
    output: Output,
    count: int | None,
) -> None:
    """Write JSON snapshots of the book to ``output``, one per update, ``count`` of them."""
    async with (
        open_binance_streams(endpoints=endpoints, transport=transport) as bsm,
        open_book(bsm, product, symbol) as handle,
    ):
        written = 0
        async for cache in handle:
            output.write([Output.line(book_snapshot(cache, depth))])
            written += 1
            if written == count or output.closed:
                return


async def show_book(
    product: Product,
    symbol: str,
    console: Console,
    *,
    endpoints: Endpoints,
    transport: Transport | None = None,
    depth: int,
    updates: int | None = None,
) -> None:
    """The live view on ``console``, updated in place until cancelled (or ``updates``)."""
    arrivals: collections.deque[float] = collections.deque()
    seen = 0
    async with (
        open_binance_streams(endpoints=endpoints, transport=transport) as bsm,
        open_book(bsm, product, symbol) as handle,
    ):
        with Live(console=console, auto_refresh=False, transient=False) as live:
            next_render = trio.current_time()
            async for cache in handle:
                now = trio.current_time()
                arrivals.append(now)
                while arrivals[0] <= now - 1.0:  # updates in the last second
                    arrivals.popleft()
                seen += 1
                last = updates is not None and seen >= updates
                if now >= next_render or last:
                    view = render_book(
                        cache,
                        depth=depth,
                        market=product.value,
                        updates_per_second=len(arrivals),
                        resyncs=handle.resyncs,
                    )
                    live.update(view, refresh=True)
                    next_render = now + _REFRESH
                if last:
                    return


@click.command()
@market_option
@click.option(
    "--depth",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Levels shown on each side.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON snapshots instead of the view.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --json: exit 0 after N snapshots (default: until SIGINT).",
)
@connection_options
@click.argument("symbol")
def book(
    market: str,
    depth: int,
    as_json: bool,
    count: int | None,
    testnet: bool,
    demo: bool,
    tld: str,
    endpoints_file: str | None,
    symbol: str,
) -> None:
    """A live order book of SYMBOL: top levels, spread, updates/s, resyncs.

    Kept in sync from the diff-depth stream and a REST snapshot by Binance's rules
    for the --market.  With --json, one line per update instead:
    {"symbol", "update_id", "bids": [[price, qty], ...], "asks": [...]}.
    """
    product = MARKETS[market]
    try:
        symbol = normalize_symbol(symbol).upper()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if count is not None and not as_json:
        raise CliError("--count goes with --json")
    endpoints = resolve_endpoints(
        tld=tld, testnet=testnet, demo=demo, endpoints_file=endpoints_file
    )

    async def body() -> None:
        if as_json:
            await watch_book(
                product,
                symbol,
                endpoints=endpoints,
                depth=depth,
                output=Output(),
                count=count,
            )
        else:
            await show_book(product, symbol, Console(), endpoints=endpoints, depth=depth)

    trio.run(run_until_signal, body)
