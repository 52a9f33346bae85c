"""python-binance programs, unchanged but for the import, against the fake exchange.

Each program below is written as python-binance's documentation and tests write
them; the ``from trio_binance ...`` lines are the only change (each says what it
was).  Like python-binance's own tests they pass ``testnet=True``; the harness
points the testnet endpoints at a fake exchange on 127.0.0.1 in a thread of its own
(the threaded managers run Trio in a thread of theirs).

Callback payloads are checked against what python-binance would deliver given the
same server frames: the fake publishes a known payload on each stream, and the
expected message is that payload as it arrives on the URL python-binance's socket
dials (``tests/_python_binance.URL_MODES``, extracted from python-binance 1.0.37):
bare on ``ws/<stream>``, ``{"stream", "data"}`` on ``stream?streams=``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trio_binance import Endpoints, Product
from trio_binance.testing import FakeBinance

from ._fake_thread import WAIT, FakeInThread, fake_in_thread
from ._processes import TIMEOUT
from ._python_binance import URL_MODES

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
OPTION = "BTC-251226-110000-C"


@pytest.fixture
def quiet_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInThread]:
    """A fake with an account and no market (only the payloads a test publishes), as testnet."""
    with fake_in_thread(lambda fake: fake.add_account(API_KEY, API_SECRET)) as in_thread:
        endpoints = in_thread.fake.endpoints
        monkeypatch.setattr(Endpoints, "testnet", classmethod(lambda cls: endpoints))
        yield in_thread


@pytest.fixture
def market_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInThread]:
    """A fake with BTCUSDT spot and USD-M markets, as testnet."""

    def markets(fake: FakeBinance) -> None:
        for product in (Product.SPOT, Product.USDM):
            fake.start_market(
                ["BTCUSDT"],
                product,
                trade_interval=0.01,
                depth_interval=0.02,
                book_ticker_interval=0.01,
            )

    with fake_in_thread(markets) as in_thread:
        endpoints = in_thread.fake.endpoints
        monkeypatch.setattr(Endpoints, "testnet", classmethod(lambda cls: endpoints))
        yield in_thread


# ------------------------------------------------------------------------ programs


def sockets_program(received: dict[str, list[Any]], expected: int) -> None:
    """Spot, USD-M, COIN-M, options and user-data sockets; sync and async callbacks."""
    from trio_binance import (
        BinanceSocketManager,  # was: from binance import ...
        ThreadedWebsocketManager,  # was: from binance import ...
    )
    from trio_binance.enums import KLINE_INTERVAL_1MINUTE, FuturesType  # was: binance.enums

    twm = ThreadedWebsocketManager(api_key=API_KEY, api_secret=API_SECRET, testnet=True)
    twm.start()

    def done() -> bool:
        return sum(len(messages) for messages in received.values()) == expected

    def handler(name: str) -> Any:
        def handle_socket_message(msg: Any) -> None:
            received.setdefault(name, []).append(msg)
            if done():
                twm.stop()

        return handle_socket_message

    def async_handler(name: str) -> Any:
        async def handle_socket_message(msg: Any) -> None:
            await asyncio.sleep(0)
            received.setdefault(name, []).append(msg)
            if done():
                twm.stop()

        return handle_socket_message

    twm.start_trade_socket(callback=handler("trade"), symbol="BTCUSDT")
    twm.start_kline_socket(
        callback=handler("kline"), symbol="BTCUSDT", interval=KLINE_INTERVAL_1MINUTE
    )
    twm.start_depth_socket(
        callback=async_handler("depth"),
        symbol="BTCUSDT",
        depth=BinanceSocketManager.WEBSOCKET_DEPTH_5,
    )
    twm.start_multiplex_socket(
        callback=handler("multiplex"), streams=["btcusdt@aggTrade", "btcusdt@bookTicker"]
    )
    twm.start_aggtrade_futures_socket(callback=async_handler("aggtrade_futures"), symbol="BTCUSDT")
    twm.start_kline_futures_socket(callback=async_handler("kline_futures"), symbol="BTCUSDT")
    twm.start_symbol_mark_price_socket(callback=handler("symbol_mark_price"), symbol="BTCUSDT")
    twm.start_futures_depth_socket(callback=async_handler("futures_depth"), symbol="BTCUSDT")
    twm.start_all_ticker_futures_socket(callback=handler("all_ticker_futures"))
    twm.start_futures_multiplex_socket(
        callback=handler("futures_multiplex"), streams=["btcusdt@markPrice"]
    )
    twm.start_aggtrade_futures_socket(
        callback=handler("coin_aggtrade"), symbol="BTCUSD_PERP", futures_type=FuturesType.COIN_M
    )
    twm.start_index_price_socket(callback=async_handler("index_price"), symbol="BTCUSD")
    twm.start_options_ticker_socket(callback=handler("options_ticker"), symbol=OPTION)
    twm.start_futures_user_socket(callback=async_handler("futures_user"))
    twm.join()


def depth_cache_program(books: list[Any]) -> str:
    """python-binance's ThreadedDepthCacheManager example, spot and futures."""
    from trio_binance import ThreadedDepthCacheManager  # was: from binance import ...

    dcm = ThreadedDepthCacheManager(testnet=True)
    dcm.start()

    def handle_depth_cache(depth_cache: Any) -> None:
        books.append(
            (
                depth_cache.symbol,
                depth_cache.get_bids()[:5],
                depth_cache.get_asks()[:5],
                depth_cache.update_time,
            )
        )
        if len(books) == 20:
            dcm.stop()

    dcm_name = dcm.start_depth_cache(handle_depth_cache, symbol="BTCUSDT")
    dcm.start_futures_depth_socket(handle_depth_cache, symbol="BTCUSDT")
    dcm.join()
    return dcm_name


