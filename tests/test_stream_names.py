"""Golden table: every stream method -> exact stream names, routes and connection URLs.

The table is the spec of what each ``*_socket`` method asks Binance for, checked
against production (``.com`` and ``.us``), testnet and demo endpoints.  It also
ports python-binance's URL assertions (its ``test_ws_urls_integration.py``),
updated to the 2026 routing: every USD-M and options stream goes to ``/public`` or
``/market`` by its type, and the engine always dials the combined ``/stream`` mode.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from trio_binance._endpoints import Endpoints, Product
from trio_binance._enums import (
    KLINE_INTERVAL_1MONTH,
    KLINE_INTERVAL_1SECOND,
    KLINE_INTERVAL_1WEEK,
    ContractType,
    FuturesType,
)
from trio_binance._stream_methods import StreamMethods
from trio_binance._streams import StreamRequest, connection_url


class Recorder(StreamMethods):
    """Returns the request instead of opening anything."""

    def _open(self, request: StreamRequest) -> Any:
        return request


class PbFuturesType(enum.Enum):
    """Stand-in for python-binance's ``binance.enums.FuturesType`` (int values)."""

    USD_M = 1
    COIN_M = 2


class PbContractType(enum.Enum):
    """Stand-in for python-binance's ``binance.enums.ContractType``."""

    PERPETUAL = "perpetual"
    CURRENT_QUARTER = "current_quarter"
    NEXT_QUARTER = "next_quarter"


ENDPOINTS = {
    "com": Endpoints.production(),
    "us": Endpoints.production("us"),
    "testnet": Endpoints.testnet(),
    "demo": Endpoints.demo(),
}

HOSTS = {
    "com": {
        Product.SPOT: "wss://stream.binance.com:9443",
        Product.USDM: "wss://fstream.binance.com",
        Product.COINM: "wss://dstream.binance.com",
        Product.OPTIONS: "wss://fstream.binance.com",
    },
    "us": {
        Product.SPOT: "wss://stream.binance.us:9443",
        Product.USDM: "wss://fstream.binance.us",
        Product.COINM: "wss://dstream.binance.us",
        Product.OPTIONS: "wss://fstream.binance.us",
    },
    "testnet": {
        Product.SPOT: "wss://stream.testnet.binance.vision",
        Product.USDM: "wss://fstream.binancefuture.com",
        Product.COINM: "wss://dstream.binancefuture.com",
        Product.OPTIONS: "wss://fstream.binancefuture.com",
    },
    "demo": {
        Product.SPOT: "wss://demo-stream.binance.com:9443",
        Product.USDM: "wss://fstream.binancefuture.com",
        Product.COINM: "wss://dstream.binancefuture.com",
        Product.OPTIONS: "wss://fstream.binancefuture.com",
    },
}

UNROUTED = "/stream"
PUBLIC = "/public/stream"
MARKET = "/market/stream"

OPT = "BTC-251226-110000-C"
OPT_LOWER = "btc-251226-110000-c"


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Recorder], Any]
    product: Product
    streams: tuple[tuple[str, str], ...]  # (stream name, path after the host)
    multiplex: bool = False


def one(id: str, call: Callable[[Recorder], Any], product: Product, stream: str, path: str) -> Case:
    return Case(id, call, product, ((stream, path),))


def many(
    id: str, call: Callable[[Recorder], Any], product: Product, *streams: tuple[str, str]
) -> Case:
    return Case(id, call, product, streams, multiplex=True)


S, U, C, OP = Product.SPOT, Product.USDM, Product.COINM, Product.OPTIONS
COIN_M = FuturesType.COIN_M

