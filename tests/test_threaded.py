"""ThreadedWebsocketManager: the synchronous façade, against a fake exchange on 127.0.0.1.

These tests are plain synchronous functions: the façade exists for programs without
an event loop, so they drive it the way such a program would.  The fake exchange
runs ``trio.run`` in a thread of its own and listens on loopback only.  Waits are
real time but bounded: each polls a condition up to a deadline of a few seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trio

from trio_binance import DepthCache, Endpoints, FuturesType
from trio_binance._threaded import ThreadedWebsocketManager
from trio_binance.testing import FakeBinance

from ._fake_thread import WAIT, FakeInThread, fake_in_thread
from ._loopback import ConnectProxy, connect_proxy


@pytest.fixture
def fake() -> Iterator[FakeInThread]:
    """A fake exchange in its own thread on 127.0.0.1: BTCUSDT trades every 10 ms,
    book changes every 10 ms, diff-depth events every 20 ms."""

    def market(fake: FakeBinance) -> None:
        fake.start_market(
            ["BTCUSDT"], trade_interval=0.01, depth_interval=0.02, book_ticker_interval=0.01
        )

    with fake_in_thread(market) as in_thread:
        yield in_thread


@pytest.fixture
def endpoints(fake: FakeInThread) -> Endpoints:
    """The fake's endpoints (ws://127.0.0.1:<port>/...)."""
    return fake.fake.endpoints


class Collector:
    """A sync callback that records messages and the threads it ran in."""

    def __init__(self, action: Callable[[Any], None] | None = None) -> None:
        self.messages: list[Any] = []
        self.threads: set[threading.Thread] = set()
        self._action = action
        self._changed = threading.Condition()

    def __call__(self, message: Any) -> None:
        with self._changed:
            self.messages.append(message)
            self.threads.add(threading.current_thread())
            self._changed.notify_all()
        if self._action is not None:
            self._action(message)

    def wait_for(self, count: int) -> list[Any]:
        """Wait until ``count`` messages arrived (at most WAIT seconds); return them all."""
        return self.wait_until(lambda messages: len(messages) >= count)

    def wait_until(self, predicate: Callable[[list[Any]], bool]) -> list[Any]:
        """Wait until ``predicate(messages)`` holds (at most WAIT seconds); return them all."""
        with self._changed:
            holds = self._changed.wait_for(lambda: predicate(self.messages), WAIT)
            assert holds, f"not reached within {WAIT} s; {len(self.messages)} messages"
            return list(self.messages)

    def count_after(self, seconds: float) -> int:
        """How many messages there are once ``seconds`` of quiet time have passed."""
        with self._changed:
            self._changed.wait_for(lambda: False, seconds)
            return len(self.messages)


def assert_consecutive_trades(messages: list[Any]) -> None:
    ids = [m["t"] for m in messages]
    assert all(m["e"] == "trade" and m["s"] == "BTCUSDT" for m in messages)
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def idle_trio_worker(thread: threading.Thread) -> bool:
    """Trio's thread cache keeps finished worker threads idle (daemon) for ~10 s."""
    return thread.daemon and re.fullmatch(r"Trio thread \d+", thread.name) is not None


@pytest.fixture
def proxy_port() -> Iterator[tuple[ConnectProxy, int]]:
    """A loopback HTTP CONNECT proxy in a Trio thread of its own."""
    proxy = ConnectProxy()
    handoff: queue.Queue[tuple[int, trio.lowlevel.TrioToken, trio.Event]] = queue.Queue()

    async def serve() -> None:
        async with connect_proxy(proxy) as port:
            done = trio.Event()
            handoff.put((port, trio.lowlevel.current_trio_token(), done))
            await done.wait()

    thread = threading.Thread(target=trio.run, args=(serve,), name="proxy", daemon=True)
    thread.start()
    port, token, done = handoff.get(timeout=WAIT)
    try:
        yield proxy, port
    finally:
        trio.from_thread.run_sync(done.set, trio_token=token)
        thread.join(WAIT)
        assert not thread.is_alive()


def test_https_proxy_carries_the_sockets(
    endpoints: Endpoints, proxy_port: tuple[ConnectProxy, int]
) -> None:
    proxy, port = proxy_port
    trades = Collector()
    twm = ThreadedWebsocketManager(endpoints=endpoints, https_proxy=f"http://127.0.0.1:{port}")
    with twm:
        twm.start_trade_socket(trades, "BTCUSDT")
        messages = trades.wait_for(10)
    assert_consecutive_trades(messages)
    spot_port = endpoints.spot_stream.split(":")[2].split("/")[0]
    assert proxy.requests and proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{spot_port} ")


