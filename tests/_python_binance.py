"""python-binance 1.0.37's public API, as its released source declares it.

This is the reference ``tests/test_python_binance_parity.py`` pins trio_binance to.
It was extracted once from the released package (``pip install -e ".[bench]"``
installs python-binance 1.0.37) with::

    python -m tests._python_binance

which prints the three tables below from the installed package.  The parity tests
compare these tables with the installed package when there is one, and are skipped
otherwise (CI installs ``.[test]`` only), so the tables cannot silently go stale.

* :data:`SIGNATURES`: every public method of the classes a python-binance user
  touches (``threading.Thread``'s own methods left out), as text: parameters in order
  without ``self`` and without annotations, ``name=default`` where there is a
  default (enum members as ``Type.MEMBER``, classes and functions by name), an
  ``async`` prefix for coroutine methods.
* :data:`CONSTANTS`: their public class constants.
* :data:`URL_MODES`: for each ``BinanceSocketManager`` stream method, how the
  socket's URL ends, which decides the message shape python-binance delivers:
  ``"raw"`` (``ws/<stream>``: bare payloads), ``"combined"`` (``stream?streams=<one
  stream>``: ``{"stream", "data"}`` envelopes) or ``"multiplex"`` (``stream?`` with
  ``streams=a/b``: envelopes; the socket is named ``streams=a/b``).
"""

from __future__ import annotations

import enum
import inspect
import threading
from collections.abc import Callable
from typing import Any

PYTHON_BINANCE_VERSION = "1.0.37"