CASES = [
    # ------------------------------------------------------------------ spot
    one("depth-diff", lambda m: m.depth_socket("BNBBTC"), S, "bnbbtc@depth", UNROUTED),
    one("depth-1", lambda m: m.depth_socket("BNBBTC", depth="1"), S, "bnbbtc@depth", UNROUTED),
    one(
        "depth-diff-100",
        lambda m: m.depth_socket("BNBBTC", interval=100),
        S,
        "bnbbtc@depth@100ms",
        UNROUTED,
    ),
    one(
        "depth-5-0",
        lambda m: m.depth_socket("bnbbtc", depth="5", interval=0),
        S,
        "bnbbtc@depth5",
        UNROUTED,
    ),
    one(
        "depth-20-int-100",
        lambda m: m.depth_socket("BNBBTC", depth=20, interval=100),
        S,
        "bnbbtc@depth20@100ms",
        UNROUTED,
    ),
    one("kline-default", lambda m: m.kline_socket("BNBBTC"), S, "bnbbtc@kline_1m", UNROUTED),
    one(
        "kline-1s",
        lambda m: m.kline_socket("BTCUSDT", interval=KLINE_INTERVAL_1SECOND),
        S,
        "btcusdt@kline_1s",
        UNROUTED,
    ),
    one(
        "kline-1M",
        lambda m: m.kline_socket("BTCUSDT", KLINE_INTERVAL_1MONTH),
        S,
        "btcusdt@kline_1M",
        UNROUTED,
    ),
    one("miniticker", lambda m: m.miniticker_socket(), S, "!miniTicker@arr", UNROUTED),
    one(
        "miniticker-1000",
        lambda m: m.miniticker_socket(update_time=1000),
        S,
        "!miniTicker@arr",
        UNROUTED,
    ),
    one("trade", lambda m: m.trade_socket("BTCUSDT"), S, "btcusdt@trade", UNROUTED),
    one("aggtrade", lambda m: m.aggtrade_socket("BTCUSDT"), S, "btcusdt@aggTrade", UNROUTED),
    one(
        "symbol-miniticker",
        lambda m: m.symbol_miniticker_socket("BTCUSDT"),
        S,
        "btcusdt@miniTicker",
        UNROUTED,
    ),
    one(
        "symbol-ticker", lambda m: m.symbol_ticker_socket("BTCUSDT"), S, "btcusdt@ticker", UNROUTED
    ),
    one(
        "symbol-book-ticker",
        lambda m: m.symbol_book_ticker_socket("BTCUSDT"),
        S,
        "btcusdt@bookTicker",
        UNROUTED,
    ),
    one("avg-price", lambda m: m.avg_price_socket("BTCUSDT"), S, "btcusdt@avgPrice", UNROUTED),
    many(
        "spot-multiplex",
        lambda m: m.multiplex_socket(
            ["btcusdt@trade", "ethusdt@depth@100ms", "btcusdt@trade", "!miniTicker@arr"]
        ),
        S,
        ("btcusdt@trade", UNROUTED),
        ("ethusdt@depth@100ms", UNROUTED),
        ("!miniTicker@arr", UNROUTED),
    ),
    many(
        "spot-multiplex-one",
        lambda m: m.multiplex_socket(("bnbbtc@kline_1m",)),
        S,
        ("bnbbtc@kline_1m", UNROUTED),
    ),
    # ---------------------------------------------------------------- USD-M
    one(
        "continuous-kline",
        lambda m: m.kline_futures_socket("BTCUSDT"),
        U,
        "btcusdt_perpetual@continuousKline_1m",
        MARKET,
    ),
    one(
        "continuous-kline-next-quarter",
        lambda m: m.kline_futures_socket("btcusdt", "1h", contract_type=ContractType.NEXT_QUARTER),
        U,
        "btcusdt_next_quarter@continuousKline_1h",
        MARKET,
    ),
    one(
        "continuous-kline-coin",
        lambda m: m.kline_futures_socket("BTCUSD", "5m", COIN_M, ContractType.CURRENT_QUARTER),
        C,
        "btcusd_current_quarter@continuousKline_5m",
        UNROUTED,
    ),
    one(
        "continuous-kline-pb-enums",
        lambda m: m.kline_futures_socket(
            "BTCUSD", "1w", PbFuturesType.COIN_M, PbContractType.NEXT_QUARTER
        ),
        C,
        "btcusd_next_quarter@continuousKline_1w",
        UNROUTED,
    ),
    one(
        "continuous-kline-strings",
        lambda m: m.kline_futures_socket(
            "BTCUSDT", futures_type="usd_m", contract_type="current_quarter"
        ),
        U,
        "btcusdt_current_quarter@continuousKline_1m",
        MARKET,
    ),
    one(
        "futures-kline",
        lambda m: m.futures_kline_socket("BTCUSDT", "15m"),
        U,
        "btcusdt@kline_15m",
        MARKET,
    ),
    one(
        "futures-kline-coin",
        lambda m: m.futures_kline_socket("BTCUSD_PERP", "1M", futures_type=COIN_M),
        C,
        "btcusd_perp@kline_1M",
        UNROUTED,
    ),
    one(
        "aggtrade-futures",
        lambda m: m.aggtrade_futures_socket("BTCUSDT"),
        U,
        "btcusdt@aggTrade",
        MARKET,
    ),
    one(
        "aggtrade-futures-coin",
        lambda m: m.aggtrade_futures_socket("btcusd_perp", futures_type=COIN_M),
        C,
        "btcusd_perp@aggTrade",
        UNROUTED,
    ),
    one(
        "aggtrade-futures-pb-usdm",
        lambda m: m.aggtrade_futures_socket("BTCUSDT", PbFuturesType.USD_M),
        U,
        "btcusdt@aggTrade",
        MARKET,
    ),
    one("futures-ticker", lambda m: m.futures_ticker_socket(), U, "!ticker@arr", MARKET),
    one("coin-ticker", lambda m: m.futures_coin_ticker_socket(), C, "!ticker@arr", UNROUTED),
    one(
        "index-price", lambda m: m.index_price_socket("BTCUSD"), C, "btcusd@indexPrice@1s", UNROUTED
    ),
    one(
        "index-price-slow",
        lambda m: m.index_price_socket("btcusd", fast=False),
        C,
        "btcusd@indexPrice",
        UNROUTED,
    ),
    one(
        "mark-price",
        lambda m: m.symbol_mark_price_socket("BTCUSDT"),
        U,
        "btcusdt@markPrice@1s",
        MARKET,
    ),
    one(
        "mark-price-slow",
        lambda m: m.symbol_mark_price_socket("BTCUSDT", fast=False),
        U,
        "btcusdt@markPrice",
        MARKET,
    ),
    one(
        "mark-price-coin",
        lambda m: m.symbol_mark_price_socket("BTCUSD_PERP", futures_type=COIN_M),
        C,
        "btcusd_perp@markPrice@1s",
        UNROUTED,
    ),
    one("all-mark-price", lambda m: m.all_mark_price_socket(), U, "!markPrice@arr@1s", MARKET),
    one(
        "all-mark-price-slow",
        lambda m: m.all_mark_price_socket(fast=False),
        U,
        "!markPrice@arr",
        MARKET,
    ),
    one(
        "all-mark-price-coin",
        lambda m: m.all_mark_price_socket(futures_type=COIN_M),
        C,
        "!markPrice@arr@1s",
        UNROUTED,
    ),
    one(
        "symbol-ticker-futures-is-book-ticker",
        lambda m: m.symbol_ticker_futures_socket("BTCUSDT"),
        U,
        "btcusdt@bookTicker",
        PUBLIC,
    ),
    one(
        "symbol-ticker-futures-coin",
        lambda m: m.symbol_ticker_futures_socket("BTCUSD_PERP", COIN_M),
        C,
        "btcusd_perp@bookTicker",
        UNROUTED,
    ),
    one(
        "individual-symbol-ticker-futures",
        lambda m: m.individual_symbol_ticker_futures_socket("BTCUSDT"),
        U,
        "btcusdt@ticker",
        MARKET,
    ),
    one("all-ticker-futures", lambda m: m.all_ticker_futures_socket(), U, "!bookTicker", PUBLIC),
    one(
        "all-ticker-futures-ticker-arr",
        lambda m: m.all_ticker_futures_socket("!ticker@arr"),
        U,
        "!ticker@arr",
        MARKET,
    ),
    one(
        "all-ticker-futures-miniticker",
        lambda m: m.all_ticker_futures_socket(channel="!miniTicker@arr"),
        U,
        "!miniTicker@arr",
        MARKET,
    ),
    one(
        "all-ticker-futures-coin",
        lambda m: m.all_ticker_futures_socket(futures_type=COIN_M),
        C,
        "!bookTicker",
        UNROUTED,
    ),
    one("futures-depth", lambda m: m.futures_depth_socket("BTCUSDT"), U, "btcusdt@depth10", PUBLIC),
    one(
        "futures-depth-5-100ms",
        lambda m: m.futures_depth_socket("BTCUSDT", depth=5, speed="100ms"),
        U,
        "btcusdt@depth5@100ms",
        PUBLIC,
    ),
    one(
        "futures-depth-20-500",
        lambda m: m.futures_depth_socket("BTCUSDT", "20", speed=500),
        U,
        "btcusdt@depth20@500ms",
        PUBLIC,
    ),
    one(
        "futures-depth-coin",
        lambda m: m.futures_depth_socket("BTCUSD_PERP", "5", COIN_M),
        C,
        "btcusd_perp@depth5",
        UNROUTED,
    ),
    one(
        "futures-diff-depth",
        lambda m: m.futures_diff_depth_socket("BTCUSDT"),
        U,
        "btcusdt@depth",
        PUBLIC,
    ),
    one(
        "futures-diff-depth-250ms",
        lambda m: m.futures_diff_depth_socket("BTCUSDT", speed="250ms"),
        U,
        "btcusdt@depth",
        PUBLIC,
    ),
    one(
        "futures-diff-depth-100ms",
        lambda m: m.futures_diff_depth_socket("BTCUSDT", "100ms"),
        U,
        "btcusdt@depth@100ms",
        PUBLIC,
    ),
    one(
        "futures-diff-depth-500ms-coin",
        lambda m: m.futures_diff_depth_socket("BTCUSD_PERP", 500, COIN_M),
        C,
        "btcusd_perp@depth@500ms",
        UNROUTED,
    ),
    one(
        "futures-rpi-depth",
        lambda m: m.futures_rpi_depth_socket("BTCUSDT"),
        U,
        "btcusdt@rpiDepth@500ms",
        PUBLIC,
    ),
    one("force-order-all", lambda m: m.force_order_socket(), U, "!forceOrder@arr", MARKET),
    one(
        "force-order",
        lambda m: m.force_order_socket("BTCUSDT"),
        U,
        "btcusdt@forceOrder",
        MARKET,
    ),
    one(
        "force-order-coin",
        lambda m: m.force_order_socket(futures_type=COIN_M),
        C,
        "!forceOrder@arr",
        UNROUTED,
    ),
    many(
        "futures-multiplex-routed",
        lambda m: m.futures_multiplex_socket(
            [
                "btcusdt@aggTrade",
                "btcusdt@depth@100ms",
                "btcusdt@bookTicker",
                "!bookTicker",
                "!markPrice@arr@1s",
                "btcusdt_perpetual@continuousKline_1m",
                "ethusdt@depth5@500ms",
                "btcusdt@rpiDepth@500ms",
                "!contractInfo",
                "tradingSession",
                "btcusdt@aggTrade",
            ]
        ),
        U,
        ("btcusdt@aggTrade", MARKET),
        ("btcusdt@depth@100ms", PUBLIC),
        ("btcusdt@bookTicker", PUBLIC),
        ("!bookTicker", PUBLIC),
        ("!markPrice@arr@1s", MARKET),
        ("btcusdt_perpetual@continuousKline_1m", MARKET),
        ("ethusdt@depth5@500ms", PUBLIC),
        ("btcusdt@rpiDepth@500ms", PUBLIC),
        ("!contractInfo", MARKET),
        ("tradingSession", MARKET),
    ),
    many(
        "futures-multiplex-unknown-default-market",
        lambda m: m.futures_multiplex_socket(["btcusdt@newThing", "btcusdt@depth"]),
        U,
        ("btcusdt@newThing", MARKET),
        ("btcusdt@depth", PUBLIC),
    ),
    many(
        "futures-multiplex-unknown-category-public",
        lambda m: m.futures_multiplex_socket(
            ["btcusdt@newThing", "btcusdt@aggTrade"], category="public"
        ),
        U,
        ("btcusdt@newThing", PUBLIC),
        ("btcusdt@aggTrade", MARKET),
    ),
    many(
        "futures-multiplex-coin",
        lambda m: m.futures_multiplex_socket(
            ["btcusd_perp@aggTrade", "btcusd_perp@depth"], futures_type=COIN_M
        ),
        C,
        ("btcusd_perp@aggTrade", UNROUTED),
        ("btcusd_perp@depth", UNROUTED),
    ),
    # --------------------------------------------------------------- options
    one(
        "options-ticker",
        lambda m: m.options_ticker_socket(OPT),
        OP,
        f"{OPT_LOWER}@optionTicker",
        PUBLIC,
    ),
    one(
        "options-ticker-by-expiration",
        lambda m: m.options_ticker_by_expiration_socket("BTCUSDT", "251226"),
        OP,
        "btcusdt@optionTicker@251226",
        PUBLIC,
    ),
    one(
        "options-trades",
        lambda m: m.options_recent_trades_socket(OPT),
        OP,
        f"{OPT_LOWER}@optionTrade",
        PUBLIC,
    ),
    one(
        "options-kline",
        lambda m: m.options_kline_socket(OPT),
        OP,
        f"{OPT_LOWER}@kline_1m",
        MARKET,
    ),
    one(
        "options-kline-1w",
        lambda m: m.options_kline_socket(OPT, KLINE_INTERVAL_1WEEK),
        OP,
        f"{OPT_LOWER}@kline_1w",
        MARKET,
    ),
    one(
        "options-depth",
        lambda m: m.options_depth_socket(OPT),
        OP,
        f"{OPT_LOWER}@depth10@500ms",
        PUBLIC,
    ),
    one(
        "options-depth-5-100ms",
        lambda m: m.options_depth_socket(OPT, depth=5, speed="100ms"),
        OP,
        f"{OPT_LOWER}@depth5@100ms",
        PUBLIC,
    ),
    one(
        "options-diff-depth",
        lambda m: m.options_diff_depth_socket(OPT),
        OP,
        f"{OPT_LOWER}@depth@500ms",
        PUBLIC,
    ),
    one(
        "options-diff-depth-100",
        lambda m: m.options_diff_depth_socket(OPT, speed=100),
        OP,
        f"{OPT_LOWER}@depth@100ms",
        PUBLIC,
    ),
    one(
        "options-book-ticker",
        lambda m: m.options_book_ticker_socket(OPT),
        OP,
        f"{OPT_LOWER}@bookTicker",
        PUBLIC,
    ),
    one("options-new-symbol", lambda m: m.options_new_symbol_socket(), OP, "!optionSymbol", MARKET),
    one(
        "options-open-interest",
        lambda m: m.options_open_interest_socket("ETHUSDT", "221125"),
        OP,
        "ethusdt@optionOpenInterest@221125",
        MARKET,
    ),
    one(
        "options-mark-price",
        lambda m: m.options_mark_price_socket("BTCUSDT"),
        OP,
        "btcusdt@optionMarkPrice",
        MARKET,
    ),
    one("options-index-price", lambda m: m.options_index_price_socket(), OP, "!index@arr", MARKET),
    many(
        "options-multiplex-routed",
        lambda m: m.options_multiplex_socket(
            [
                f"{OPT_LOWER}@optionTicker",
                "btcusdt@optionTicker@251226",
                f"{OPT_LOWER}@optionTrade",
                f"{OPT_LOWER}@bookTicker",
                f"{OPT_LOWER}@depth10@100ms",
                f"{OPT_LOWER}@kline_5m",
                "btcusdt@optionMarkPrice",
                "!index@arr",
                "ethusdt@optionOpenInterest@221125",
                "ethusdt@openInterest@221125",
                "!optionSymbol",
                "btcusdt@somethingNew",
            ]
        ),
        OP,
        (f"{OPT_LOWER}@optionTicker", PUBLIC),
        ("btcusdt@optionTicker@251226", PUBLIC),
        (f"{OPT_LOWER}@optionTrade", PUBLIC),
        (f"{OPT_LOWER}@bookTicker", PUBLIC),
        (f"{OPT_LOWER}@depth10@100ms", PUBLIC),
        (f"{OPT_LOWER}@kline_5m", MARKET),
        ("btcusdt@optionMarkPrice", MARKET),
        ("!index@arr", MARKET),
        ("ethusdt@optionOpenInterest@221125", MARKET),
        ("ethusdt@openInterest@221125", MARKET),
        ("!optionSymbol", MARKET),
        ("btcusdt@somethingNew", MARKET),
    ),
]


