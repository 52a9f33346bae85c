"""Stream names, validation and routing: pure functions, no I/O.

Every public ``*_socket`` method of :class:`~trio_binance.BinanceSocketManager`
turns its arguments into a :class:`StreamRequest` here.  Bad input raises
``ValueError`` naming what is allowed, before anything touches the network.

One function per rule: :func:`normalize_symbol`, :func:`validate_stream_name`,
:func:`validate_stream_names`, :func:`validate_kline_interval`,
:func:`validate_expiration_date`, :func:`partial_depth`, the ``*_suffix`` helpers,
:func:`validate_category`, :func:`check_not_retired` and :func:`route_for`;
:func:`build_request` puts them together.

Protocol choices that are not confirmed by an official source are module
constants marked UNCONFIRMED, so they are easy to find and change.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import final

from ._endpoints import Endpoints, Product
from ._enums import KLINE_INTERVALS, in_interval_order

__all__ = [
    "FUTURES_SPEEDS",
    "OPTIONS_MULTIPLEX_FALLBACK_ROUTE",
    "OPTIONS_OPEN_INTEREST_WORD",
    "OPTIONS_ROUTES",
    "OPTIONS_SPEEDS",
    "PARTIAL_DEPTHS",
    "RETIRED_SPOT_STREAMS",
    "ROUTE_MARKET",
    "ROUTE_NONE",
    "ROUTE_PUBLIC",
    "SPOT_DEPTHS",
    "SPOT_DEPTH_INTERVALS",
    "SPOT_MINITICKER_STREAMS",
    "TIME_UNITS",
    "USDM_ROUTES",
    "RetiredStreamError",
    "StreamRequest",
    "build_request",
    "check_not_retired",
    "connection_url",
    "futures_speed_suffix",
    "normalize_symbol",
    "options_speed_suffix",
    "partial_depth",
    "route_for",
    "spot_depth_interval_suffix",
    "spot_depth_suffix",
    "spot_miniticker_stream",
    "stream_kind",
    "validate_category",
    "validate_expiration_date",
    "validate_kline_interval",
    "validate_stream_name",
    "validate_stream_names",
    "validate_time_unit",
    "with_time_unit",
]


@final
@dataclasses.dataclass(frozen=True)
class StreamRequest:
    """What a stream method asks the connection engine for.

    Attributes:
        product: The Binance product, which picks host, limits and ping cadence.
        streams: Exact Binance stream names, e.g. ``("btcusdt@trade",)``; no duplicates.
        routes: The route of each stream, aligned with ``streams``: ``""`` for
            unrouted hosts (spot, COIN-M), else ``"public"`` or ``"market"``.
        multiplex: True when the handle yields ``{"stream", "data"}`` envelopes,
            False when it yields bare payloads (only with exactly one stream).
    """

    product: Product
    streams: tuple[str, ...]
    routes: tuple[str, ...]
    multiplex: bool = False

    def __post_init__(self) -> None:
        if not self.streams or len(self.streams) != len(self.routes):
            raise ValueError("a StreamRequest needs one route per stream and at least one stream")
        if len(set(self.streams)) != len(self.streams):
            raise ValueError("a StreamRequest must not name a stream twice")
        if not self.multiplex and len(self.streams) != 1:
            raise ValueError("a non-multiplex StreamRequest carries exactly one stream")


def connection_url(base: str) -> str:
    """The URL the engine dials for a route base: always the combined ``/stream`` mode.

    Streams are then added with live ``SUBSCRIBE`` requests, so every frame arrives as
    a ``{"stream", "data"}`` envelope whatever the handle shows its consumer.  A query
    on the base (spot's ``timeUnit``, see :func:`with_time_unit`) stays at the end:
    ``wss://host:9443?timeUnit=MICROSECOND`` -> ``wss://host:9443/stream?timeUnit=MICROSECOND``.
    """
    path, mark, query = base.partition("?")
    return f"{path}/stream{mark}{query}"


# ------------------------------------------------------------------------ time unit

TIME_UNITS: Mapping[object, str] = {
    "MICROSECOND": "MICROSECOND",
    "microsecond": "MICROSECOND",
    "MILLISECOND": "MILLISECOND",
    "millisecond": "MILLISECOND",
}
"""The ``timeUnit`` spellings Binance documents, each to the one we send."""


def validate_time_unit(time_unit: object) -> str | None:
    """Check a ``time_unit`` option: ``None`` (Binance's default, milliseconds) or a unit.

    Returns:
        ``None``, ``"MICROSECOND"`` or ``"MILLISECOND"``.

    Raises:
        ValueError: Any other value; the message lists the spellings Binance accepts.
    """
    if time_unit is None:
        return None
    return _choose(time_unit, TIME_UNITS, "time_unit")


def with_time_unit(endpoints: Endpoints, time_unit: str | None) -> Endpoints:
    """``endpoints`` whose spot stream and spot WebSocket API URLs carry ``timeUnit``.

    Binance documents ``timeUnit`` for spot market streams and the WebSocket API
    only (so spot and margin user data); futures and options URLs are left alone.
    The spot stream base then ends in a query, which :func:`connection_url` keeps at
    the end of the URL it builds.

    Args:
        endpoints: The endpoints to derive from.
        time_unit: A value :func:`validate_time_unit` returned; ``None`` changes nothing.
    """
    if time_unit is None:
        return endpoints
    query = urllib.parse.urlencode({"timeUnit": time_unit})

    def add(url: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}{query}"

    return dataclasses.replace(
        endpoints, spot_stream=add(endpoints.spot_stream), spot_ws_api=add(endpoints.spot_ws_api)
    )


# --------------------------------------------------------------------------- routes

ROUTE_NONE = ""
"""The route of every stream on an unrouted host (spot, COIN-M)."""
ROUTE_PUBLIC = "public"
"""USD-M and options high-frequency streams: book tickers and depth (and options trades)."""
ROUTE_MARKET = "market"
"""USD-M and options streams that are not on ``/public``."""

OPTIONS_OPEN_INTEREST_WORD = "optionOpenInterest"
"""UNCONFIRMED: the options open-interest stream is ``<underlying>@<word>@<YYMMDD>``.

The Binance page heading (and python-binance) say ``optionOpenInterest``; the page's
example link and the official SDK say ``openInterest``.  Both words route to
``/market`` whichever is used here.
"""

OPTIONS_MULTIPLEX_FALLBACK_ROUTE = ROUTE_MARKET
"""Route of a stream name :data:`OPTIONS_ROUTES` does not know, in ``options_multiplex_socket``.

python-binance sends every options multiplex stream to ``/market``.
"""

USDM_ROUTES: Mapping[str, str] = {
    # /public: book tickers and order books.
    "bookTicker": ROUTE_PUBLIC,
    "!bookTicker": ROUTE_PUBLIC,
    "depth": ROUTE_PUBLIC,
    "rpiDepth": ROUTE_PUBLIC,
    # /market: everything else Binance documents.
    "aggTrade": ROUTE_MARKET,
    "markPrice": ROUTE_MARKET,
    "!markPrice": ROUTE_MARKET,
    "kline": ROUTE_MARKET,
    "continuousKline": ROUTE_MARKET,
    "miniTicker": ROUTE_MARKET,
    "!miniTicker": ROUTE_MARKET,
    "ticker": ROUTE_MARKET,
    "!ticker": ROUTE_MARKET,
    "forceOrder": ROUTE_MARKET,
    "!forceOrder": ROUTE_MARKET,
    "compositeIndex": ROUTE_MARKET,
    "!contractInfo": ROUTE_MARKET,
    "assetIndex": ROUTE_MARKET,
    "!assetIndex": ROUTE_MARKET,
    "tradingSession": ROUTE_MARKET,
}
"""USD-M route of each stream kind (see :func:`stream_kind`)."""

OPTIONS_ROUTES: Mapping[str, str] = {
    # /public: trades, tickers, book tickers and order books.
    "optionTrade": ROUTE_PUBLIC,
    "optionTicker": ROUTE_PUBLIC,
    "bookTicker": ROUTE_PUBLIC,
    "depth": ROUTE_PUBLIC,
    # /market: klines, mark and index prices, open interest, new symbols.
    "kline": ROUTE_MARKET,
    "optionMarkPrice": ROUTE_MARKET,
    "!index": ROUTE_MARKET,
    "optionOpenInterest": ROUTE_MARKET,
    "openInterest": ROUTE_MARKET,
    "!optionSymbol": ROUTE_MARKET,
}
"""Options route of each stream kind (see :func:`stream_kind`)."""

_ROUTE_TABLES: Mapping[Product, Mapping[str, str]] = {
    Product.USDM: USDM_ROUTES,
    Product.OPTIONS: OPTIONS_ROUTES,
}

_KIND = re.compile(r"!?[A-Za-z]+")


def stream_kind(stream: str) -> str:
    """The event word of a stream name, which decides its route.

    ``"btcusdt@depth10@100ms"`` -> ``"depth"``, ``"btcusdt_perpetual@continuousKline_1m"``
    -> ``"continuousKline"``, ``"!markPrice@arr@1s"`` -> ``"!markPrice"``,
    ``"tradingSession"`` -> ``"tradingSession"``.
    """
    head, at, tail = stream.partition("@")
    word = tail if at and not head.startswith("!") else stream
    match = _KIND.match(word)
    return match.group() if match else ""


def route_for(product: Product, stream: str, fallback: str = ROUTE_MARKET) -> str:
    """The route ``stream`` lives on for ``product``.

    Spot and COIN-M are unrouted (``""``).  USD-M and options streams are looked up
    in :data:`USDM_ROUTES` / :data:`OPTIONS_ROUTES`; a kind neither table knows goes
    to ``fallback`` (the ``category`` of ``futures_multiplex_socket``).
    """
    table = _ROUTE_TABLES.get(product)
    if table is None:
        return ROUTE_NONE
    return table.get(stream_kind(stream), fallback)


# ------------------------------------------------------------------- retired streams


class RetiredStreamError(ValueError):
    """A stream Binance has retired was requested; the message names the replacement."""


RETIRED_SPOT_STREAMS: Mapping[str, str] = {
    "!ticker@arr": (
        "the spot all-market ticker stream '!ticker@arr' was retired by Binance on "
        "2026-03-26; use symbol_ticker_socket(symbol) ('<symbol>@ticker') for the "
        "symbols you need, or miniticker_socket() ('!miniTicker@arr') for every symbol"
    ),
    "!bookTicker": (
        "the spot all-market book ticker stream '!bookTicker' was removed by Binance on "
        "2022-12-07; use symbol_book_ticker_socket(symbol) ('<symbol>@bookTicker') for "
        "each symbol you need"
    ),
}
"""Spot streams Binance no longer serves, with the message explaining what to use."""


def check_not_retired(stream: str) -> None:
    """Raise :class:`RetiredStreamError` if ``stream`` is a retired spot stream."""
    message = RETIRED_SPOT_STREAMS.get(stream)
    if message is not None:
        raise RetiredStreamError(message)


# --------------------------------------------------------------------- names


_SYMBOL = re.compile(r"[A-Za-z0-9_-]+")
_STREAM_NAME_FORBIDDEN = frozenset("/?&#%")


def normalize_symbol(symbol: object, what: str = "symbol") -> str:
    """Check a symbol (or pair, or underlying) and return it lowercased.

    Allowed: ASCII letters, digits, ``_`` and ``-``, e.g. ``BTCUSDT``,
    ``BTCUSD_PERP``, ``BTC-251226-110000-C``.  Anything else (``@``, ``/``, ``!``,
    spaces, ...) could splice another stream into the name and is rejected.

    Raises:
        ValueError: ``symbol`` is not such a string.
    """
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise ValueError(
            f"{what} must be a non-empty string of ASCII letters, digits, '_' and '-' "
            f"(e.g. 'BTCUSDT', 'BTCUSD_PERP', 'BTC-251226-110000-C'); got {symbol!r}"
        )
    return symbol.lower()


def validate_stream_name(stream: object) -> str:
    """Check one raw stream name, as passed to the multiplex methods, and return it.

    Names are passed through as given (Binance stream names are case-sensitive).

    Raises:
        ValueError: ``stream`` is empty, not a string, or contains ``/``, ``?``,
            ``&``, ``#``, ``%``, whitespace or control characters.
    """
    if (
        not isinstance(stream, str)
        or not stream
        or not stream.isprintable()
        or any(ch.isspace() or ch in _STREAM_NAME_FORBIDDEN for ch in stream)
    ):
        raise ValueError(
            "a stream name must be a non-empty string without '/', '?', '&', '#', '%' "
            f"or whitespace, e.g. 'btcusdt@trade'; got {stream!r}"
        )
    return stream


def validate_stream_names(streams: object) -> tuple[str, ...]:
    """Check a list of stream names; return them without duplicates, in order.

    Raises:
        ValueError: ``streams`` is a bare string, not iterable, empty, or holds a
            name :func:`validate_stream_name` rejects.
    """
    if isinstance(streams, (str, bytes)) or not isinstance(streams, Iterable):
        raise ValueError(
            "streams must be a list of stream names, e.g. ['btcusdt@trade', "
            f"'ethusdt@depth']; got {streams!r}"
        )
    names = tuple(dict.fromkeys(validate_stream_name(stream) for stream in streams))
    if not names:
        raise ValueError("streams must name at least one stream, e.g. ['btcusdt@trade']")
    return names


def validate_kline_interval(interval: object, product: Product) -> str:
    """Check a kline interval against what ``product`` serves (see ``KLINE_INTERVALS``).

    Raises:
        ValueError: Unknown interval; the message lists the product's intervals.
    """
    allowed = KLINE_INTERVALS[product]
    if not isinstance(interval, str) or interval not in allowed:
        names = ", ".join(repr(i) for i in in_interval_order(allowed))
        raise ValueError(f"{product.value} kline interval must be one of {names}; got {interval!r}")
    return interval


_EXPIRATION = re.compile(r"[0-9]{6}")


def validate_expiration_date(expiration_date: object) -> str:
    """Check an options expiration date written ``YYMMDD`` (e.g. ``"251226"``).

    Raises:
        ValueError: Not six digits forming a real date.
    """
    if isinstance(expiration_date, str) and _EXPIRATION.fullmatch(expiration_date):
        try:
            datetime.datetime.strptime(expiration_date, "%y%m%d")
        except ValueError:
            pass
        else:
            return expiration_date
    raise ValueError(
        "expiration_date must be a date written YYMMDD as a string of 6 digits, "
        f"e.g. '251226'; got {expiration_date!r}"
    )


# ----------------------------------------------------------- depth, speed, category


_MISSING = object()
_INT_SPELLINGS: Mapping[str | None, str] = {
    "": " (str or int)",
    "ms": " (or an int number of milliseconds, e.g. 100)",
}


def _choose(
    value: object, table: Mapping[object, str], what: str, *, int_unit: str | None = None
) -> str:
    """Look ``value`` up in ``table``; a miss is a ValueError listing the table's keys.

    With ``int_unit`` set, an ``int`` is first spelled as text with that unit
    (``10`` -> ``"10"`` for ``""``, ``100`` -> ``"100ms"`` for ``"ms"``).
    """
    key: object = value
    if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
        key = _MISSING
    elif int_unit is not None and isinstance(value, int):
        key = f"{value}{int_unit}"
    found = table.get(key)
    if found is None:
        allowed = ", ".join(repr(k) for k in table)
        spelled = _INT_SPELLINGS.get(int_unit, "")
        raise ValueError(f"{what} must be one of {allowed}{spelled}; got {value!r}")
    return found


PARTIAL_DEPTHS: Mapping[object, str] = {"5": "5", "10": "10", "20": "20"}
"""Partial-book depths (levels per side), as the ``depth`` argument and as suffix."""

SPOT_DEPTHS: Mapping[object, str] = {None: "", "1": "", **PARTIAL_DEPTHS}
"""Spot ``depth_socket`` depths: ``None``/``"1"`` is the diff stream (no suffix)."""

SPOT_DEPTH_INTERVALS: Mapping[object, str] = {None: "", 0: "", 100: "@100ms"}
"""Spot ``depth_socket`` update intervals in ms: default (1000 ms) or 100 ms."""

FUTURES_SPEEDS: Mapping[object, str] = {
    None: "",
    "250ms": "",
    "500ms": "@500ms",
    "100ms": "@100ms",
}
"""USD-M / COIN-M depth update speeds; ``None`` and ``"250ms"`` are the default (no suffix)."""

OPTIONS_SPEEDS: Mapping[object, str] = {"500ms": "@500ms", "100ms": "@100ms"}
"""Options depth update speeds; options depth streams always carry one."""

SPOT_MINITICKER_STREAMS: Mapping[object, str] = {1000: "!miniTicker@arr"}
"""Spot ``miniticker_socket`` update times in ms; Binance publishes every 1000 ms only."""

_CATEGORIES: Mapping[object, str] = {ROUTE_MARKET: ROUTE_MARKET, ROUTE_PUBLIC: ROUTE_PUBLIC}


def partial_depth(depth: object) -> str:
    """Check a partial-book depth (5, 10 or 20, str or int) and return it as text.

    Raises:
        ValueError: Any other depth.
    """
    return _choose(depth, PARTIAL_DEPTHS, "depth", int_unit="")


def spot_depth_suffix(depth: object) -> str:
    """The ``depth_socket`` suffix after ``@depth``: ``""`` (diff) or ``"5"``/``"10"``/``"20"``.

    Raises:
        ValueError: Any depth other than None, 1, 5, 10 or 20 (str or int).
    """
    return _choose(depth, SPOT_DEPTHS, "depth", int_unit="")


def spot_depth_interval_suffix(interval: object) -> str:
    """The ``depth_socket`` speed suffix: ``""`` for None/0 (1000 ms), ``"@100ms"`` for 100.

    Raises:
        ValueError: Any other interval; the message lists [None, 0, 100].
    """
    return _choose(interval, SPOT_DEPTH_INTERVALS, "interval (ms)")


def futures_speed_suffix(speed: object) -> str:
    """USD-M / COIN-M depth speed suffix: ``""`` (250 ms), ``"@500ms"`` or ``"@100ms"``.

    Raises:
        ValueError: Any speed other than None, 250, 500 or 100 ms ("100ms" or 100).
    """
    return _choose(speed, FUTURES_SPEEDS, "speed", int_unit="ms")


def options_speed_suffix(speed: object) -> str:
    """Options depth speed suffix: ``"@500ms"`` or ``"@100ms"``.

    Raises:
        ValueError: Any speed other than "500ms" or "100ms" (or 500 / 100).
    """
    return _choose(speed, OPTIONS_SPEEDS, "speed", int_unit="ms")


def spot_miniticker_stream(update_time: object) -> str:
    """The all-market mini ticker stream for ``miniticker_socket(update_time)``.

    Raises:
        ValueError: ``update_time`` is not 1000 (the only cadence Binance publishes).
    """
    return _choose(update_time, SPOT_MINITICKER_STREAMS, "update_time (ms)")


def validate_category(category: object) -> str:
    """Check the ``category`` (fallback route) of ``futures_multiplex_socket``.

    Raises:
        ValueError: Not ``"market"`` or ``"public"`` (``"private"`` carries user data,
            which has its own methods).
    """
    return _choose(category, _CATEGORIES, "category")


# --------------------------------------------------------------------- requests


def build_request(
    product: Product,
    streams: object,
    *,
    multiplex: bool,
    fallback: str = ROUTE_MARKET,
) -> StreamRequest:
    """Validate stream names and route them into a :class:`StreamRequest`.

    Args:
        product: The product the streams belong to.
        streams: Stream names (deduplicated, order kept).
        multiplex: Whether the handle yields ``{"stream", "data"}`` envelopes.
        fallback: Route of a USD-M / options stream kind the tables do not know.

    Raises:
        ValueError: A bad name (see :func:`validate_stream_names`).
        RetiredStreamError: A retired spot stream.
    """
    names = validate_stream_names(streams)
    if product is Product.SPOT:
        for name in names:
            check_not_retired(name)
    routes = tuple(route_for(product, name, fallback) for name in names)
    return StreamRequest(product, names, routes, multiplex)