def test_trades_reach_a_sync_callback_in_order(endpoints: Endpoints) -> None:
    trades = Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        assert twm.is_alive()
        name = twm.start_trade_socket(trades, "BTCUSDT")
        assert name == "btcusdt@trade"
        messages = trades.wait_for(30)
    assert_consecutive_trades(messages)
    # Callbacks ran in worker threads: neither the caller's nor the Trio thread.
    assert threading.current_thread() not in trades.threads
    assert not any(
        t.name.startswith("trio_binance ThreadedWebsocketManager") for t in trades.threads
    )


def test_two_sockets_at_once_with_unique_names(endpoints: Endpoints) -> None:
    first, second, aggs = Collector(), Collector(), Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        names = [
            twm.start_trade_socket(first, "BTCUSDT"),
            twm.start_trade_socket(second, "btcusdt"),
            twm.start_multiplex_socket(aggs, (f"btcusdt@{s}" for s in ("aggTrade", "trade"))),
        ]
        # python-binance's names: the stream, "streams=..." for a multiplex socket.
        assert names == [
            "btcusdt@trade",
            "btcusdt@trade#2",
            "streams=btcusdt@aggTrade/btcusdt@trade",
        ]
        assert_consecutive_trades(first.wait_for(20))
        assert_consecutive_trades(second.wait_for(20))
        both = {"btcusdt@aggTrade", "btcusdt@trade"}
        envelopes = aggs.wait_until(lambda got: {e["stream"] for e in got} == both)
    assert all(e["data"]["s"] == "BTCUSDT" for e in envelopes)


def test_depth_cache_callback_gets_a_copy_per_update(endpoints: Endpoints) -> None:
    books = Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        with pytest.raises(ValueError, match="limit"):
            twm.start_depth_cache(books, "BTCUSDT", limit=0)
        name = twm.start_depth_cache(books, "BTCUSDT", limit=100)
        assert name == "btcusdt@depth100"  # python-binance's name
        got = books.wait_for(10)
    assert all(isinstance(book, DepthCache) for book in got)
    ids = [book.update_id for book in got]
    assert ids == sorted(set(ids))  # one callback per update, in order
    # Copies: each keeps the state it was delivered with, while the live book moved on.
    assert len({id(book) for book in got}) == len(got)
    for book in got:
        best_bid, best_ask = book.best_bid(), book.best_ask()
        assert best_bid is not None and best_ask is not None and best_bid[0] < best_ask[0]


def test_bad_input_raises_value_error_in_the_callers_thread(endpoints: Endpoints) -> None:
    trades = Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        with pytest.raises(ValueError, match="interval"):
            twm.start_kline_socket(trades, "BTCUSDT", "7m")
        with pytest.raises(ValueError):
            twm.start_depth_socket(trades, "BTCUSDT", interval=50)
        with pytest.raises(ValueError):
            twm.start_trade_socket(trades, "BTC USDT")
        with pytest.raises(ValueError):
            twm.start_aggtrade_futures_socket(trades, "BTCUSDT", futures_type="SPOT")
        with pytest.raises(ValueError, match="ticker"):
            twm.start_ticker_socket(trades)  # retired by Binance
        with pytest.raises(ValueError):
            twm.start_multiplex_socket(trades, [])
        # The manager is unharmed and the rejected calls took no names.
        assert twm.start_trade_socket(trades, "BTCUSDT") == "btcusdt@trade"
        assert_consecutive_trades(trades.wait_for(5))


@pytest.mark.parametrize(
    "options",
    [
        {"max_queue_size": 0},
        {"max_queue_size": True},
        {"testnet": True, "demo": True},
        {"tld": ""},
        {"testnet": "yes"},
        {"api_key": 123},
        {"endpoints": "ws://127.0.0.1:1"},
        {"settings": {}},
    ],
)
def test_bad_constructor_arguments_raise_value_error(options: dict[str, Any]) -> None:
    before = threading.active_count()
    with pytest.raises(ValueError):
        ThreadedWebsocketManager(**options)
    assert threading.active_count() == before


def test_uncallable_callbacks_are_rejected(endpoints: Endpoints) -> None:
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        with pytest.raises(TypeError, match="callable"):
            twm.start_trade_socket("not a function", "BTCUSDT")  # type: ignore[arg-type]


