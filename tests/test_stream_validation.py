"""Bad input to the stream methods fails at call time with a ValueError naming what is allowed."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import pytest

from trio_binance._enums import (
    ContractType,
    FuturesType,
    coerce_contract_type,
    coerce_futures_type,
)
from trio_binance._stream_methods import StreamMethods
from trio_binance._streams import RetiredStreamError, StreamRequest, stream_kind


class Recorder(StreamMethods):
    def _open(self, request: StreamRequest) -> Any:
        return request


def record(call: Callable[[Recorder], Any]) -> StreamRequest:
    """The request ``call`` makes of the engine."""
    request = call(Recorder())
    assert isinstance(request, StreamRequest)
    return request


Call = Callable[[Recorder], Any]


def raises(call: Call, *fragments: str) -> str:
    """Run ``call`` and return its ValueError message, checking it names ``fragments``."""
    with pytest.raises(ValueError) as info:
        call(Recorder())
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


FUTURES_INTERVALS = (
    "'1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'"
)
SPOT_INTERVALS = "'1s', " + FUTURES_INTERVALS
OPTIONS_INTERVALS = (
    "'1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d', '3d', '1w'"
)


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("call", "allowed"),
    [
        (lambda m: m.kline_socket("BTCUSDT", "2m"), SPOT_INTERVALS),
        (lambda m: m.kline_socket("BTCUSDT", "1S"), SPOT_INTERVALS),
        (lambda m: m.kline_socket("BTCUSDT", 1), SPOT_INTERVALS),
        (lambda m: m.kline_futures_socket("BTCUSDT", "1s"), FUTURES_INTERVALS),
        (
            lambda m: m.kline_futures_socket("BTCUSD", "1s", FuturesType.COIN_M),
            FUTURES_INTERVALS,
        ),
        (lambda m: m.futures_kline_socket("BTCUSDT", "1s"), FUTURES_INTERVALS),
        (lambda m: m.futures_kline_socket("BTCUSDT", "2d"), FUTURES_INTERVALS),
        (lambda m: m.options_kline_socket("BTC-251226-110000-C", "8h"), OPTIONS_INTERVALS),
        (lambda m: m.options_kline_socket("BTC-251226-110000-C", "1M"), OPTIONS_INTERVALS),
        (lambda m: m.options_kline_socket("BTC-251226-110000-C", "1s"), OPTIONS_INTERVALS),
    ],
)
def test_unknown_kline_interval_lists_the_products_intervals(call: Call, allowed: str) -> None:
    message = raises(call, "kline interval must be one of", allowed)
    assert "got" in message


def test_interval_message_names_the_product() -> None:
    raises(lambda m: m.kline_socket("BTCUSDT", "2m"), "spot kline interval")
    raises(lambda m: m.futures_kline_socket("BTCUSDT", "2m"), "usdm kline interval")
    raises(
        lambda m: m.futures_kline_socket("BTCUSD_PERP", "2m", FuturesType.COIN_M),
        "coinm kline interval",
    )
    raises(lambda m: m.options_kline_socket("BTC-251226-110000-C", "2m"), "options kline interval")


# ---------------------------------------------------------------- depth and speed


@pytest.mark.parametrize("depth", [0, 3, "15", "100", "depth5", 5.0, True, [5]])
def test_spot_depth(depth: Any) -> None:
    raises(
        lambda m: m.depth_socket("BTCUSDT", depth=depth),
        "depth must be one of None, '1', '5', '10', '20'",
        "(str or int)",
        f"got {depth!r}",
    )


@pytest.mark.parametrize("interval", [1, 10, 250, 1000, "100", "100ms", True])
def test_spot_depth_interval(interval: Any) -> None:
    raises(
        lambda m: m.depth_socket("BTCUSDT", interval=interval),
        "interval (ms) must be one of None, 0, 100",
        f"got {interval!r}",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.futures_depth_socket("BTCUSDT", depth="1"),
        lambda m: m.futures_depth_socket("BTCUSDT", depth=None),
        lambda m: m.futures_depth_socket("BTCUSDT", depth=50),
        lambda m: m.options_depth_socket("BTC-251226-110000-C", depth="50"),
        lambda m: m.options_depth_socket("BTC-251226-110000-C", depth=1),
    ],
)
def test_partial_depth(call: Call) -> None:
    raises(call, "depth must be one of '5', '10', '20' (str or int)")


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.futures_diff_depth_socket("BTCUSDT", speed="0ms"),
        lambda m: m.futures_diff_depth_socket("BTCUSDT", speed="1s"),
        lambda m: m.futures_diff_depth_socket("BTCUSDT", speed=1000),
        lambda m: m.futures_depth_socket("BTCUSDT", speed="200ms"),
    ],
)
def test_futures_speed(call: Call) -> None:
    raises(
        call,
        "speed must be one of None, '250ms', '500ms', '100ms'",
        "int number of milliseconds",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.options_depth_socket("BTC-251226-110000-C", speed="250ms"),
        lambda m: m.options_depth_socket("BTC-251226-110000-C", speed=None),
        lambda m: m.options_diff_depth_socket("BTC-251226-110000-C", speed="1000ms"),
        lambda m: m.options_diff_depth_socket("BTC-251226-110000-C", speed=250),
    ],
)
def test_options_speed(call: Call) -> None:
    raises(call, "speed must be one of '500ms', '100ms'")


@pytest.mark.parametrize("update_time", [100, 500, 2000, 3000, "1000", None])
def test_miniticker_update_time(update_time: Any) -> None:
    raises(
        lambda m: m.miniticker_socket(update_time=update_time),
        "update_time (ms) must be one of 1000",
    )


# ---------------------------------------------------------------- enums


class OtherFuturesType(enum.Enum):
    SPOT = 0
    OPTIONS = 3


@pytest.mark.parametrize("futures_type", ["SPOT", "usdm", 1, None, OtherFuturesType.SPOT, "coin"])
@pytest.mark.parametrize(
    "call",
    [
        lambda m, ft: m.aggtrade_futures_socket("BTCUSDT", futures_type=ft),
        lambda m, ft: m.kline_futures_socket("BTCUSDT", futures_type=ft),
        lambda m, ft: m.futures_depth_socket("BTCUSDT", futures_type=ft),
        lambda m, ft: m.all_mark_price_socket(futures_type=ft),
        lambda m, ft: m.futures_multiplex_socket(["btcusdt@aggTrade"], futures_type=ft),
        lambda m, ft: m.force_order_socket(futures_type=ft),
    ],
)
def test_futures_type(futures_type: object, call: Callable[[Recorder, object], Any]) -> None:
    raises(
        lambda m: call(m, futures_type),
        "futures_type must be one of FuturesType.USD_M, FuturesType.COIN_M",
        f"got {futures_type!r}",
    )


@pytest.mark.parametrize("contract_type", ["PERP", "quarterly", 0, None, FuturesType.USD_M])
def test_contract_type(contract_type: Any) -> None:
    raises(
        lambda m: m.kline_futures_socket("BTCUSDT", contract_type=contract_type),
        "contract_type must be one of ContractType.PERPETUAL, ContractType.CURRENT_QUARTER, "
        "ContractType.NEXT_QUARTER",
    )


def test_enum_coercion_accepts_python_binance_members_and_strings() -> None:
    class PbFuturesType(enum.Enum):
        USD_M = 1
        COIN_M = 2

    class PbContractType(enum.Enum):
        PERPETUAL = "perpetual"
        CURRENT_QUARTER = "current_quarter"
        NEXT_QUARTER = "next_quarter"

    assert coerce_futures_type(PbFuturesType.COIN_M) is FuturesType.COIN_M
    assert coerce_futures_type("USD_M") is FuturesType.USD_M
    assert coerce_futures_type("coin_m") is FuturesType.COIN_M
    assert coerce_contract_type(PbContractType.NEXT_QUARTER) is ContractType.NEXT_QUARTER
    assert coerce_contract_type("current_quarter") is ContractType.CURRENT_QUARTER
    assert coerce_contract_type("PERPETUAL") is ContractType.PERPETUAL


def test_rpi_depth_is_usdm_only() -> None:
    raises(
        lambda m: m.futures_rpi_depth_socket("BTCUSD_PERP", FuturesType.COIN_M),
        "USD-M only",
        "FuturesType.USD_M",
    )


@pytest.mark.parametrize("category", ["private", "Market", "", None, "pm"])
def test_futures_multiplex_category(category: Any) -> None:
    raises(
        lambda m: m.futures_multiplex_socket(["btcusdt@aggTrade"], category=category),
        "category must be one of 'market', 'public'",
    )


# ---------------------------------------------------------------- symbols

BAD_SYMBOLS = [
    "",
    "btcusdt@trade/ethusdt",
    "btcusdt@trade",
    "btc/usdt",
    "!ticker",
    "btc usdt",
    " btcusdt",
    "btcusdt\n",
    "btcusdt?x=1",
    "btc&usdt",
    "btc#usdt",
    "btc%2Fusdt",
    "btc.usdt",
    "BTCUSDT\u0131",  # non-ASCII letter
    None,
    123,
    b"btcusdt",
]

SYMBOL_METHODS = [
    lambda m, s: m.depth_socket(s),
    lambda m, s: m.kline_socket(s),
    lambda m, s: m.trade_socket(s),
    lambda m, s: m.aggtrade_socket(s),
    lambda m, s: m.symbol_miniticker_socket(s),
    lambda m, s: m.symbol_ticker_socket(s),
    lambda m, s: m.symbol_book_ticker_socket(s),
    lambda m, s: m.avg_price_socket(s),
    lambda m, s: m.kline_futures_socket(s),
    lambda m, s: m.futures_kline_socket(s),
    lambda m, s: m.aggtrade_futures_socket(s),
    lambda m, s: m.index_price_socket(s),
    lambda m, s: m.symbol_mark_price_socket(s),
    lambda m, s: m.symbol_ticker_futures_socket(s),
    lambda m, s: m.individual_symbol_ticker_futures_socket(s),
    lambda m, s: m.futures_depth_socket(s),
    lambda m, s: m.futures_diff_depth_socket(s),
    lambda m, s: m.futures_rpi_depth_socket(s),
    lambda m, s: m.force_order_socket(s) if s is not None else m.force_order_socket(""),
    lambda m, s: m.options_ticker_socket(s),
    lambda m, s: m.options_ticker_by_expiration_socket(s, "251226"),
    lambda m, s: m.options_recent_trades_socket(s),
    lambda m, s: m.options_kline_socket(s),
    lambda m, s: m.options_depth_socket(s),
    lambda m, s: m.options_diff_depth_socket(s),
    lambda m, s: m.options_book_ticker_socket(s),
    lambda m, s: m.options_open_interest_socket(s, "251226"),
    lambda m, s: m.options_mark_price_socket(s),
]


@pytest.mark.parametrize("symbol", BAD_SYMBOLS)
@pytest.mark.parametrize("method", SYMBOL_METHODS)
def test_bad_symbol(method: Callable[[Recorder, object], Any], symbol: object) -> None:
    raises(
        lambda m: method(m, symbol),
        "must be a non-empty string of ASCII letters, digits, '_' and '-'",
        "'BTCUSD_PERP'",
        "'BTC-251226-110000-C'",
    )


def test_injection_cannot_add_a_stream() -> None:
    message = raises(lambda m: m.trade_socket("btcusdt@trade/ethusdt"), "symbol")
    assert "'btcusdt@trade/ethusdt'" in message


def test_symbol_message_says_pair_or_underlying() -> None:
    raises(lambda m: m.index_price_socket("btc usd"), "symbol (pair)")
    raises(lambda m: m.options_mark_price_socket("btc usd"), "symbol (underlying)")


# ---------------------------------------------------------------- expiration dates


@pytest.mark.parametrize(
    "expiration_date", ["", "25122", "2512260", "20251226", "251332", "250230", "25-12-26", 251226]
)
@pytest.mark.parametrize(
    "method",
    [
        lambda m, d: m.options_ticker_by_expiration_socket("BTCUSDT", d),
        lambda m, d: m.options_open_interest_socket("BTCUSDT", d),
    ],
)
def test_bad_expiration_date(
    method: Callable[[Recorder, object], Any], expiration_date: object
) -> None:
    raises(
        lambda m: method(m, expiration_date),
        "expiration_date must be a date written YYMMDD",
        "e.g. '251226'",
        f"got {expiration_date!r}",
    )


def test_expiration_date_that_injects_is_rejected() -> None:
    raises(
        lambda m: m.options_open_interest_socket("ETHUSDT", "221125/btcusdt@trade"),
        "YYMMDD",
    )


# ---------------------------------------------------------------- multiplex lists

MULTIPLEX_METHODS = [
    lambda m, s: m.multiplex_socket(s),
    lambda m, s: m.futures_multiplex_socket(s),
    lambda m, s: m.futures_multiplex_socket(s, futures_type=FuturesType.COIN_M),
    lambda m, s: m.options_multiplex_socket(s),
]


@pytest.mark.parametrize("streams", [[], (), iter([])])
@pytest.mark.parametrize("method", MULTIPLEX_METHODS)
def test_empty_multiplex_list(method: Callable[[Recorder, object], Any], streams: object) -> None:
    raises(lambda m: method(m, streams), "at least one stream", "['btcusdt@trade']")


@pytest.mark.parametrize("streams", ["btcusdt@trade", b"btcusdt@trade", None, 3])
@pytest.mark.parametrize("method", MULTIPLEX_METHODS)
def test_multiplex_needs_a_list(method: Callable[[Recorder, object], Any], streams: object) -> None:
    raises(lambda m: method(m, streams), "streams must be a list of stream names")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "btcusdt@trade/ethusdt@trade",
        "btcusdt@trade?timeUnit=MICROSECOND",
        "btcusdt@trade&x",
        "btcusdt@trade#frag",
        "btcusdt@trade%2F",
        "btcusdt @trade",
        "btcusdt@trade\n",
        "\tbtcusdt@trade",
        "btcusdt@trade\x00",
        None,
        5,
    ],
)
@pytest.mark.parametrize("method", MULTIPLEX_METHODS)
def test_malformed_stream_name(method: Callable[[Recorder, object], Any], bad: object) -> None:
    raises(
        lambda m: method(m, ["btcusdt@aggTrade", bad]),
        "a stream name must be a non-empty string without '/', '?', '&', '#', '%' or whitespace",
        f"got {bad!r}",
    )


def test_all_ticker_futures_channel_is_validated() -> None:
    raises(lambda m: m.all_ticker_futures_socket("!bookTicker/btcusdt@trade"), "stream name")
    raises(lambda m: m.all_ticker_futures_socket(""), "stream name")


# ---------------------------------------------------------------- retired spot streams

TICKER_RETIRED = ("2026-03-26", "symbol_ticker_socket(symbol)", "!miniTicker@arr")
BOOK_TICKER_RETIRED = ("2022-12-07", "symbol_book_ticker_socket(symbol)")


@pytest.mark.parametrize(
    ("call", "fragments"),
    [
        (lambda m: m.ticker_socket(), TICKER_RETIRED),
        (lambda m: m.book_ticker_socket(), BOOK_TICKER_RETIRED),
        (lambda m: m.multiplex_socket(["btcusdt@trade", "!ticker@arr"]), TICKER_RETIRED),
        (lambda m: m.multiplex_socket(["!bookTicker"]), BOOK_TICKER_RETIRED),
    ],
)
def test_retired_spot_streams(call: Call, fragments: tuple[str, ...]) -> None:
    with pytest.raises(RetiredStreamError) as info:
        call(Recorder())
    assert isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_retired_names_are_live_on_futures() -> None:
    assert record(lambda m: m.futures_ticker_socket()).streams == ("!ticker@arr",)
    assert record(lambda m: m.all_ticker_futures_socket("!bookTicker")).streams == ("!bookTicker",)
    both = record(lambda m: m.futures_multiplex_socket(["!ticker@arr", "!bookTicker"]))
    assert both.routes == ("market", "public")


def test_spot_hourly_window_ticker_is_not_mistaken_for_the_retired_one() -> None:
    request = record(lambda m: m.multiplex_socket(["!ticker_1h@arr", "btcusdt@ticker_4h"]))
    assert request.streams == ("!ticker_1h@arr", "btcusdt@ticker_4h")


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("stream", "kind"),
    [
        ("btcusdt@depth10@100ms", "depth"),
        ("btcusdt@rpiDepth@500ms", "rpiDepth"),
        ("btcusdt_perpetual@continuousKline_1m", "continuousKline"),
        ("!markPrice@arr@1s", "!markPrice"),
        ("!bookTicker", "!bookTicker"),
        ("tradingSession", "tradingSession"),
        ("btc-251226-110000-c@optionTicker", "optionTicker"),
        ("btcusdt@optionTicker@251226", "optionTicker"),
        ("!index@arr", "!index"),
        ("btcusdt@", ""),
    ],
)
def test_stream_kind(stream: str, kind: str) -> None:
    assert stream_kind(stream) == kind