SIGNATURES: dict[str, dict[str, str]] = {
    "BinanceSocketManager": {
        "__init__": "(client, user_timeout=300, max_queue_size=100, verbose=False)",
        "aggtrade_futures_socket": "(symbol, futures_type=FuturesType.USD_M)",
        "aggtrade_socket": "(symbol)",
        "all_mark_price_socket": "(fast=True, futures_type=FuturesType.USD_M)",
        "all_ticker_futures_socket": "(channel='!bookTicker', futures_type=FuturesType.USD_M)",
        "book_ticker_socket": "()",
        "coin_futures_socket": "()",
        "coin_futures_user_socket": "()",
        "depth_socket": "(symbol, depth=None, interval=None)",
        "futures_coin_ticker_socket": "()",
        "futures_depth_socket": "(symbol, depth='10', futures_type=FuturesType.USD_M)",
        "futures_multiplex_socket": (
            "(streams, futures_type=FuturesType.USD_M, category='market')"
        ),
        "futures_rpi_depth_socket": "(symbol, futures_type=FuturesType.USD_M)",
        "futures_socket": "()",
        "futures_ticker_socket": "()",
        "futures_user_socket": "()",
        "index_price_socket": "(symbol, fast=True)",
        "individual_symbol_ticker_futures_socket": "(symbol, futures_type=FuturesType.USD_M)",
        "isolated_margin_socket": "(symbol)",
        "kline_futures_socket": (
            "(symbol, interval='1m', futures_type=FuturesType.USD_M, "
            "contract_type=ContractType.PERPETUAL)"
        ),
        "kline_socket": "(symbol, interval='1m')",
        "margin_socket": "()",
        "miniticker_socket": "(update_time=1000)",
        "multiplex_socket": "(streams)",
        "options_book_ticker_socket": "(symbol)",
        "options_depth_socket": "(symbol, depth='10', speed='500ms')",
        "options_index_price_socket": "()",
        "options_kline_socket": "(symbol, interval='1m')",
        "options_mark_price_socket": "(symbol)",
        "options_multiplex_socket": "(streams)",
        "options_new_symbol_socket": "()",
        "options_open_interest_socket": "(symbol, expiration_date)",
        "options_recent_trades_socket": "(symbol)",
        "options_ticker_by_expiration_socket": "(symbol, expiration_date)",
        "options_ticker_socket": "(symbol)",
        "portfolio_margin_socket": "()",
        "symbol_book_ticker_socket": "(symbol)",
        "symbol_mark_price_socket": "(symbol, fast=True, futures_type=FuturesType.USD_M)",
        "symbol_miniticker_socket": "(symbol)",
        "symbol_ticker_futures_socket": "(symbol, futures_type=FuturesType.USD_M)",
        "symbol_ticker_socket": "(symbol)",
        "ticker_socket": "()",
        "trade_socket": "(symbol)",
        "user_socket": "()",
    },
    "ThreadedWebsocketManager": {
        "__init__": (
            "(api_key=None, api_secret=None, requests_params=None, tld='com', "
            "testnet=False, session_params=None, https_proxy=None, loop=None, "
            "max_queue_size=100)"
        ),
        "socket_listener": "async ()",
        "start_aggtrade_futures_socket": "(callback, symbol, futures_type=FuturesType.USD_M)",
        "start_aggtrade_socket": "(callback, symbol)",
        "start_all_mark_price_socket": "(callback, fast=True, futures_type=FuturesType.USD_M)",
        "start_all_ticker_futures_socket": "(callback, futures_type=FuturesType.USD_M)",
        "start_book_ticker_socket": "(callback)",
        "start_coin_futures_socket": "(callback)",
        "start_coin_futures_user_socket": "(callback)",
        "start_depth_socket": "(callback, symbol, depth=None, interval=None)",
        "start_futures_depth_socket": (
            "(callback, symbol, depth='10', futures_type=FuturesType.USD_M)"
        ),
        "start_futures_multiplex_socket": "(callback, streams, futures_type=FuturesType.USD_M)",
        "start_futures_socket": "(callback)",
        "start_futures_user_socket": "(callback)",
        "start_index_price_socket": "(callback, symbol, fast=True)",
        "start_individual_symbol_ticker_futures_socket": (
            "(callback, symbol, futures_type=FuturesType.USD_M)"
        ),
        "start_isolated_margin_socket": "(callback, symbol)",
        "start_kline_futures_socket": (
            "(callback, symbol, interval='1m', futures_type=FuturesType.USD_M, "
            "contract_type=ContractType.PERPETUAL)"
        ),
        "start_kline_socket": "(callback, symbol, interval='1m')",
        "start_listener": "async (socket, path, callback)",
        "start_margin_socket": "(callback)",
        "start_miniticker_socket": "(callback, update_time=1000)",
        "start_multiplex_socket": "(callback, streams)",
        "start_options_depth_socket": "(callback, symbol, depth='10')",
        "start_options_kline_socket": "(callback, symbol, interval='1m')",
        "start_options_multiplex_socket": "(callback, streams)",
        "start_options_recent_trades_socket": "(callback, symbol)",
        "start_options_ticker_by_expiration_socket": "(callback, symbol, expiration_date)",
        "start_options_ticker_socket": "(callback, symbol)",
        "start_symbol_book_ticker_socket": "(callback, symbol)",
        "start_symbol_mark_price_socket": (
            "(callback, symbol, fast=True, futures_type=FuturesType.USD_M)"
        ),
        "start_symbol_miniticker_socket": "(callback, symbol)",
        "start_symbol_ticker_futures_socket": (
            "(callback, symbol, futures_type=FuturesType.USD_M)"
        ),
        "start_symbol_ticker_socket": "(callback, symbol)",
        "start_ticker_socket": "(callback)",
        "start_trade_socket": "(callback, symbol)",
        "start_user_socket": "(callback)",
        "stop": "()",
        "stop_client": "async ()",
        "stop_socket": "(socket_name)",
    },
    "ThreadedDepthCacheManager": {
        "__init__": (
            "(api_key=None, api_secret=None, requests_params=None, tld='com', testnet=False)"
        ),
        "socket_listener": "async ()",
        "start_depth_cache": (
            "(callback, symbol, refresh_interval=None, bm=None, limit=10, conv_type=float, "
            "ws_interval=0)"
        ),
        "start_futures_depth_socket": (
            "(callback, symbol, refresh_interval=None, bm=None, limit=10, conv_type=float)"
        ),
        "start_listener": "async (socket, path, callback)",
        "start_options_depth_socket": (
            "(callback, symbol, refresh_interval=None, bm=None, limit=10, conv_type=float)"
        ),
        "stop": "()",
        "stop_client": "async ()",
        "stop_socket": "(socket_name)",
    },
    "DepthCache": {
        "__init__": "(symbol, conv_type=float)",
        "add_ask": "(ask)",
        "add_bid": "(bid)",
        "get_asks": "()",
        "get_bids": "()",
        "sort_depth": "static (vals, reverse=False, conv_type=float)",
    },
    "DepthCacheManager": {
        "__init__": (
            "(client, symbol, loop=None, refresh_interval=None, bm=None, limit=500, "
            "conv_type=float, ws_interval=None)"
        ),
        "close": "async ()",
        "get_depth_cache": "()",
        "get_symbol": "()",
        "recv": "async ()",
    },
    "FuturesDepthCacheManager": {
        "__init__": (
            "(client, symbol, loop=None, refresh_interval=1800, bm=None, limit=10, conv_type=float)"
        ),
        "close": "async ()",
        "get_depth_cache": "()",
        "get_symbol": "()",
        "recv": "async ()",
    },
    "OptionsDepthCacheManager": {
        "__init__": (
            "(client, symbol, loop=None, refresh_interval=1800, bm=None, limit=10, conv_type=float)"
        ),
        "close": "async ()",
        "get_depth_cache": "()",
        "get_symbol": "()",
        "recv": "async ()",
    },
}

