"""``trio-binance stream``: print streams as JSON lines."""

from __future__ import annotations

from collections.abc import Sequence

import click
import trio

from .._endpoints import Endpoints, Product
from .._gap import Gap
from .._manager import open_binance_streams
from .._transport import Transport
from ._common import (
    MARKETS,
    Output,
    WallClock,
    connection_options,
    gap_json,
    market_option,
    open_multiplex,
    resolve_endpoints,
    run_until_signal,
    validate_streams,
)

__all__ = ["stream", "stream_messages"]


async def stream_messages(
    product: Product,
    streams: Sequence[str],
    output: Output,
    *,
    endpoints: Endpoints,
    transport: Transport | None = None,
    count: int | None = None,
) -> int:
    """Write ``{"stream", "data"}`` lines (and ``{"gap": ...}`` lines) to ``output``.

    Returns after ``count`` data messages (gaps are not counted), or when the
    reader of ``output`` goes away; returns how many data messages were written.
    """
    clock = WallClock()
    written = 0
    line = Output.line
    async with (
        open_binance_streams(endpoints=endpoints, transport=transport, gap_notices=True) as bsm,
        open_multiplex(bsm, product, streams) as handle,
    ):
        while not output.closed:
            batch = await handle.receive_batch()
            lines: list[bytes] = []
            for item in batch:
                if isinstance(item, Gap):
                    lines.append(line({"gap": gap_json(item, clock)}))
                    continue
                lines.append(line(item))
                written += 1
                if written == count:
                    break
            output.write(lines)
            if written == count:
                break
    return written


@click.command()
@market_option
@click.option(
    "--count", type=click.IntRange(min=1), metavar="N", help="Exit 0 after N data messages."
)
@connection_options
@click.argument("streams", nargs=-1, required=True, metavar="STREAM...")
def stream(
    market: str,
    count: int | None,
    testnet: bool,
    demo: bool,
    tld: str,
    endpoints_file: str | None,
    streams: tuple[str, ...],
) -> None:
    """Print STREAMs (Binance names, e.g. btcusdt@trade) as JSON lines.

    Each message is one line, {"stream": STREAM, "data": PAYLOAD}, in arrival
    order; a stretch of possibly missing data (a reconnect) is a {"gap": {...}}
    line.  Runs until --count data messages, or SIGINT/SIGTERM.
    """
    product = MARKETS[market]
    request = validate_streams(product, streams)
    endpoints = resolve_endpoints(
        tld=tld, testnet=testnet, demo=demo, endpoints_file=endpoints_file
    )
    output = Output()

    async def body() -> None:
        await stream_messages(product, request.streams, output, endpoints=endpoints, count=count)

    trio.run(run_until_signal, body)