# --------------------------------------------------------------------------- tests

# What the harness publishes: socket -> (python-binance method, stream, product, payload).
PUBLISHED: dict[str, tuple[str, str, Product, Any]] = {
    "trade": (
        "trade_socket",
        "btcusdt@trade",
        Product.SPOT,
        {"e": "trade", "E": 1, "s": "BTCUSDT", "t": 7, "p": "1.0", "q": "2.0", "T": 1},
    ),
    "kline": (
        "kline_socket",
        "btcusdt@kline_1m",
        Product.SPOT,
        {"e": "kline", "E": 2, "s": "BTCUSDT", "k": {"t": 0, "T": 59999, "i": "1m", "x": False}},
    ),
    "depth": (
        "depth_socket",
        "btcusdt@depth5",
        Product.SPOT,
        {"lastUpdateId": 9, "bids": [["1.0", "1.0"]], "asks": [["2.0", "1.0"]]},
    ),
    "multiplex": (
        "multiplex_socket",
        "btcusdt@bookTicker",
        Product.SPOT,
        {"u": 3, "s": "BTCUSDT", "b": "1.0", "B": "1", "a": "2.0", "A": "1"},
    ),
    "aggtrade_futures": (
        "aggtrade_futures_socket",
        "btcusdt@aggTrade",
        Product.USDM,
        {"e": "aggTrade", "E": 4, "s": "BTCUSDT", "a": 5, "p": "1.0", "q": "1", "T": 4},
    ),
    "kline_futures": (
        "kline_futures_socket",
        "btcusdt_perpetual@continuousKline_1m",
        Product.USDM,
        {"e": "continuous_kline", "E": 5, "ps": "BTCUSDT", "ct": "PERPETUAL", "k": {"i": "1m"}},
    ),
    "symbol_mark_price": (
        "symbol_mark_price_socket",
        "btcusdt@markPrice@1s",
        Product.USDM,
        {"e": "markPriceUpdate", "E": 6, "s": "BTCUSDT", "p": "1.0", "r": "0.0001"},
    ),
    "futures_depth": (
        "futures_depth_socket",
        "btcusdt@depth10",
        Product.USDM,
        {"e": "depthUpdate", "E": 7, "s": "BTCUSDT", "U": 1, "u": 2, "pu": 0, "b": [], "a": []},
    ),
    "all_ticker_futures": (
        "all_ticker_futures_socket",
        "!bookTicker",
        Product.USDM,
        {"e": "bookTicker", "u": 8, "s": "BTCUSDT", "b": "1.0", "B": "1", "a": "2.0", "A": "1"},
    ),
    "futures_multiplex": (
        "futures_multiplex_socket",
        "btcusdt@markPrice",
        Product.USDM,
        {"e": "markPriceUpdate", "E": 9, "s": "BTCUSDT", "p": "1.0"},
    ),
    "coin_aggtrade": (
        "aggtrade_futures_socket",
        "btcusd_perp@aggTrade",
        Product.COINM,
        {"e": "aggTrade", "E": 10, "s": "BTCUSD_PERP", "a": 1, "p": "1.0", "q": "1"},
    ),
    "index_price": (
        "index_price_socket",
        "btcusd@indexPrice@1s",
        Product.COINM,
        {"e": "indexPriceUpdate", "E": 11, "i": "BTCUSD", "p": "1.0"},
    ),
    "options_ticker": (
        "options_ticker_socket",
        f"{OPTION.lower()}@optionTicker",
        Product.OPTIONS,
        {"e": "24hrTicker", "E": 12, "s": OPTION, "c": "100"},
    ),
}
USER_EVENT = {"e": "ORDER_TRADE_UPDATE", "E": 13, "o": {"s": "BTCUSDT", "i": 1, "X": "NEW"}}


