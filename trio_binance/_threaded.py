"""``ThreadedWebsocketManager``: python-binance's callback façade, for non-async programs.

Each ``start_<x>(callback, ...)`` opens :meth:`BinanceSocketManager.<x>` in the
manager's Trio thread and calls ``callback`` with every message, in python-binance's
shape: :data:`SOCKET_SHAPES` says, for every stream method, whether python-binance's
socket dials a raw ``ws/<stream>`` URL (bare payloads) or a combined
``stream?streams=`` URL (``{"stream", "data"}`` envelopes).  The wrappers are
written out, so that they are typed and documented; ``tests/test_python_binance_parity.py``
derives each one's signature from the method it wraps (and python-binance's own
wrapper) and checks that every argument is passed on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final, final

from typing_extensions import Never

from ._endpoints import Endpoints
from ._enums import (
    KLINE_INTERVAL_1MINUTE,
    ContractType,
    ContractTypeLike,
    FuturesType,
    FuturesTypeLike,
    KlineIntervals,
)
from ._handle import StreamHandle
from ._manager import BinanceSocketManager
from ._settings import Settings
from ._stream_methods import StreamMethods
from ._streams import StreamRequest
from ._threaded_base import Callback, Handle, ThreadedManager, consumed
from ._transport import Transport
from .messages import (
    AggTrade,
    AvgPrice,
    BookTicker,
    ContinuousKline,
    DepthUpdate,
    Envelope,
    ErrorMessage,
    ForceOrder,
    FuturesAggTrade,
    FuturesBookTicker,
    FuturesDepthUpdate,
    FuturesTicker,
    IndexPrice,
    Kline,
    MarkPrice,
    MiniTicker,
    OptionBookTicker,
    OptionDepthUpdate,
    OptionIndexPrice,
    OptionMarkPrice,
    OptionOpenInterest,
    OptionSymbol,
    OptionTicker,
    OptionTrade,
    PartialDepth,
    Ticker,
    Trade,
    UserEvent,
)

__all__ = ["SOCKET_SHAPES", "Shape", "ThreadedWebsocketManager"]

logger = logging.getLogger("trio_binance")


class Shape(enum.Enum):
    """The URL python-binance's socket dials, and so the shape of its messages."""

    RAW = "raw"
    """``ws/<stream>``: bare payloads."""
    COMBINED = "combined"
    """``stream?streams=<stream>``: each payload in a ``{"stream", "data"}`` envelope."""
    MULTIPLEX = "multiplex"
    """``stream?streams=a/b``: envelopes; python-binance names the socket ``streams=a/b``."""


