"""Which stream names exist, which route carries them, and what a URL path asks for.

Pure functions, no I/O.  The fake's URL layout puts every product under its own
prefix on one host::

    /spot/ws[/<s1>/<s2>...]          /spot/stream[?streams=<s1>/<s2>]
    /usdm/{public,market,private}/{ws,stream}...   (legacy: /usdm/ws, /usdm/stream)
    /coinm/{ws,stream}...
    /options/{public,market,private}/{ws,stream}...

User data (see :func:`parse_user_path`)::

    /usdm/private/ws/<listenKey>     /usdm/private/ws?listenKey=<listenKey>
    /coinm/ws/<listenKey>            /pm/ws/<listenKey>
    /options/private/ws/<listenKey>  /ws-api/v3   (the spot WebSocket API)

Routes follow Binance as of 2026: on the USD-M and options hosts a stream is
delivered only on its own route (``public`` or ``market``); the legacy unrouted
paths get only ``public`` streams.  Anything else is acknowledged and then
silently never delivered, exactly the trap the real servers set.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import Final, Literal, final

from .._endpoints import Product

__all__ = [
    "LISTEN_KEY_KINDS",
    "TIME_UNITS",
    "PathError",
    "StreamPath",
    "UserPath",
    "delivers",
    "parse_path",
    "parse_user_path",
    "redact",
    "stream_route",
    "wants_microseconds",
]

PRODUCT_PREFIXES: Final = {
    "spot": Product.SPOT,
    "usdm": Product.USDM,
    "coinm": Product.COINM,
    "options": Product.OPTIONS,
}

# Routes a connection can be opened on, besides the unrouted "".
ROUTES: Final[dict[Product, tuple[str, ...]]] = {
    Product.SPOT: (),
    Product.USDM: ("public", "market", "private"),
    Product.COINM: (),
    Product.OPTIONS: ("public", "market", "private"),
}

_S = r"[a-z0-9][a-z0-9_\-]*"  # lowercase symbol, pair or underlying (btcusd_perp, btc-251226-1-c)
_SPOT_KLINE = r"(?:1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)"
_FUTURES_KLINE = r"(?:1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)"
_OPTIONS_KLINE = r"(?:1m|3m|5m|15m|30m|1h|2h|4h|6h|12h|1d|3d|1w)"


def _patterns(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


_SPOT: Final = _patterns(
    rf"{_S}@(?:trade|aggTrade|bookTicker|miniTicker|ticker|avgPrice|referencePrice|blockTrade)",
    rf"{_S}@kline_{_SPOT_KLINE}(?:@\+08:00)?",
    rf"{_S}@ticker_(?:1h|4h|1d)",
    rf"{_S}@depth(?:5|10|20)?(?:@100ms)?",
    r"!miniTicker@arr",
    r"!ticker_(?:1h|4h|1d)@arr",
)
_FUTURES_PUBLIC: Final = _patterns(
    rf"{_S}@bookTicker",
    r"!bookTicker",
    rf"{_S}@depth(?:5|10|20)?(?:@100ms|@500ms)?",
    rf"{_S}@rpiDepth@500ms",
)
_FUTURES_MARKET: Final = _patterns(
    # ``@trade`` is undocumented on futures but used by third-party clients.
    rf"{_S}@(?:aggTrade|trade|markPrice|markPrice@1s|miniTicker|ticker|forceOrder|compositeIndex)",
    rf"{_S}@(?:kline|continuousKline)_{_FUTURES_KLINE}",
    rf"{_S}@assetIndex",
    r"!markPrice@arr(?:@1s)?",
    r"!(?:miniTicker|ticker|forceOrder|assetIndex)@arr",
    r"!contractInfo",
    r"tradingSession",
)
_COINM_ONLY: Final = _patterns(
    rf"{_S}@indexPrice(?:@1s)?",
    rf"{_S}@(?:indexPriceKline|markPriceKline)_{_FUTURES_KLINE}",
)
_OPTIONS_PUBLIC: Final = _patterns(
    rf"{_S}@(?:optionTrade|bookTicker)",
    rf"{_S}@optionTicker(?:@\d{{6}})?",
    rf"{_S}@depth(?:5|10|20)?(?:@100ms|@500ms)?",
)
_OPTIONS_MARKET: Final = _patterns(
    rf"{_S}@optionMarkPrice",
    rf"{_S}@kline_{_OPTIONS_KLINE}",
    # The docs name both spellings (facts §4.4); accept either.
    rf"{_S}@(?:optionOpenInterest|openInterest)@\d{{6}}",
    r"!index@arr",
    r"!optionSymbol",
)


def stream_route(product: Product, name: str) -> str | None:
    """The route that carries stream ``name`` on ``product``, or None if no such stream.

    Returns ``""`` for products without a route split (spot, COIN-M), else
    ``"public"`` or ``"market"``.  Symbols must be lowercase.  Retired streams
    (spot ``!ticker@arr`` and ``!bookTicker``) do not exist.
    """
    if product is Product.SPOT:
        return "" if _SPOT.fullmatch(name) else None
    if product is Product.COINM:
        for pattern in (_FUTURES_PUBLIC, _FUTURES_MARKET, _COINM_ONLY):
            if pattern.fullmatch(name):
                return ""
        return None
    public, market = (
        (_FUTURES_PUBLIC, _FUTURES_MARKET)
        if product is Product.USDM
        else (_OPTIONS_PUBLIC, _OPTIONS_MARKET)
    )
    if public.fullmatch(name):
        return "public"
    if market.fullmatch(name):
        return "market"
    return None


def delivers(connection_route: str, route: str) -> bool:
    """Whether a connection on ``connection_route`` receives a stream of ``route``.

    The legacy unrouted paths of the routed hosts still carry ``public`` streams.
    """
    return connection_route == route or (connection_route == "" and route == "public")


class PathError(Exception):
    """A handshake path the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str, product: Product | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.product = product