def python_binance_message(method: str, stream: str, payload: Any) -> Any:
    """What python-binance's ``method`` socket delivers for ``payload`` on ``stream``."""
    if URL_MODES[method] == "raw":
        return payload
    return {"stream": stream, "data": payload}


def test_threaded_sockets_deliver_python_binance_shapes(quiet_fake: FakeInThread) -> None:
    received: dict[str, list[Any]] = {}
    expected = len(PUBLISHED) + 1
    failures: list[BaseException] = []

    def run() -> None:
        try:
            sockets_program(received, expected)
        except BaseException as exc:  # pragma: no cover - shown by the test
            failures.append(exc)

    program = threading.Thread(target=run, daemon=True)
    program.start()

    def subscribed(fake: FakeBinance) -> bool:
        streams = all(fake.has_subscribers(s, p) for _, s, p, _ in PUBLISHED.values())
        return streams and bool(fake.user_connections(API_KEY, "usdm"))

    quiet_fake.wait_until(subscribed)

    def publish_all(fake: FakeBinance) -> list[int]:
        return [fake.publish(s, data, product=p) for _, s, p, data in PUBLISHED.values()]

    assert quiet_fake.call(publish_all) == [1] * len(PUBLISHED)  # one connection each
    assert quiet_fake.call(lambda fake: fake.push_user_event(API_KEY, "usdm", USER_EVENT)) == 1
    program.join(WAIT)
    assert not failures, failures
    assert not program.is_alive(), f"the program did not finish: {sorted(received)}"

    want = {
        name: [python_binance_message(method, stream, payload)]
        for name, (method, stream, _, payload) in PUBLISHED.items()
    }
    want["futures_user"] = [USER_EVENT]
    assert received == want
    # The shapes a migrating user meets: futures sockets wrap, spot and options do not.
    assert set(received["aggtrade_futures"][0]) == {"stream", "data"}
    assert set(received["index_price"][0]) == {"stream", "data"}
    assert received["kline_futures"][0]["e"] == "continuous_kline"
    assert received["trade"][0]["e"] == "trade"


def test_threaded_depth_caches_call_back_with_python_binance_books(
    market_fake: FakeInThread,
) -> None:
    books: list[Any] = []
    name = depth_cache_program(books)
    assert name == "btcusdt@depth10"  # python-binance's name: symbol, "@depth", limit
    assert len(books) >= 20
    for symbol, bids, asks, update_time in books:
        assert symbol == "BTCUSDT" and isinstance(update_time, int)
        assert bids and asks
        for side in (bids, asks):
            assert all(type(level) is list and len(level) == 2 for level in side)
            assert all(type(value) is float for level in side for value in level)
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert [p for p, _ in asks] == sorted(p for p, _ in asks)
        assert bids[0][0] < asks[0][0]


def test_threaded_time_unit_gives_microsecond_spot_times(market_fake: FakeInThread) -> None:
    from trio_binance import ThreadedWebsocketManager

    trades: list[Any] = []
    enough = threading.Event()

    def on_trade(msg: Any) -> None:
        trades.append(msg)
        if len(trades) == 3:
            enough.set()

    with ThreadedWebsocketManager(testnet=True, time_unit="MICROSECOND") as twm:
        twm.start_trade_socket(on_trade, "BTCUSDT")
        twm.start_aggtrade_futures_socket(on_trade, "BTCUSDT")
        assert enough.wait(WAIT)
    spot = [m for m in trades if "stream" not in m]
    futures = [m["data"] for m in trades if "stream" in m]
    assert spot and all(len(str(m["E"])) >= 16 for m in spot)
    assert all(len(str(m["E"])) == 13 for m in futures)  # Binance: futures stay in ms
    with pytest.raises(ValueError, match="time_unit"):
        ThreadedWebsocketManager(time_unit="NANOSECOND")


CTRL_C_PROGRAM = """
import sys
from trio_binance import Endpoints, ThreadedWebsocketManager

twm = ThreadedWebsocketManager(endpoints=Endpoints.from_file(sys.argv[1]))
twm.start()
ready = []

def handle(msg):
    if not ready:
        ready.append(msg)
        print("ready", flush=True)

twm.start_trade_socket(handle, "BTCUSDT")
twm.join()
print("after join: alive", twm.is_alive(), flush=True)
"""


def test_ctrl_c_during_join_stops_cleanly_without_a_traceback(
    market_fake: FakeInThread, tmp_path: Path
) -> None:
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps(market_fake.fake.endpoints.to_dict()))
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_PROGRAM, str(endpoints)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(TIMEOUT, proc.kill)  # a hung program fails, not hangs
    watchdog.start()
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # a callback ran: join() is waiting
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # pragma: no cover - it hung
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == "after join: alive False\n"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