def record(call: Callable[[Recorder], Any]) -> StreamRequest:
    """The request ``call`` makes of the engine."""
    request = call(Recorder())
    assert isinstance(request, StreamRequest)
    return request


def urls(request: StreamRequest, endpoints: Endpoints) -> list[tuple[str, str]]:
    """(stream, URL the engine dials for it) for every stream of ``request``."""
    return [
        (stream, connection_url(endpoints.route_url(request.product, route)))
        for stream, route in zip(request.streams, request.routes, strict=True)
    ]


@pytest.mark.parametrize("env", sorted(ENDPOINTS))
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden_stream_table(case: Case, env: str) -> None:
    request = record(case.call)
    assert request.product is case.product
    assert request.multiplex is case.multiplex
    host = HOSTS[env][case.product]
    assert urls(request, ENDPOINTS[env]) == [(name, host + path) for name, path in case.streams]


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


PUBLIC_METHODS = sorted(
    name for name in dir(StreamMethods) if name.endswith("_socket") and not name.startswith("_")
)


def test_every_method_is_in_the_table() -> None:
    covered: set[str] = set()

    class Spy(Recorder):
        def __getattribute__(self, name: str) -> Any:
            if name.endswith("_socket"):
                covered.add(name)
            return super().__getattribute__(name)

    for case in CASES:
        case.call(Spy())
    retired = {"ticker_socket", "book_ticker_socket"}  # covered in test_stream_validation
    assert sorted(covered | retired) == PUBLIC_METHODS
    assert len(PUBLIC_METHODS) == 40