def test_stop_socket_stops_delivery_and_frees_the_name(fake: FakeInThread) -> None:
    trades, others = Collector(), Collector()
    with ThreadedWebsocketManager(endpoints=fake.fake.endpoints) as twm:
        name = twm.start_trade_socket(trades, "BTCUSDT")
        twm.start_aggtrade_socket(others, "BTCUSDT")
        trades.wait_for(5)
        twm.stop_socket(name)
        stopped_at = len(trades.messages)
        # Its handle was closed, so the stream was unsubscribed at the exchange.
        fake.wait_until(lambda f: not f.subscribers("btcusdt@trade"))
        fake.wait_until(lambda f: bool(f.subscribers("btcusdt@aggTrade")))  # still there
        # No callback starts after stop_socket() returns; one may have been running.
        assert trades.count_after(0.2) <= stopped_at + 1
        twm.stop_socket(name)  # idempotent
        twm.stop_socket("no-such-socket")  # unknown: no-op
        # The other socket carries on, and the name can be used again.
        count = len(others.messages)
        others.wait_for(count + 5)
        again = Collector()
        assert twm.start_trade_socket(again, "BTCUSDT") == name
        assert_consecutive_trades(again.wait_for(5))


def test_a_rejected_stream_yields_the_error_dict_once(endpoints: Endpoints) -> None:
    errors = Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        name = twm.start_multiplex_socket(errors, ["btcusdt@noSuchStream"])
        assert name == "streams=btcusdt@noSuchStream"
        [notice] = errors.wait_for(1)
        assert errors.count_after(0.2) == 1
        assert notice["e"] == "error"
        assert notice["type"] == "StreamRejected"
        assert "btcusdt@noSuchStream" in notice["m"]
        # The failed socket ended: its name is free again.
        assert twm.start_multiplex_socket(Collector(), ["btcusdt@noSuchStream"]) == name


def test_a_callback_can_restart_its_socket(endpoints: Endpoints) -> None:
    """The python-binance habit: on an error notice, start the socket again from the callback."""
    names: list[str] = []
    trades = Collector()

    def on_error(message: Any) -> None:
        if message.get("e") == "error" and not names:
            names.append(twm.start_multiplex_socket(trades, ["btcusdt@trade"]))

    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        failed = twm.start_multiplex_socket(on_error, ["btcusdt@noSuchStream"])
        envelopes = trades.wait_for(5)
    assert names == ["streams=btcusdt@trade"] and failed == "streams=btcusdt@noSuchStream"
    assert_consecutive_trades([e["data"] for e in envelopes])