SOCKET_SHAPES: Final[Mapping[str, Shape]] = {
    # From python-binance 1.0.37's binance/ws/streams.py: the URL prefix each method
    # gets.  Spot sockets use _get_socket's default "ws/"; USD-M and COIN-M sockets
    # use _get_futures_socket's default "stream?streams=", except kline_futures_socket
    # ("ws/"); options sockets use _get_options_socket's "ws/"; the multiplex methods
    # pass "stream?"; user-data sockets deliver bare events.  tests/_python_binance.py
    # holds the same table as extracted from the package (URL_MODES).
    "depth_socket": Shape.RAW,
    "kline_socket": Shape.RAW,
    "miniticker_socket": Shape.RAW,
    "trade_socket": Shape.RAW,
    "aggtrade_socket": Shape.RAW,
    "symbol_miniticker_socket": Shape.RAW,
    "symbol_ticker_socket": Shape.RAW,
    "ticker_socket": Shape.RAW,
    "symbol_book_ticker_socket": Shape.RAW,
    "book_ticker_socket": Shape.RAW,
    "multiplex_socket": Shape.MULTIPLEX,
    "kline_futures_socket": Shape.RAW,
    "aggtrade_futures_socket": Shape.COMBINED,
    "futures_ticker_socket": Shape.COMBINED,
    "futures_coin_ticker_socket": Shape.COMBINED,
    "index_price_socket": Shape.COMBINED,
    "symbol_mark_price_socket": Shape.COMBINED,
    "all_mark_price_socket": Shape.COMBINED,
    "symbol_ticker_futures_socket": Shape.COMBINED,
    "individual_symbol_ticker_futures_socket": Shape.COMBINED,
    "all_ticker_futures_socket": Shape.COMBINED,
    "futures_depth_socket": Shape.COMBINED,
    "futures_rpi_depth_socket": Shape.COMBINED,
    "futures_multiplex_socket": Shape.MULTIPLEX,
    "options_ticker_socket": Shape.RAW,
    "options_ticker_by_expiration_socket": Shape.RAW,
    "options_recent_trades_socket": Shape.RAW,
    "options_kline_socket": Shape.RAW,
    "options_depth_socket": Shape.RAW,
    "options_book_ticker_socket": Shape.RAW,
    "options_new_symbol_socket": Shape.RAW,
    "options_open_interest_socket": Shape.RAW,
    "options_mark_price_socket": Shape.RAW,
    "options_index_price_socket": Shape.RAW,
    "options_multiplex_socket": Shape.MULTIPLEX,
    "user_socket": Shape.RAW,
    "margin_socket": Shape.RAW,
    "isolated_margin_socket": Shape.RAW,
    "futures_user_socket": Shape.RAW,
    "futures_socket": Shape.RAW,
    "coin_futures_user_socket": Shape.RAW,
    "coin_futures_socket": Shape.RAW,
    "portfolio_margin_socket": Shape.RAW,
    # Not in python-binance: the shape python-binance gives its product's sockets.
    "avg_price_socket": Shape.RAW,
    "futures_kline_socket": Shape.COMBINED,
    "futures_diff_depth_socket": Shape.COMBINED,
    "force_order_socket": Shape.COMBINED,
    "options_diff_depth_socket": Shape.RAW,
    "options_user_socket": Shape.RAW,
}
"""Every stream method's python-binance shape, by ``BinanceSocketManager`` method name."""


@final
class _Combined(StreamMethods[Never]):
    """The stream methods with handles that yield envelopes, as python-binance's
    ``stream?streams=`` sockets do, even for a single stream."""

    def __init__(self, bsm: BinanceSocketManager) -> None:
        self._bsm = bsm

    def _open(self, request: StreamRequest) -> StreamHandle[Any]:
        return self._bsm._open(dataclasses.replace(request, multiplex=True))