# ---------------------------------------------------------------------------
# python-binance's URL assertions (test_ws_urls_integration.py), in 2026 form:
# we always dial ``/stream`` and SUBSCRIBE; the route comes from the stream type.
# ---------------------------------------------------------------------------

PYTHON_BINANCE_PORT = [
    ("com", lambda m: m.symbol_ticker_futures_socket("btcusdt"), PUBLIC, "btcusdt@bookTicker"),
    ("com", lambda m: m.futures_depth_socket("btcusdt", depth="10"), PUBLIC, "btcusdt@depth10"),
    ("com", lambda m: m.futures_rpi_depth_socket("btcusdt"), PUBLIC, "btcusdt@rpiDepth@500ms"),
    ("com", lambda m: m.all_ticker_futures_socket(), PUBLIC, "!bookTicker"),
    ("com", lambda m: m.futures_depth_socket("ethusdt"), PUBLIC, "ethusdt@depth10"),
    ("com", lambda m: m.aggtrade_futures_socket("btcusdt"), MARKET, "btcusdt@aggTrade"),
    (
        "com",
        lambda m: m.kline_futures_socket("btcusdt"),
        MARKET,
        "btcusdt_perpetual@continuousKline_1m",
    ),
    ("com", lambda m: m.futures_ticker_socket(), MARKET, "!ticker@arr"),
    ("com", lambda m: m.symbol_mark_price_socket("btcusdt"), MARKET, "btcusdt@markPrice@1s"),
    (
        "com",
        lambda m: m.symbol_mark_price_socket("btcusdt", fast=False),
        MARKET,
        "btcusdt@markPrice",
    ),
    ("com", lambda m: m.all_mark_price_socket(), MARKET, "!markPrice@arr@1s"),
    (
        "com",
        lambda m: m.individual_symbol_ticker_futures_socket("btcusdt"),
        MARKET,
        "btcusdt@ticker",
    ),
    ("com", lambda m: m.all_ticker_futures_socket("!ticker@arr"), MARKET, "!ticker@arr"),
    ("testnet", lambda m: m.aggtrade_futures_socket("btcusdt"), MARKET, "btcusdt@aggTrade"),
    ("testnet", lambda m: m.futures_depth_socket("btcusdt"), PUBLIC, "btcusdt@depth10"),
    ("demo", lambda m: m.aggtrade_futures_socket("btcusdt"), MARKET, "btcusdt@aggTrade"),
    ("demo", lambda m: m.futures_depth_socket("btcusdt"), PUBLIC, "btcusdt@depth10"),
    ("demo", lambda m: m.symbol_mark_price_socket("btcusdt"), MARKET, "btcusdt@markPrice@1s"),
    ("demo", lambda m: m.symbol_ticker_futures_socket("btcusdt"), PUBLIC, "btcusdt@bookTicker"),
]