@final
@dataclasses.dataclass(frozen=True)
class StreamPath:
    """What a stream-connection URL asks for.

    Attributes:
        product: The product, from the first path segment.
        route: ``"public"``, ``"market"``, ``"private"`` or ``""`` (unrouted).
        combined: True for ``/stream`` URLs, False for ``/ws`` URLs.
        streams: Streams named in the URL (``/ws/a/b`` or ``?streams=a/b``), in order.
        query: The query parameters (last value wins).
    """

    product: Product
    route: str
    combined: bool
    streams: tuple[str, ...]
    query: dict[str, str]


def parse_path(path: str) -> StreamPath:
    """Parse a handshake path of the fake's URL layout.

    Raises:
        PathError: 404 for a path the fake does not serve, 400 for a stream name
            that does not exist on the product.
    """
    raw_path, _, raw_query = path.partition("?")
    segments = [urllib.parse.unquote(s) for s in raw_path.split("/") if s]
    query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
    if not segments or segments[0] not in PRODUCT_PREFIXES:
        raise PathError(404, f"no stream server at {raw_path!r}")
    product = PRODUCT_PREFIXES[segments[0]]
    rest = segments[1:]
    route = ""
    if rest and rest[0] in ROUTES[product]:
        route, rest = rest[0], rest[1:]
    if not rest or rest[0] not in ("ws", "stream"):
        raise PathError(404, f"no stream server at {raw_path!r}", product)
    combined = rest[0] == "stream"
    if combined:
        if len(rest) > 1:
            raise PathError(404, f"no stream server at {raw_path!r}", product)
        names = [s for s in query.get("streams", "").split("/") if s]
    else:
        names = rest[1:]
    streams = tuple(dict.fromkeys(names))
    for name in streams:
        if stream_route(product, name) is None:
            raise PathError(400, f"invalid stream {name!r}", product)
    if product is Product.SPOT and query.get("timeUnit", "MILLISECOND") not in TIME_UNITS:
        raise PathError(400, f"invalid timeUnit {query['timeUnit']!r}", product)
    return StreamPath(product, route, combined, streams, query)