CONSTANTS: dict[str, dict[str, object]] = {
    "BinanceSocketManager": {
        "DSTREAM_DEMO_URL": "wss://dstream.binancefuture.com/",
        "DSTREAM_TESTNET_URL": "wss://dstream.binancefuture.com/",
        "DSTREAM_URL": "wss://dstream.binance.{}/",
        "FSTREAM_DEMO_URL": "wss://fstream.binancefuture.com/",
        "FSTREAM_TESTNET_URL": "wss://fstream.binancefuture.com/",
        "FSTREAM_URL": "wss://fstream.binance.{}/",
        "STREAM_DEMO_URL": "wss://demo-stream.binance.com/",
        "STREAM_TESTNET_URL": "wss://stream.testnet.binance.vision/",
        "STREAM_URL": "wss://stream.binance.{}:9443/",
        "WEBSOCKET_DEPTH_10": "10",
        "WEBSOCKET_DEPTH_20": "20",
        "WEBSOCKET_DEPTH_5": "5",
    },
    "ThreadedWebsocketManager": {},
    "ThreadedDepthCacheManager": {},
    "DepthCache": {},
    "DepthCacheManager": {"TIMEOUT": 60},
    "FuturesDepthCacheManager": {"TIMEOUT": 60},
    "OptionsDepthCacheManager": {"TIMEOUT": 60},
}

URL_MODES: dict[str, str] = {
    "aggtrade_futures_socket": "combined",
    "aggtrade_socket": "raw",
    "all_mark_price_socket": "combined",
    "all_ticker_futures_socket": "combined",
    "book_ticker_socket": "raw",
    "coin_futures_socket": "raw",
    "coin_futures_user_socket": "raw",
    "depth_socket": "raw",
    "futures_coin_ticker_socket": "combined",
    "futures_depth_socket": "combined",
    "futures_multiplex_socket": "multiplex",
    "futures_rpi_depth_socket": "combined",
    "futures_socket": "raw",
    "futures_ticker_socket": "combined",
    "futures_user_socket": "raw",
    "index_price_socket": "combined",
    "individual_symbol_ticker_futures_socket": "combined",
    "isolated_margin_socket": "raw",
    "kline_futures_socket": "raw",
    "kline_socket": "raw",
    "margin_socket": "raw",
    "miniticker_socket": "raw",
    "multiplex_socket": "multiplex",
    "options_book_ticker_socket": "raw",
    "options_depth_socket": "raw",
    "options_index_price_socket": "raw",
    "options_kline_socket": "raw",
    "options_mark_price_socket": "raw",
    "options_multiplex_socket": "multiplex",
    "options_new_symbol_socket": "raw",
    "options_open_interest_socket": "raw",
    "options_recent_trades_socket": "raw",
    "options_ticker_by_expiration_socket": "raw",
    "options_ticker_socket": "raw",
    "portfolio_margin_socket": "raw",
    "symbol_book_ticker_socket": "raw",
    "symbol_mark_price_socket": "combined",
    "symbol_miniticker_socket": "raw",
    "symbol_ticker_futures_socket": "combined",
    "symbol_ticker_socket": "raw",
    "ticker_socket": "raw",
    "trade_socket": "raw",
    "user_socket": "raw",
}