@final
class ThreadedWebsocketManager(ThreadedManager, KlineIntervals):
    """Binance streams for synchronous programs: python-binance's callback manager.

    The same ``start_<x>_socket(callback, ...)`` methods as python-binance's, with the
    same parameters, defaults and message shapes (futures sockets call back with
    ``{"stream", "data"}`` envelopes, as python-binance's do), plus one for every
    other stream method of :class:`BinanceSocketManager`; ``stop_socket(name)``,
    ``stop()`` and ``join()``.  Trio runs in a thread of its own; your event loop
    (asyncio or other) is never touched.

    Example::

        def handle(msg):
            print(msg["p"], msg["q"])

        twm = ThreadedWebsocketManager()
        twm.start()
        twm.start_trade_socket(handle, "BTCUSDT")
        twm.join()  # Ctrl-C stops the manager cleanly and returns

    Callbacks:
        Every callback of a manager runs in one thread of its own, never in the Trio
        thread and never in yours, as in python-binance: one at a time, in arrival
        order per socket.  ``async def`` callbacks are awaited there, on an asyncio
        event loop, one message at a time per socket (python-binance starts a task
        per message and does not wait for it); while one awaits, other sockets'
        callbacks run.  A callback that raises is logged once per exception type with
        its traceback; later errors are counted and summarised every 10 s, and
        delivery continues, unless ``stop_socket_on_callback_error`` is set.  When a
        socket fails (``StreamRejected``, ``QueueOverflow``, ``StreamUnavailable``...)
        its callback is called once with python-binance's error shape ``{"e": "error",
        "type": <exception class name>, "m": <message>}`` and the socket ends; its
        name is free again.

    Names:
        Every ``start_*`` method returns the socket's name, python-binance's: the
        stream name, ``streams=<a>/<b>`` for a multiplex socket, with a ``#n`` suffix
        when that name is already running; user-data sockets get real names too
        (python-binance's are ``None``).  Pass it to :meth:`stop_socket`.

    Every ``start_*`` method:
        Returns: the socket's name.
        Raises: ``ValueError`` for bad arguments (before any I/O, the message names
        what is allowed), ``TypeError`` if ``callback`` is not callable,
        ``RuntimeError`` if the manager is not running.

    Lifetime:
        A manager runs once: :meth:`start` (or ``with``), then :meth:`stop`.  When
        :meth:`stop` returns, every socket is closed, no callback is running and the
        manager's threads have ended.  Make a new manager to start again.

    Args:
        api_key: Binance API key, for user-data sockets.
        api_secret: API secret (HMAC) or PEM private key, for user-data sockets.
        requests_params: Ignored; accepted so python-binance code ports unchanged.
        tld: Top-level domain of the production endpoints (``"com"``, ``"us"``...).
        testnet: Use Binance's testnet endpoints.
        session_params: Ignored (python-binance's aiohttp session options).
        https_proxy: An HTTP proxy, ``http://[user:password@]host[:port]``, for every
            connection and REST call (see :func:`~trio_binance.open_binance_streams`).
        loop: Ignored, with a warning logged.  python-binance ran the given (or the
            caller's default) asyncio loop in its thread; this manager runs its own.
        max_queue_size: Buffer size of each socket's handle (see
            :func:`~trio_binance.open_binance_streams`).
        demo: Use Binance's demo-mode endpoints.
        endpoints: Explicit :class:`~trio_binance.Endpoints` (override ``tld``,
            ``testnet`` and ``demo``), e.g. a fake exchange's.
        transport: How connections reach the exchange (the network by default).
        settings: Timeouts, margins and limits (:class:`~trio_binance.Settings`);
            python-binance's ``user_timeout`` is ``Settings.listen_key_keepalive``.
        time_unit: ``"MICROSECOND"`` for microsecond timestamps in spot streams and
            spot and margin user data (see :func:`~trio_binance.open_binance_streams`).
        verbose: Set the ``trio_binance`` logger to DEBUG.
        stop_socket_on_callback_error: Stop a socket the first time its callback
            raises (the error is logged with its traceback; the name is freed)
            instead of logging and carrying on.

    Raises:
        ValueError: An argument is invalid (checked here, before any thread starts).
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        requests_params: dict[str, Any] | None = None,
        tld: str = "com",
        testnet: bool = False,
        session_params: dict[str, Any] | None = None,
        https_proxy: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        max_queue_size: int = 100,
        *,
        demo: bool = False,
        endpoints: Endpoints | None = None,
        transport: Transport | None = None,
        settings: Settings | None = None,
        time_unit: str | None = None,
        verbose: bool = False,
        stop_socket_on_callback_error: bool = False,
    ) -> None:
        super().__init__(
            api_key=api_key,
            api_secret=api_secret,
            tld=tld,
            testnet=testnet,
            https_proxy=https_proxy,
            max_queue_size=max_queue_size,
            demo=demo,
            endpoints=endpoints,
            transport=transport,
            settings=settings,
            time_unit=time_unit,
            verbose=verbose,
            stop_socket_on_callback_error=stop_socket_on_callback_error,
        )
        if loop is not None:
            logger.warning(
                "ThreadedWebsocketManager ignores loop: it runs callbacks on a loop of its own"
            )

    def _start(self, method_name: str, callback: Callback[Any], **params: Any) -> str:
        """Open ``BinanceSocketManager.<method_name>(**params)`` in python-binance's shape."""
        shape = SOCKET_SHAPES[method_name]
        if "streams" in params:
            params["streams"] = consumed(params["streams"])

        def opener(bsm: BinanceSocketManager) -> Handle:
            methods = _Combined(bsm) if shape is Shape.COMBINED else bsm
            handle: Handle = getattr(methods, method_name)(**params)
            return handle

        def namer(handle: Handle) -> str:
            name = handle.name or method_name.removesuffix("_socket")
            return f"streams={name}" if shape is Shape.MULTIPLEX else name

        return self._start_socket(callback, opener, namer)

    # ---------------------------------------------------------- spot streams

    def start_depth_socket(
        self,
        callback: Callback[DepthUpdate | PartialDepth | ErrorMessage],
        symbol: str,
        depth: str | int | None = None,
        interval: int | None = None,
    ) -> str:
        """Spot order-book stream: diff updates or a partial book.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.depth_socket`.
        """
        return self._start("depth_socket", callback, symbol=symbol, depth=depth, interval=interval)

    def start_kline_socket(
        self,
        callback: Callback[Kline | ErrorMessage],
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
    ) -> str:
        """Spot candlesticks, ``<symbol>@kline_<interval>``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.kline_socket`.
        """
        return self._start("kline_socket", callback, symbol=symbol, interval=interval)

    def start_miniticker_socket(
        self, callback: Callback[list[MiniTicker] | ErrorMessage], update_time: int = 1000
    ) -> str:
        """Spot 24 h mini tickers of every symbol that changed, ``!miniTicker@arr``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.miniticker_socket`.
        """
        return self._start("miniticker_socket", callback, update_time=update_time)

    def start_trade_socket(self, callback: Callback[Trade | ErrorMessage], symbol: str) -> str:
        """Spot trades, one message per trade, ``<symbol>@trade``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.trade_socket`.
        """
        return self._start("trade_socket", callback, symbol=symbol)

    def start_aggtrade_socket(
        self, callback: Callback[AggTrade | ErrorMessage], symbol: str
    ) -> str:
        """Spot aggregate trades, ``<symbol>@aggTrade``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.aggtrade_socket`.
        """
        return self._start("aggtrade_socket", callback, symbol=symbol)

    def start_symbol_miniticker_socket(
        self, callback: Callback[MiniTicker | ErrorMessage], symbol: str
    ) -> str:
        """Spot 24 h mini ticker of one symbol, ``<symbol>@miniTicker``, every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.symbol_miniticker_socket`.
        """
        return self._start("symbol_miniticker_socket", callback, symbol=symbol)

    def start_symbol_ticker_socket(
        self, callback: Callback[Ticker | ErrorMessage], symbol: str
    ) -> str:
        """Spot 24 h ticker of one symbol, ``<symbol>@ticker``, every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.symbol_ticker_socket`.
        """
        return self._start("symbol_ticker_socket", callback, symbol=symbol)

    def start_ticker_socket(self, callback: Callback[list[Ticker] | ErrorMessage]) -> str:
        """Spot all-market tickers, ``!ticker@arr``: retired by Binance on 2026-03-26.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.ticker_socket`.
        """
        return self._start("ticker_socket", callback)

    def start_symbol_book_ticker_socket(
        self, callback: Callback[BookTicker | ErrorMessage], symbol: str
    ) -> str:
        """Spot best bid and ask of one symbol, real time, ``<symbol>@bookTicker``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.symbol_book_ticker_socket`.
        """
        return self._start("symbol_book_ticker_socket", callback, symbol=symbol)

    def start_book_ticker_socket(self, callback: Callback[BookTicker | ErrorMessage]) -> str:
        """Spot all-market book tickers, ``!bookTicker``: removed by Binance on 2022-12-07.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.book_ticker_socket`.
        """
        return self._start("book_ticker_socket", callback)

    def start_avg_price_socket(
        self, callback: Callback[AvgPrice | ErrorMessage], symbol: str
    ) -> str:
        """Spot current average price, ``<symbol>@avgPrice``, every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.avg_price_socket`.
        """
        return self._start("avg_price_socket", callback, symbol=symbol)

    def start_multiplex_socket(
        self, callback: Callback[Envelope | ErrorMessage], streams: Iterable[str]
    ) -> str:
        """Several spot streams on one handle, by their Binance names.

        Calls back with ``{"stream", "data"}`` envelopes.
        See :meth:`BinanceSocketManager.multiplex_socket`.
        """
        return self._start("multiplex_socket", callback, streams=streams)

    # ------------------------------------------------------- futures streams

    def start_kline_futures_socket(
        self,
        callback: Callback[ContinuousKline | ErrorMessage],
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        contract_type: ContractTypeLike = ContractType.PERPETUAL,
    ) -> str:
        """Continuous-contract candlesticks, ``<pair>_<contract>@continuousKline_<interval>``.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.kline_futures_socket`.
        """
        return self._start(
            "kline_futures_socket",
            callback,
            symbol=symbol,
            interval=interval,
            futures_type=futures_type,
            contract_type=contract_type,
        )

    def start_futures_kline_socket(
        self,
        callback: Callback[Envelope[Kline] | ErrorMessage],
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Futures candlesticks of one contract, ``<symbol>@kline_<interval>``.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_kline_socket`.
        """
        return self._start(
            "futures_kline_socket",
            callback,
            symbol=symbol,
            interval=interval,
            futures_type=futures_type,
        )

    def start_aggtrade_futures_socket(
        self,
        callback: Callback[Envelope[FuturesAggTrade] | ErrorMessage],
        symbol: str,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Futures aggregate trades, ``<symbol>@aggTrade`` (USD-M ``/market``), every 100 ms.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.aggtrade_futures_socket`.
        """
        return self._start(
            "aggtrade_futures_socket",
            callback,
            symbol=symbol,
            futures_type=futures_type,
        )

    def start_futures_ticker_socket(
        self, callback: Callback[Envelope[list[FuturesTicker]] | ErrorMessage]
    ) -> str:
        """USD-M 24 h tickers of every changed symbol, ``!ticker@arr`` (``/market``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_ticker_socket`.
        """
        return self._start("futures_ticker_socket", callback)

    def start_futures_coin_ticker_socket(
        self, callback: Callback[Envelope[list[FuturesTicker]] | ErrorMessage]
    ) -> str:
        """COIN-M 24 h tickers of every changed symbol, ``!ticker@arr`` on the COIN-M host.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_coin_ticker_socket`.
        """
        return self._start("futures_coin_ticker_socket", callback)

    def start_index_price_socket(
        self,
        callback: Callback[Envelope[IndexPrice] | ErrorMessage],
        symbol: str,
        fast: bool = True,
    ) -> str:
        """COIN-M index price of a pair, ``<pair>@indexPrice[@1s]``.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.index_price_socket`.
        """
        return self._start("index_price_socket", callback, symbol=symbol, fast=fast)

    def start_symbol_mark_price_socket(
        self,
        callback: Callback[Envelope[MarkPrice] | ErrorMessage],
        symbol: str,
        fast: bool = True,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Mark price and funding of one contract, ``<symbol>@markPrice[@1s]`` (``/market``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.symbol_mark_price_socket`.
        """
        return self._start(
            "symbol_mark_price_socket",
            callback,
            symbol=symbol,
            fast=fast,
            futures_type=futures_type,
        )

    def start_all_mark_price_socket(
        self,
        callback: Callback[Envelope[list[MarkPrice]] | ErrorMessage],
        fast: bool = True,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Mark prices of every contract, ``!markPrice@arr[@1s]`` (``/market``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.all_mark_price_socket`.
        """
        return self._start("all_mark_price_socket", callback, fast=fast, futures_type=futures_type)

    def start_symbol_ticker_futures_socket(
        self,
        callback: Callback[Envelope[FuturesBookTicker] | ErrorMessage],
        symbol: str,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Best bid and ask of one contract, ``<symbol>@bookTicker`` (USD-M ``/public``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.symbol_ticker_futures_socket`.
        """
        return self._start(
            "symbol_ticker_futures_socket",
            callback,
            symbol=symbol,
            futures_type=futures_type,
        )

    def start_individual_symbol_ticker_futures_socket(
        self,
        callback: Callback[Envelope[FuturesTicker] | ErrorMessage],
        symbol: str,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """24 h ticker of one contract, ``<symbol>@ticker`` (USD-M ``/market``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.individual_symbol_ticker_futures_socket`.
        """
        return self._start(
            "individual_symbol_ticker_futures_socket",
            callback,
            symbol=symbol,
            futures_type=futures_type,
        )

    def start_all_ticker_futures_socket(
        self,
        callback: Callback[Envelope[Any] | ErrorMessage],
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        channel: str = "!bookTicker",
    ) -> str:
        """An all-market futures stream by name, by default ``!bookTicker``.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.all_ticker_futures_socket`.
        """
        return self._start(
            "all_ticker_futures_socket",
            callback,
            futures_type=futures_type,
            channel=channel,
        )

    def start_futures_depth_socket(
        self,
        callback: Callback[Envelope[FuturesDepthUpdate] | ErrorMessage],
        symbol: str,
        depth: str | int = "10",
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        speed: str | int | None = None,
    ) -> str:
        """Futures partial book, ``<symbol>@depth<N>[@speed]`` (USD-M ``/public``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_depth_socket`.
        """
        return self._start(
            "futures_depth_socket",
            callback,
            symbol=symbol,
            depth=depth,
            futures_type=futures_type,
            speed=speed,
        )

    def start_futures_diff_depth_socket(
        self,
        callback: Callback[Envelope[FuturesDepthUpdate] | ErrorMessage],
        symbol: str,
        speed: str | int | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Futures diff book updates, ``<symbol>@depth[@speed]`` (not in python-binance).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_diff_depth_socket`.
        """
        return self._start(
            "futures_diff_depth_socket",
            callback,
            symbol=symbol,
            speed=speed,
            futures_type=futures_type,
        )

    def start_futures_rpi_depth_socket(
        self,
        callback: Callback[Envelope[FuturesDepthUpdate] | ErrorMessage],
        symbol: str,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """USD-M book including RPI orders, ``<symbol>@rpiDepth@500ms`` (``/public``).

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.futures_rpi_depth_socket`.
        """
        return self._start(
            "futures_rpi_depth_socket",
            callback,
            symbol=symbol,
            futures_type=futures_type,
        )

    def start_force_order_socket(
        self,
        callback: Callback[Envelope[ForceOrder] | ErrorMessage],
        symbol: str | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Liquidation orders, ``<symbol>@forceOrder`` or ``!forceOrder@arr``.

        Calls back with ``{"stream", "data"}`` envelopes, as python-binance (whose futures
        sockets dial ``stream?streams=``).
        See :meth:`BinanceSocketManager.force_order_socket`.
        """
        return self._start("force_order_socket", callback, symbol=symbol, futures_type=futures_type)

    def start_futures_multiplex_socket(
        self,
        callback: Callback[Envelope | ErrorMessage],
        streams: Iterable[str],
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        category: str = "market",
    ) -> str:
        """Several futures streams on one handle, by their Binance names.

        Calls back with ``{"stream", "data"}`` envelopes.
        See :meth:`BinanceSocketManager.futures_multiplex_socket`.
        """
        return self._start(
            "futures_multiplex_socket",
            callback,
            streams=streams,
            futures_type=futures_type,
            category=category,
        )

    # ------------------------------------------------------- options streams

    def start_options_ticker_socket(
        self, callback: Callback[OptionTicker | ErrorMessage], symbol: str
    ) -> str:
        """24 h ticker of one option, ``<symbol>@optionTicker`` (``/public``), every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_ticker_socket`.
        """
        return self._start("options_ticker_socket", callback, symbol=symbol)

    def start_options_ticker_by_expiration_socket(
        self,
        callback: Callback[list[OptionTicker] | ErrorMessage],
        symbol: str,
        expiration_date: str,
    ) -> str:
        """Tickers of every option of one underlying and expiry (``/public``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_ticker_by_expiration_socket`.
        """
        return self._start(
            "options_ticker_by_expiration_socket",
            callback,
            symbol=symbol,
            expiration_date=expiration_date,
        )

    def start_options_recent_trades_socket(
        self, callback: Callback[OptionTrade | ErrorMessage], symbol: str
    ) -> str:
        """Option trades, ``<symbol>@optionTrade`` (``/public``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_recent_trades_socket`.
        """
        return self._start("options_recent_trades_socket", callback, symbol=symbol)

    def start_options_kline_socket(
        self,
        callback: Callback[Kline | ErrorMessage],
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
    ) -> str:
        """Option candlesticks, ``<symbol>@kline_<interval>`` (``/market``), every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_kline_socket`.
        """
        return self._start("options_kline_socket", callback, symbol=symbol, interval=interval)

    def start_options_depth_socket(
        self,
        callback: Callback[OptionDepthUpdate | ErrorMessage],
        symbol: str,
        depth: str | int = "10",
        speed: str | int = "500ms",
    ) -> str:
        """Option partial book, ``<symbol>@depth<N>@<speed>`` (``/public``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_depth_socket`.
        """
        return self._start(
            "options_depth_socket",
            callback,
            symbol=symbol,
            depth=depth,
            speed=speed,
        )

    def start_options_diff_depth_socket(
        self,
        callback: Callback[OptionDepthUpdate | ErrorMessage],
        symbol: str,
        speed: str | int = "500ms",
    ) -> str:
        """Option diff book updates, ``<symbol>@depth@<speed>`` (``/public``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_diff_depth_socket`.
        """
        return self._start("options_diff_depth_socket", callback, symbol=symbol, speed=speed)

    def start_options_book_ticker_socket(
        self, callback: Callback[OptionBookTicker | ErrorMessage], symbol: str
    ) -> str:
        """Best bid and ask of one option, real time, ``<symbol>@bookTicker`` (``/public``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_book_ticker_socket`.
        """
        return self._start("options_book_ticker_socket", callback, symbol=symbol)

    def start_options_new_symbol_socket(
        self, callback: Callback[OptionSymbol | ErrorMessage]
    ) -> str:
        """Newly listed options, ``!optionSymbol`` (``/market``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_new_symbol_socket`.
        """
        return self._start("options_new_symbol_socket", callback)

    def start_options_open_interest_socket(
        self,
        callback: Callback[list[OptionOpenInterest] | ErrorMessage],
        symbol: str,
        expiration_date: str,
    ) -> str:
        """Open interest per option of one underlying and expiry, every 60 s (``/market``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_open_interest_socket`.
        """
        return self._start(
            "options_open_interest_socket",
            callback,
            symbol=symbol,
            expiration_date=expiration_date,
        )

    def start_options_mark_price_socket(
        self, callback: Callback[list[OptionMarkPrice] | ErrorMessage], symbol: str
    ) -> str:
        """Mark prices and greeks of every option of an underlying (``/market``).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_mark_price_socket`.
        """
        return self._start("options_mark_price_socket", callback, symbol=symbol)

    def start_options_index_price_socket(
        self, callback: Callback[list[OptionIndexPrice] | ErrorMessage]
    ) -> str:
        """Index prices of every options underlying, ``!index@arr`` (``/market``), every second.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_index_price_socket`.
        """
        return self._start("options_index_price_socket", callback)

    def start_options_multiplex_socket(
        self, callback: Callback[Envelope | ErrorMessage], streams: Iterable[str]
    ) -> str:
        """Several options streams on one handle, by their Binance names.

        Calls back with ``{"stream", "data"}`` envelopes.
        See :meth:`BinanceSocketManager.options_multiplex_socket`.
        """
        return self._start("options_multiplex_socket", callback, streams=streams)

    # ----------------------------------------------------- user-data streams

    def start_user_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Spot user data (account, balance and order events) over the WebSocket API.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.user_socket`.
        """
        return self._start("user_socket", callback)

    def start_margin_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Cross-margin user data, through a listen token renewed before it expires.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.margin_socket`.
        """
        return self._start("margin_socket", callback)

    def start_isolated_margin_socket(
        self, callback: Callback[UserEvent | ErrorMessage], symbol: str
    ) -> str:
        """Isolated-margin user data of ``symbol``, through a renewed listen token.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.isolated_margin_socket`.
        """
        return self._start("isolated_margin_socket", callback, symbol=symbol)

    def start_futures_user_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """USD-M futures user data on the ``/private`` route, via a kept-alive listen key.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.futures_user_socket`.
        """
        return self._start("futures_user_socket", callback)

    def start_futures_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Alias of :meth:`futures_user_socket` (python-binance name).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.futures_socket`.
        """
        return self._start("futures_socket", callback)

    def start_coin_futures_user_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """COIN-M futures user data on dstream, via a kept-alive listen key.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.coin_futures_user_socket`.
        """
        return self._start("coin_futures_user_socket", callback)

    def start_coin_futures_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Alias of :meth:`coin_futures_user_socket` (python-binance name).

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.coin_futures_socket`.
        """
        return self._start("coin_futures_socket", callback)

    def start_portfolio_margin_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Portfolio-margin user data (``/pm``), via a kept-alive listen key.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.portfolio_margin_socket`.
        """
        return self._start("portfolio_margin_socket", callback)

    def start_options_user_socket(self, callback: Callback[UserEvent | ErrorMessage]) -> str:
        """Options user data on the ``/private`` route, via a kept-alive listen key.

        Calls back with bare payloads.
        See :meth:`BinanceSocketManager.options_user_socket`.
        """
        return self._start("options_user_socket", callback)
