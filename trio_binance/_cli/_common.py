"""What the commands share: options, endpoints, stream validation, gaps as JSON, signals."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import IO, Any, TypeVar

import click
import orjson
import trio

from .._endpoints import Endpoints, Product
from .._enums import FuturesType
from .._gap import Gap
from .._handle import StreamHandle
from .._manager import BinanceSocketManager
from .._streams import (
    OPTIONS_MULTIPLEX_FALLBACK_ROUTE,
    ROUTE_MARKET,
    StreamRequest,
    build_request,
)
from ..messages import Envelope

__all__ = [
    "MARKETS",
    "CliError",
    "Output",
    "WallClock",
    "connection_options",
    "gap_json",
    "market_option",
    "open_multiplex",
    "resolve_endpoints",
    "run_until_signal",
    "validate_streams",
]

F = TypeVar("F", bound=Callable[..., Any])

MARKETS = {product.value: product for product in Product}
"""``--market`` values: ``spot``, ``usdm``, ``coinm``, ``options``."""


class CliError(Exception):
    """A problem to report as one line, with a non-zero exit status."""


# ----------------------------------------------------------------------- options


def connection_options(fn: F) -> F:
    """``--testnet``, ``--demo``, ``--tld``, ``--endpoints FILE``: every command has them."""
    options = [
        click.option("--testnet", is_flag=True, help="Binance's testnet endpoints."),
        click.option("--demo", is_flag=True, help="Binance's demo-mode endpoints."),
        click.option(
            "--tld", default="com", show_default=True, help="Production domain suffix (com, us)."
        ),
        click.option(
            "--endpoints",
            "endpoints_file",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help="JSON object of Endpoints field names to URLs (as `fake --endpoints-out` "
            "writes); fields left out keep the --testnet/--demo/--tld choice.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def market_option(fn: F) -> F:
    """``--market spot|usdm|coinm|options`` (default spot)."""
    return click.option(
        "--market",
        type=click.Choice(list(MARKETS)),
        default="spot",
        show_default=True,
        help="Which Binance product the streams belong to.",
    )(fn)


def resolve_endpoints(
    *, tld: str, testnet: bool, demo: bool, endpoints_file: str | None
) -> Endpoints:
    """The endpoints the options select.

    Raises:
        CliError: Conflicting flags, a bad ``--tld``, or an unreadable endpoints file.
    """
    try:
        base = Endpoints.select(tld=tld, testnet=testnet, demo=demo)
        if endpoints_file is None:
            return base
        return Endpoints.from_file(endpoints_file, base=base)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def validate_streams(product: Product, streams: Sequence[str]) -> StreamRequest:
    """Check stream names as the library's multiplex methods do (no second set of rules).

    Raises:
        CliError: No stream, or a name the library rejects (the message says why).
    """
    if not streams:
        raise CliError("name at least one stream, e.g. btcusdt@trade")
    fallback = OPTIONS_MULTIPLEX_FALLBACK_ROUTE if product is Product.OPTIONS else ROUTE_MARKET
    try:
        return build_request(product, list(streams), multiplex=True, fallback=fallback)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def open_multiplex(
    bsm: BinanceSocketManager[Gap], product: Product, streams: Sequence[str]
) -> StreamHandle[Envelope | Gap]:
    """The product's multiplex handle (``{"stream", "data"}`` envelopes) on ``streams``."""
    if product is Product.SPOT:
        return bsm.multiplex_socket(streams)
    if product is Product.USDM:
        return bsm.futures_multiplex_socket(streams, FuturesType.USD_M)
    if product is Product.COINM:
        return bsm.futures_multiplex_socket(streams, FuturesType.COIN_M)
    return bsm.options_multiplex_socket(streams)


# ---------------------------------------------------------------- time and gaps


class WallClock:
    """Converts Trio clock times to wall-clock times, anchored once.

    Trio's clock is monotonic (and a fake one in tests); recorded times are wall-clock
    times that never go backwards: the anchor plus the Trio time.
    """

    def __init__(self) -> None:
        self._offset_ns = time.time_ns() - round(trio.current_time() * 1e9)

    def ns(self, trio_time: float | None = None) -> int:
        """Wall-clock ns of ``trio_time`` (now by default)."""
        t = trio.current_time() if trio_time is None else trio_time
        return self._offset_ns + round(t * 1e9)

    def seconds(self, trio_time: float) -> float:
        """Wall-clock Unix seconds of ``trio_time``."""
        return self._offset_ns / 1e9 + trio_time


def gap_json(gap: Gap, clock: WallClock) -> dict[str, Any]:
    """A :class:`~trio_binance.Gap` as JSON: the ``{"gap": {...}}`` lines and recordings.

    ``start`` and ``end`` are Unix seconds (wall clock); the other fields are the
    Gap's own.
    """
    return {
        "stream": gap.stream,
        "reason": gap.reason,
        "start": round(clock.seconds(gap.start), 6),
        "end": round(clock.seconds(gap.end), 6),
        "duration": round(gap.duration, 6),
        "dropped": gap.dropped,
        "last_event_time": gap.last_event_time,
        "last_id": gap.last_id,
    }


# ------------------------------------------------------------------------ output


class Output:
    """JSON lines to a binary stream (stdout by default), flushed per batch.

    A reader that goes away (``trio-binance stream ... | head``) ends the command
    quietly: :attr:`closed` turns true and later writes are dropped.
    """

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self._stream = sys.stdout.buffer if stream is None else stream
        self.closed = False

    def write(self, lines: list[bytes]) -> None:
        if self.closed or not lines:
            return
        try:
            self._stream.write(b"".join(lines))
            self._stream.flush()
        except BrokenPipeError:
            self.closed = True
            if self._stream is sys.stdout.buffer:
                # Nothing more can reach the reader; keep the interpreter's final
                # flush of stdout from reporting the broken pipe again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    @staticmethod
    def line(obj: object) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


# ----------------------------------------------------------------------- signals


async def run_until_signal(
    body: Callable[[], Awaitable[None]],
    *,
    signals: bool = True,
    on_signal: Callable[[], None] | None = None,
) -> None:
    """Run ``body`` until it returns, or until SIGINT or SIGTERM stops it.

    The first signal calls ``on_signal`` if given (a graceful stop: the recorder
    stops reading and writes out what it holds), else cancels ``body``; a second
    signal cancels ``body``.  ``body`` sees an ordinary Trio cancellation, so its
    ``finally`` blocks and ``async with`` exits close files and sockets; the
    command then exits 0.
    """
    if not signals:
        await body()
        return
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                graceful = on_signal
                async for _ in received:
                    if graceful is not None:
                        graceful()
                        graceful = None
                        continue
                    nursery.cancel_scope.cancel(reason="signal")
                    return

            nursery.start_soon(watch)
            await body()
            nursery.cancel_scope.cancel()