#: The ``timeUnit`` values spot accepts, each to whether it means microseconds.
TIME_UNITS: Final[dict[str, bool]] = {
    "MILLISECOND": False,
    "millisecond": False,
    "MICROSECOND": True,
    "microsecond": True,
}


def wants_microseconds(parsed: StreamPath) -> bool:
    """Whether a spot connection asked for microsecond timestamps (``timeUnit``)."""
    unit = parsed.query.get("timeUnit", "")
    return parsed.product is Product.SPOT and TIME_UNITS.get(unit, False)


#: Listen-key user-data kinds: (path segments before the key, product, route).
#: Portfolio margin lives on the fstream host, so it keeps USD-M's limits.
LISTEN_KEY_KINDS: Final[dict[str, tuple[tuple[str, ...], Product, str]]] = {
    "usdm": (("usdm", "private", "ws"), Product.USDM, "private"),
    "coinm": (("coinm", "ws"), Product.COINM, ""),
    "pm": (("pm", "ws"), Product.USDM, "pm"),
    "options": (("options", "private", "ws"), Product.OPTIONS, "private"),
}

# What the fake issues is 60 characters; Binance's keys are 60-64.  A path
# segment of another shape is not taken for a listen key, and a stream name
# never has this shape.
_KEY_SHAPED: Final = re.compile(r"[A-Za-z0-9]{32,128}")
# Anything that might be a key, token, listen key or signature, for log lines.
_SECRET_LIKE: Final = re.compile(r"[A-Za-z0-9]{32,}")


def redact(text: str) -> str:
    """``text`` with every run of 32+ letters and digits (keys, tokens) replaced.

    Stream names, symbols and the fake's own words are shorter, so log lines
    and reprs keep their meaning while listen keys and API keys disappear.
    """
    return _SECRET_LIKE.sub("<redacted>", text)


@final
@dataclasses.dataclass(frozen=True)
class UserPath:
    """A user-data handshake path: a listen-key stream or the spot WebSocket API.

    Attributes:
        service: ``"user_data"`` (listen-key stream) or ``"ws_api"``.
        kind: The listen-key kind (``"usdm"``, ``"coinm"``, ``"pm"``,
            ``"options"``), None for the WebSocket API.
        product: Whose limits (ping cadence, message rate) the connection gets.
        route: ``"private"`` (USD-M, options), ``""`` (COIN-M, WebSocket API) or
            ``"pm"`` (portfolio margin).
        listen_key: The listen key from the path or query; None for the WebSocket API.
        query: The query parameters (last value wins).
    """

    service: Literal["user_data", "ws_api"]
    kind: str | None
    product: Product
    route: str
    listen_key: str | None = dataclasses.field(repr=False)
    query: dict[str, str] = dataclasses.field(repr=False)


def parse_user_path(path: str) -> UserPath | None:
    """Recognise a user-data handshake path; None if it is not one.

    Listen-key paths are ``<prefix>/<key>`` (the key one path segment shaped like
    a listen key: 32-128 letters and digits) or ``<prefix>?listenKey=<key>``, for
    the prefixes of :data:`LISTEN_KEY_KINDS`.  ``/ws-api/v3`` is the WebSocket API.
    Whether the key exists is not checked here.
    """
    raw_path, _, raw_query = path.partition("?")
    segments = tuple(urllib.parse.unquote(s) for s in raw_path.split("/") if s)
    query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
    if segments == ("ws-api", "v3"):
        return UserPath("ws_api", None, Product.SPOT, "", None, query)
    for kind, (prefix, product, route) in LISTEN_KEY_KINDS.items():
        if segments[: len(prefix)] != prefix:
            continue
        rest = segments[len(prefix) :]
        if len(rest) == 1 and _KEY_SHAPED.fullmatch(rest[0]):
            return UserPath("user_data", kind, product, route, rest[0], query)
        if not rest and query.get("listenKey"):
            return UserPath("user_data", kind, product, route, query["listenKey"], query)
    return None