FSTREAM_URLS = {
    ("com", PUBLIC): "wss://fstream.binance.com/public/stream",
    ("com", MARKET): "wss://fstream.binance.com/market/stream",
    ("testnet", PUBLIC): "wss://fstream.binancefuture.com/public/stream",
    ("testnet", MARKET): "wss://fstream.binancefuture.com/market/stream",
    ("demo", PUBLIC): "wss://fstream.binancefuture.com/public/stream",
    ("demo", MARKET): "wss://fstream.binancefuture.com/market/stream",
}


@pytest.mark.parametrize(("env", "call", "path", "stream"), PYTHON_BINANCE_PORT)
def test_python_binance_usdm_urls(
    env: str, call: Callable[[Recorder], Any], path: str, stream: str
) -> None:
    request = record(call)
    assert urls(request, ENDPOINTS[env]) == [(stream, FSTREAM_URLS[env, path])]


def test_python_binance_multiplex_urls() -> None:
    default = record(lambda m: m.futures_multiplex_socket(["btcusdt@aggTrade", "ethusdt@aggTrade"]))
    assert urls(default, ENDPOINTS["com"]) == [
        ("btcusdt@aggTrade", "wss://fstream.binance.com/market/stream"),
        ("ethusdt@aggTrade", "wss://fstream.binance.com/market/stream"),
    ]
    public = record(lambda m: m.futures_multiplex_socket(["btcusdt@depth10"], category="public"))
    assert urls(public, ENDPOINTS["com"]) == [
        ("btcusdt@depth10", "wss://fstream.binance.com/public/stream")
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.futures_coin_ticker_socket(),
        lambda m: m.index_price_socket("btcusd"),
        lambda m: m.aggtrade_futures_socket("btcusd_perp", futures_type=FuturesType.COIN_M),
    ],
)
def test_python_binance_coin_m_is_unrouted(call: Callable[[Recorder], Any]) -> None:
    request = record(call)
    assert request.routes == ("",)
    assert urls(request, ENDPOINTS["com"])[0][1] == "wss://dstream.binance.com/stream"


@pytest.mark.parametrize(
    "call", [lambda m: m.depth_socket("btcusdt"), lambda m: m.kline_socket("btcusdt")]
)
def test_python_binance_spot_is_unrouted(call: Callable[[Recorder], Any]) -> None:
    request = record(call)
    assert request.routes == ("",)
    assert urls(request, ENDPOINTS["com"])[0][1] == "wss://stream.binance.com:9443/stream"


def test_usdm_and_coinm_all_market_tickers_are_distinct_requests() -> None:
    # python-binance cached both under one key and returned the wrong exchange.
    assert record(lambda m: m.futures_ticker_socket()) != record(
        lambda m: m.futures_coin_ticker_socket()
    )
    usdm = record(lambda m: m.all_mark_price_socket())
    coinm = record(lambda m: m.all_mark_price_socket(futures_type=FuturesType.COIN_M))
    assert (usdm.product, coinm.product) == (Product.USDM, Product.COINM)