# ------------------------------------------------------------------ extraction


def _default_text(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, type) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return str(getattr(value, "__name__", value))
    return repr(value)


def signature_text(function: Callable[..., Any], *, static: bool = False) -> str:
    """A function's signature written as the tables above write it."""
    parts = []
    for param in inspect.signature(function).parameters.values():
        if param.name == "self":
            continue
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text = f"*{text}"
        elif param.kind is param.VAR_KEYWORD:
            text = f"**{text}"
        elif param.kind is param.KEYWORD_ONLY and not any("*" in p for p in parts):
            parts.append("*")
        if param.default is not param.empty:
            text += f"={_default_text(param.default)}"
        parts.append(text)
    prefix = "static " if static else "async " if inspect.iscoroutinefunction(function) else ""
    return f"{prefix}({', '.join(parts)})"


def public_api(cls: type) -> tuple[dict[str, str], dict[str, object]]:
    """``cls``'s public methods (as :func:`signature_text`) and class constants.

    ``threading.Thread``'s and ``object``'s own members are left out, ``__init__``
    is kept.
    """
    methods: dict[str, str] = {}
    constants: dict[str, object] = {}
    inherited = set(vars(threading.Thread)) | set(vars(object))
    for name in sorted(dir(cls)):
        if name != "__init__" and (name.startswith("_") or name in inherited):
            continue
        value = inspect.getattr_static(cls, name)
        if isinstance(value, staticmethod):
            methods[name] = signature_text(value.__func__, static=True)
        elif inspect.isfunction(value):
            methods[name] = signature_text(value)
        elif not isinstance(value, (property, classmethod)):
            constants[name] = value
    return methods, constants


def _url_modes() -> dict[str, str]:
    """Build every python-binance stream socket (no I/O) and read its URL prefix."""
    import asyncio
    import types

    from binance.ws.streams import BinanceSocketManager

    arguments = {
        "symbol": "BTCUSDT",
        "streams": ["btcusdt@trade"],
        "expiration_date": "251226",
    }
    modes: dict[str, str] = {}

    async def build() -> None:
        client = types.SimpleNamespace(tld="com", testnet=False, demo=False, https_proxy=None)
        bsm = BinanceSocketManager(client)  # type: ignore[arg-type]
        for name in SIGNATURES["BinanceSocketManager"]:
            if name == "__init__":
                continue
            method = getattr(bsm, name)
            params = inspect.signature(method).parameters
            socket = method(**{p: arguments[p] for p in params if p in arguments})
            prefix = socket._prefix
            if prefix == "ws/":
                modes[name] = "raw"
            elif prefix == "stream?streams=":
                modes[name] = "combined"
            elif prefix == "stream?":
                modes[name] = "multiplex"
            else:  # pragma: no cover - a new URL style: look at it
                raise AssertionError(f"{name}: unknown prefix {prefix!r}")

    asyncio.run(build())
    return modes


def extract() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, object]], dict[str, str]]:
    """The three tables, from the installed python-binance (which must be installed)."""
    import warnings

    with warnings.catch_warnings():
        # python-binance imports websockets' legacy API, deprecated since websockets 14.
        warnings.simplefilter("ignore", DeprecationWarning)
        from binance.ws import depthcache, streams

    classes = [
        streams.BinanceSocketManager,
        streams.ThreadedWebsocketManager,
        depthcache.ThreadedDepthCacheManager,
        depthcache.DepthCache,
        depthcache.DepthCacheManager,
        depthcache.FuturesDepthCacheManager,
        depthcache.OptionsDepthCacheManager,
    ]
    signatures: dict[str, dict[str, str]] = {}
    constants: dict[str, dict[str, object]] = {}
    for cls in classes:
        signatures[cls.__name__], constants[cls.__name__] = public_api(cls)
    return signatures, constants, _url_modes()


if __name__ == "__main__":  # pragma: no cover - the regeneration helper
    import pprint
    from importlib.metadata import version

    print(f"# python-binance {version('python-binance')}")
    for table in extract():
        pprint.pprint(table, width=100, sort_dicts=True)