def test_callback_errors_are_logged_and_delivery_continues(
    endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(message: Any) -> None:
        if len(trades.messages) == 1:
            raise RuntimeError("callback bug")

    trades = Collector(explode)
    with caplog.at_level(logging.ERROR, logger="trio_binance"):
        with ThreadedWebsocketManager(endpoints=endpoints) as twm:
            twm.start_trade_socket(trades, "BTCUSDT")
            assert_consecutive_trades(trades.wait_for(10))
    [record] = [r for r in caplog.records if "callback of socket" in r.getMessage()]
    assert record.name == "trio_binance"
    assert "btcusdt@trade" in record.getMessage()
    assert record.exc_info is not None and str(record.exc_info[1]) == "callback bug"


def test_a_callback_that_always_raises_logs_one_traceback_then_a_count(
    endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    """20 errors a second must not mean 20 tracebacks a second."""

    def explode(message: Any) -> None:
        raise RuntimeError("callback bug")

    trades = Collector(explode)
    with caplog.at_level(logging.INFO, logger="trio_binance"):
        with ThreadedWebsocketManager(endpoints=endpoints) as twm:
            twm.start_trade_socket(trades, "BTCUSDT")
            assert_consecutive_trades(trades.wait_for(30))  # delivery went on
        calls = len(trades.messages)
    mine = [r for r in caplog.records if "callback of socket btcusdt@trade" in r.getMessage()]
    tracebacks = [r for r in mine if r.exc_info is not None]
    assert len(tracebacks) == 1
    # The rest were counted; the count is reported when the socket ends at the latest.
    assert f"({calls} in all)" in mine[-1].getMessage()
    assert "latest: RuntimeError: callback bug" in mine[-1].getMessage()


def test_stop_socket_on_callback_error_stops_that_socket_only(
    endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(message: Any) -> None:
        if len(bad.messages) == 3:
            raise RuntimeError("callback bug")

    bad, good = Collector(explode), Collector()
    with caplog.at_level(logging.ERROR, logger="trio_binance"):
        with ThreadedWebsocketManager(
            endpoints=endpoints, stop_socket_on_callback_error=True
        ) as twm:
            twm.start_trade_socket(bad, "BTCUSDT")
            twm.start_aggtrade_socket(good, "BTCUSDT")
            bad.wait_for(3)
            count = len(good.messages)
            good.wait_for(count + 10)  # the other socket goes on
            assert len(bad.messages) == 3  # nothing after the failed call
    [traceback] = [r for r in caplog.records if r.exc_info is not None]
    assert traceback.exc_info is not None and str(traceback.exc_info[1]) == "callback bug"
    assert any("socket btcusdt@trade stopped" in r.getMessage() for r in caplog.records)


def test_async_callbacks_are_awaited_in_order_on_an_asyncio_loop(endpoints: Endpoints) -> None:
    """python-binance awaits ``async def`` callbacks on its asyncio loop: so do we."""
    got: list[Any] = []
    loops: set[asyncio.AbstractEventLoop] = set()
    done = threading.Event()

    async def on_trade(message: Any) -> None:
        loops.add(asyncio.get_running_loop())
        await asyncio.sleep(0)  # asyncio code, as a python-binance callback has
        got.append(message)
        if len(got) == 20:
            done.set()

    class OnBook:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def __call__(self, message: Any) -> None:
            await asyncio.sleep(0)
            self.messages.append(message)

    books = OnBook()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        twm.start_trade_socket(on_trade, "BTCUSDT")
        twm.start_symbol_book_ticker_socket(books, "BTCUSDT")
        assert done.wait(WAIT)
    assert_consecutive_trades(got[:20])
    assert len(loops) == 1
    assert books.messages and all(m["s"] == "BTCUSDT" for m in books.messages)


def test_every_callback_of_a_manager_runs_in_one_thread(endpoints: Endpoints) -> None:
    """As in python-binance, whose callbacks all run in its loop's thread: ported code
    that shares state between callbacks without locks stays correct."""
    trades, aggs, books = Collector(), Collector(), Collector()

    async def on_agg(message: Any) -> None:
        aggs(message)

    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        twm.start_trade_socket(trades, "BTCUSDT")
        twm.start_aggtrade_socket(on_agg, "BTCUSDT")
        twm.start_depth_cache(books, "BTCUSDT")
        trades.wait_for(10)
        aggs.wait_for(10)
        books.wait_for(3)
    [thread] = trades.threads | aggs.threads | books.threads
    assert thread.name == "trio_binance callbacks"
    assert not thread.is_alive()  # stopped with the manager


def test_a_pending_async_callback_holds_only_its_own_socket(endpoints: Endpoints) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def stuck(message: Any) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    trades = Collector()
    twm = ThreadedWebsocketManager(endpoints=endpoints)
    twm.start()
    twm.start_aggtrade_socket(stuck, "BTCUSDT")
    twm.start_trade_socket(trades, "BTCUSDT")
    assert started.wait(WAIT)
    assert_consecutive_trades(trades.wait_for(20))  # other sockets carry on meanwhile
    began = time.monotonic()
    twm.stop()  # cancels the pending async callback
    assert time.monotonic() - began < 2.0
    assert cancelled.is_set() and not twm.is_alive()


def test_stop_is_prompt_idempotent_and_final(fake: FakeInThread) -> None:
    trades = Collector()
    twm = ThreadedWebsocketManager(endpoints=fake.fake.endpoints)
    with pytest.raises(RuntimeError, match="not running"):
        twm.start_trade_socket(trades, "BTCUSDT")
    twm.start()
    with pytest.raises(RuntimeError):
        twm.start()
    name = twm.start_trade_socket(trades, "BTCUSDT")
    twm.start_depth_socket(Collector(), "BTCUSDT")
    trades.wait_for(5)

    started = time.monotonic()
    twm.stop()
    assert time.monotonic() - started < 2.0
    assert not twm.is_alive()
    fake.wait_until(lambda f: not f.open_connections())  # every socket was closed
    stopped_at = len(trades.messages)
    twm.stop()  # idempotent
    twm.join(timeout=0)
    twm.stop_socket(name)  # no-op once stopped
    with pytest.raises(RuntimeError, match="not running"):
        twm.start_trade_socket(trades, "BTCUSDT")
    with pytest.raises(RuntimeError):
        twm.start()
    assert trades.count_after(0.05) == stopped_at  # nothing after stop() returned


def test_stop_from_inside_a_callback_does_not_deadlock(endpoints: Endpoints) -> None:
    join_errors: list[BaseException] = []
    backlog = threading.Event()

    def slow_then_stop(message: Any) -> None:
        if len(trades.messages) == 1:
            backlog.wait(0.1)  # let ~10 trades pile up: the next batch holds several
            return
        twm.stop()  # requests the stop, returns without waiting for itself
        try:
            twm.join(timeout=1)
        except RuntimeError as exc:
            join_errors.append(exc)

    trades = Collector(slow_then_stop)
    twm = ThreadedWebsocketManager(endpoints=endpoints)
    twm.start()
    twm.start_trade_socket(trades, "BTCUSDT")
    trades.wait_for(2)
    twm.join(timeout=WAIT)
    assert not twm.is_alive()
    assert len(trades.messages) == 2  # the rest of the second batch was skipped
    assert len(join_errors) == 1 and "own callback" in str(join_errors[0])
    twm.stop()  # from outside, afterwards: fine


def test_no_threads_are_left_behind(endpoints: Endpoints) -> None:
    before = set(threading.enumerate())
    trades, books = Collector(), Collector()
    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        twm.start_trade_socket(trades, "BTCUSDT")
        twm.start_symbol_book_ticker_socket(books, "BTCUSDT")
        twm.start_futures_depth_socket(Collector(), "BTCUSDT", futures_type=FuturesType.USD_M)
        trades.wait_for(10)
        books.wait_for(1)
    left = [t for t in threading.enumerate() if t not in before]
    # Only Trio's cached worker threads may remain, idle (they exit after ~10 s).
    assert [t.name for t in left if not idle_trio_worker(t)] == []


def test_a_callers_event_loop_is_ignored(endpoints: Endpoints) -> None:
    loop = asyncio.new_event_loop()
    try:
        trades = Collector()
        with ThreadedWebsocketManager(endpoints=endpoints, loop=loop) as twm:
            twm.start_trade_socket(trades, "BTCUSDT")
            assert_consecutive_trades(trades.wait_for(5))
            assert not loop.is_running()
        assert not loop.is_running() and not loop.is_closed()
    finally:
        loop.close()


def closed_loopback_endpoints() -> Endpoints:
    """Endpoints on a loopback port nobody listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Endpoints(
        **{
            field.name: f"{'http' if field.name.endswith('_rest') else 'ws'}://127.0.0.1:{port}"
            for field in dataclasses.fields(Endpoints)
        }
    )


def test_user_data_sockets_get_real_names() -> None:
    """Every user-data socket gets its own name, never ``None`` (python-binance #964)."""
    twm = ThreadedWebsocketManager("the-key", "the-secret", endpoints=closed_loopback_endpoints())
    twm.start()
    names = [
        twm.start_user_socket(Collector()),
        twm.start_margin_socket(Collector()),
        twm.start_isolated_margin_socket(Collector(), "BTCUSDT"),
        twm.start_futures_user_socket(Collector()),
        twm.start_futures_socket(Collector()),
        twm.start_coin_futures_user_socket(Collector()),
        twm.start_coin_futures_socket(Collector()),
    ]
    assert all(isinstance(name, str) and name for name in names)
    assert len(set(names)) == len(names)
    assert not any("the-key" in name or "the-secret" in name for name in names)
    # Stopping is prompt even while these retry and back off in the background.
    started = time.monotonic()
    twm.stop()
    assert time.monotonic() - started < 2.0
    assert not twm.is_alive()


def test_user_data_sockets_need_credentials() -> None:
    with ThreadedWebsocketManager(endpoints=closed_loopback_endpoints()) as twm:
        with pytest.raises(ValueError, match="api_key"):
            twm.start_futures_user_socket(Collector())


def test_verbose_sets_the_library_logger_to_debug_at_construction() -> None:
    """As python-binance's ThreadedApiManager(verbose=True) does for ``binance.ws``."""
    library = logging.getLogger("trio_binance")
    before = library.level
    try:
        assert ThreadedWebsocketManager().verbose is False
        assert library.level == before
        assert ThreadedWebsocketManager(verbose=True).verbose is True
        assert library.level == logging.DEBUG
    finally:
        library.setLevel(before)
