"""Every market-data ``*_socket`` method, as a mixin with no I/O of its own.

:class:`StreamMethods` has python-binance's ``BinanceSocketManager`` market-data
methods (same names, parameters and defaults) plus a few python-binance lacks.  Each
method validates its arguments, builds a :class:`~trio_binance._streams.StreamRequest`
and hands it to :meth:`StreamMethods._open`, which the manager implements.  Nothing
here touches the network, so bad input fails at call time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Literal, overload

from typing_extensions import Never, TypeVar

from ._endpoints import Product
from ._enums import (
    KLINE_INTERVAL_1MINUTE,
    ContractType,
    ContractTypeLike,
    FuturesType,
    FuturesTypeLike,
    KlineIntervals,
    coerce_contract_type,
    coerce_futures_type,
)
from ._handle import StreamHandle
from ._streams import (
    OPTIONS_MULTIPLEX_FALLBACK_ROUTE,
    OPTIONS_OPEN_INTEREST_WORD,
    ROUTE_MARKET,
    StreamRequest,
    build_request,
    futures_speed_suffix,
    normalize_symbol,
    options_speed_suffix,
    partial_depth,
    spot_depth_interval_suffix,
    spot_depth_suffix,
    spot_miniticker_stream,
    validate_category,
    validate_expiration_date,
    validate_kline_interval,
)
from .messages import (
    AggTrade,
    AvgPrice,
    BookTicker,
    ContinuousKline,
    DepthUpdate,
    Envelope,
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
)

__all__ = ["N_co", "StreamMethods"]

#: What a manager's handles yield besides messages: ``Never`` (nothing), or ``Gap``
#: for a manager with gap notices on.  ``StreamHandle[Trade | Never]`` is
#: ``StreamHandle[Trade]`` to a type checker.
N_co = TypeVar("N_co", covariant=True, default=Never)

#: The ``depth`` values of :meth:`StreamMethods.depth_socket` that give diff updates.
_DiffDepth = Literal["1", 1] | None
#: Those that give partial books.
_PartialDepth = Literal["5", "10", "20", 5, 10, 20]


class StreamMethods(KlineIntervals, Generic[N_co]):
    """Market-data stream methods shared by the socket managers.

    Every method is synchronous: it checks its arguments and returns the handle
    :meth:`_open` gives for the request.  Single-stream methods give handles that
    yield bare payloads; the ``*multiplex_socket`` methods give handles that yield
    ``{"stream": name, "data": payload}`` envelopes, even for one stream.

    Each handle is typed with its stream's :mod:`trio_binance.messages` class:
    ``trade_socket()`` returns a ``StreamHandle[Trade]`` (``StreamHandle[Trade | Gap]``
    on a manager with gap notices on).

    Symbols are case-insensitive (``"BTCUSDT"`` and ``"btcusdt"`` are the same
    stream).  ``futures_type`` accepts :class:`~trio_binance.FuturesType`,
    python-binance's ``FuturesType``, or ``"USD_M"`` / ``"COIN_M"``.

    python-binance's constants are class attributes: ``WEBSOCKET_DEPTH_5``,
    ``WEBSOCKET_DEPTH_10`` and ``WEBSOCKET_DEPTH_20`` (the partial-book depths, as
    strings) and ``KLINE_INTERVAL_1SECOND`` to ``KLINE_INTERVAL_1MONTH``.
    """

    WEBSOCKET_DEPTH_5 = "5"
    WEBSOCKET_DEPTH_10 = "10"
    WEBSOCKET_DEPTH_20 = "20"

    def _open(self, request: StreamRequest) -> StreamHandle[Any]:
        """Open a handle for ``request``; implemented by the manager."""
        raise NotImplementedError

    # ----------------------------------------------------------------- helpers

    def _spot(self, stream: str) -> StreamHandle[Any]:
        return self._open(build_request(Product.SPOT, [stream], multiplex=False))

    def _futures(self, stream: str, futures_type: FuturesTypeLike) -> StreamHandle[Any]:
        product = coerce_futures_type(futures_type).product
        return self._open(build_request(product, [stream], multiplex=False))

    def _options(self, stream: str) -> StreamHandle[Any]:
        return self._open(build_request(Product.OPTIONS, [stream], multiplex=False))

    # -------------------------------------------------------------------- spot

    @overload
    def depth_socket(
        self, symbol: str, depth: _DiffDepth = None, interval: int | None = None
    ) -> StreamHandle[DepthUpdate | N_co]: ...
    @overload
    def depth_socket(
        self, symbol: str, depth: _PartialDepth, interval: int | None = None
    ) -> StreamHandle[PartialDepth | N_co]: ...
    @overload
    def depth_socket(
        self, symbol: str, depth: str | int | None = None, interval: int | None = None
    ) -> StreamHandle[DepthUpdate | PartialDepth | N_co]: ...
    def depth_socket(
        self,
        symbol: str,
        depth: str | int | None = None,
        interval: int | None = None,
    ) -> StreamHandle[DepthUpdate | PartialDepth | N_co]:
        """Spot order-book stream: diff updates or a partial book.

        ``depth=None`` (or ``"1"``) gives ``<symbol>@depth``, ``depthUpdate`` events
        ``{"e", "E", "s", "U", "u", "b", "a"}`` for a local book.  ``depth`` 5, 10 or
        20 gives ``<symbol>@depth<N>``, top-N snapshots ``{"lastUpdateId", "bids",
        "asks"}`` (no symbol in the payload).

        Args:
            symbol: Spot symbol, e.g. ``"BTCUSDT"``.
            depth: ``None``/``"1"`` for diffs, or 5, 10, 20 (str or int) for the
                partial book.
            interval: Update speed in ms: ``None`` or 0 for 1000 ms, 100 for 100 ms.

        Raises:
            ValueError: Bad symbol, a depth other than None, 1, 5, 10, 20, or an
                interval other than None, 0, 100.
        """
        name = normalize_symbol(symbol)
        stream = f"{name}@depth{spot_depth_suffix(depth)}{spot_depth_interval_suffix(interval)}"
        return self._spot(stream)

    def kline_socket(
        self, symbol: str, interval: str = KLINE_INTERVAL_1MINUTE
    ) -> StreamHandle[Kline | N_co]:
        """Spot candlesticks, ``<symbol>@kline_<interval>``.

        Payload: ``{"e": "kline", "E", "s", "k": {"t", "T", "i", "o", "h", "l", "c",
        "v", "x", ...}}``, pushed every 2 s (every 1 s for ``1s``); ``k.x`` marks a
        closed candle.

        Args:
            symbol: Spot symbol.
            interval: One of the spot intervals, ``"1s"`` to ``"1M"``.

        Raises:
            ValueError: Bad symbol or unknown interval (the message lists them).
        """
        name = normalize_symbol(symbol)
        return self._spot(f"{name}@kline_{validate_kline_interval(interval, Product.SPOT)}")

    def miniticker_socket(self, update_time: int = 1000) -> StreamHandle[list[MiniTicker] | N_co]:
        """Spot 24 h mini tickers of every symbol that changed, ``!miniTicker@arr``.

        Payload: a list of ``{"e": "24hrMiniTicker", "E", "s", "c", "o", "h", "l",
        "v", "q"}``, once a second.

        Args:
            update_time: Kept for python-binance compatibility; Binance publishes
                this stream every 1000 ms only, so 1000 is the only value.

        Raises:
            ValueError: ``update_time`` is not 1000.
        """
        return self._spot(spot_miniticker_stream(update_time))

    def trade_socket(self, symbol: str) -> StreamHandle[Trade | N_co]:
        """Spot trades, one message per trade, ``<symbol>@trade``.

        Payload: ``{"e": "trade", "E", "s", "t", "p", "q", "T", "m", "M"}``.

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@trade")

    def aggtrade_socket(self, symbol: str) -> StreamHandle[AggTrade | N_co]:
        """Spot aggregate trades, ``<symbol>@aggTrade``.

        Payload: ``{"e": "aggTrade", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}``.

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@aggTrade")

    def symbol_miniticker_socket(self, symbol: str) -> StreamHandle[MiniTicker | N_co]:
        """Spot 24 h mini ticker of one symbol, ``<symbol>@miniTicker``, every second.

        Payload: ``{"e": "24hrMiniTicker", "E", "s", "c", "o", "h", "l", "v", "q"}``.

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@miniTicker")

    def symbol_ticker_socket(self, symbol: str) -> StreamHandle[Ticker | N_co]:
        """Spot 24 h ticker of one symbol, ``<symbol>@ticker``, every second.

        Payload: ``{"e": "24hrTicker", "E", "s", "p", "P", "w", "c", "b", "a", "o",
        "h", "l", "v", "q", "n", ...}``.  This is the replacement for the retired
        all-market ``!ticker@arr``.

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@ticker")

    def ticker_socket(self) -> StreamHandle[list[Ticker] | N_co]:
        """Spot all-market tickers, ``!ticker@arr``: retired by Binance on 2026-03-26.

        Kept so that ported code fails loudly instead of waiting on a silent stream.
        Use :meth:`symbol_ticker_socket` per symbol or :meth:`miniticker_socket`.

        Raises:
            RetiredStreamError: Always (a ``ValueError``); the message names the
                replacements.
        """
        return self._spot("!ticker@arr")

    def symbol_book_ticker_socket(self, symbol: str) -> StreamHandle[BookTicker | N_co]:
        """Spot best bid and ask of one symbol, real time, ``<symbol>@bookTicker``.

        Payload: ``{"u", "s", "b", "B", "a", "A"}`` (spot sends no event type or time).

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@bookTicker")

    def book_ticker_socket(self) -> StreamHandle[BookTicker | N_co]:
        """Spot all-market book tickers, ``!bookTicker``: removed by Binance on 2022-12-07.

        Kept so that ported code fails loudly.  Use :meth:`symbol_book_ticker_socket`
        for each symbol you need (several fit on one connection).

        Raises:
            RetiredStreamError: Always (a ``ValueError``); the message names the
                replacement.
        """
        return self._spot("!bookTicker")

    def avg_price_socket(self, symbol: str) -> StreamHandle[AvgPrice | N_co]:
        """Spot current average price, ``<symbol>@avgPrice``, every second.

        Not in python-binance.  Payload: ``{"e": "avgPrice", "E", "s", "i", "w",
        "T"}`` where ``w`` is the average over the window ``i`` (e.g. ``"5m"``).

        Args:
            symbol: Spot symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._spot(f"{normalize_symbol(symbol)}@avgPrice")

    def multiplex_socket(self, streams: Iterable[str]) -> StreamHandle[Envelope | N_co]:
        """Several spot streams on one handle, by their Binance names.

        Payload: ``{"stream": "<name>", "data": <that stream's payload>}``.  Names
        are used as given (lowercase the symbol part yourself, e.g.
        ``"btcusdt@trade"``); duplicates are dropped.

        Args:
            streams: Spot stream names, e.g. ``["btcusdt@trade", "ethusdt@depth"]``.

        Raises:
            ValueError: Empty list, or a name that is empty or contains ``/``, ``?``,
                ``&``, ``#``, ``%`` or whitespace.
            RetiredStreamError: The list names ``!ticker@arr`` or ``!bookTicker``.
        """
        return self._open(build_request(Product.SPOT, streams, multiplex=True))

    # ----------------------------------------------------------------- futures

    def kline_futures_socket(
        self,
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        contract_type: ContractTypeLike = ContractType.PERPETUAL,
    ) -> StreamHandle[ContinuousKline | N_co]:
        """Continuous-contract candlesticks, ``<pair>_<contract>@continuousKline_<interval>``.

        Payload: ``{"e": "continuous_kline", "E", "ps", "ct", "k": {...}}`` every
        250 ms.  For the kline of one contract symbol use :meth:`futures_kline_socket`.

        Args:
            symbol: The pair, e.g. ``"BTCUSDT"`` (USD-M) or ``"BTCUSD"`` (COIN-M).
            interval: A futures interval, ``"1m"`` to ``"1M"`` (no ``"1s"``).
            futures_type: USD-M (``/market`` route) or COIN-M.
            contract_type: Perpetual, current quarter or next quarter.

        Raises:
            ValueError: Bad pair, interval, futures type or contract type.
        """
        pair = normalize_symbol(symbol, "symbol (pair)")
        kind = coerce_futures_type(futures_type)
        contract = coerce_contract_type(contract_type).value
        period = validate_kline_interval(interval, kind.product)
        return self._futures(f"{pair}_{contract}@continuousKline_{period}", kind)

    def futures_kline_socket(
        self,
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> StreamHandle[Kline | N_co]:
        """Futures candlesticks of one contract, ``<symbol>@kline_<interval>``.

        Not in python-binance.  USD-M streams go to ``/market``.

        Payload: ``{"e": "kline", "E", "s", "k": {"t", "T", "i", "o", "h", "l", "c",
        "v", "x", ...}}`` every 250 ms.

        Args:
            symbol: Contract symbol, e.g. ``"BTCUSDT"`` or ``"BTCUSD_PERP"``.
            interval: A futures interval, ``"1m"`` to ``"1M"`` (no ``"1s"``).
            futures_type: USD-M (``/market`` route) or COIN-M.

        Raises:
            ValueError: Bad symbol, interval or futures type.
        """
        name = normalize_symbol(symbol)
        kind = coerce_futures_type(futures_type)
        period = validate_kline_interval(interval, kind.product)
        return self._futures(f"{name}@kline_{period}", kind)

    def aggtrade_futures_socket(
        self, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> StreamHandle[FuturesAggTrade | N_co]:
        """Futures aggregate trades, ``<symbol>@aggTrade`` (USD-M ``/market``), every 100 ms.

        Payload: ``{"e": "aggTrade", "E", "s", "a", "p", "q", "f", "l", "T", "m"}``.

        Args:
            symbol: Contract symbol.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol or futures type.
        """
        return self._futures(f"{normalize_symbol(symbol)}@aggTrade", futures_type)

    def futures_ticker_socket(self) -> StreamHandle[list[FuturesTicker] | N_co]:
        """USD-M 24 h tickers of every changed symbol, ``!ticker@arr`` (``/market``).

        Payload: a list of ``{"e": "24hrTicker", "E", "s", "p", "P", "c", "o", "h",
        "l", "v", "q", ...}``, every second.
        """
        return self._futures("!ticker@arr", FuturesType.USD_M)

    def futures_coin_ticker_socket(self) -> StreamHandle[list[FuturesTicker] | N_co]:
        """COIN-M 24 h tickers of every changed symbol, ``!ticker@arr`` on the COIN-M host.

        Payload: a list of ``{"e": "24hrTicker", "E", "s", "c", ...}``, every second.
        """
        return self._futures("!ticker@arr", FuturesType.COIN_M)

    def index_price_socket(self, symbol: str, fast: bool = True) -> StreamHandle[IndexPrice | N_co]:
        """COIN-M index price of a pair, ``<pair>@indexPrice[@1s]``.

        Payload: ``{"e": "indexPriceUpdate", "E", "i", "p"}``.

        Args:
            symbol: COIN-M pair, e.g. ``"BTCUSD"``.
            fast: Every second when true, every 3 s when false.

        Raises:
            ValueError: Bad pair.
        """
        suffix = "@1s" if fast else ""
        pair = normalize_symbol(symbol, "symbol (pair)")
        return self._futures(f"{pair}@indexPrice{suffix}", FuturesType.COIN_M)

    def symbol_mark_price_socket(
        self,
        symbol: str,
        fast: bool = True,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> StreamHandle[MarkPrice | N_co]:
        """Mark price and funding of one contract, ``<symbol>@markPrice[@1s]`` (``/market``).

        Payload: ``{"e": "markPriceUpdate", "E", "s", "p", "i", "P", "r", "T"}``
        (``r`` funding rate, ``T`` next funding time).

        Args:
            symbol: Contract symbol.
            fast: Every second when true, every 3 s when false.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol or futures type.
        """
        suffix = "@1s" if fast else ""
        return self._futures(f"{normalize_symbol(symbol)}@markPrice{suffix}", futures_type)

    def all_mark_price_socket(
        self, fast: bool = True, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> StreamHandle[list[MarkPrice] | N_co]:
        """Mark prices of every contract, ``!markPrice@arr[@1s]`` (``/market``).

        Payload: a list of ``markPriceUpdate`` objects as in
        :meth:`symbol_mark_price_socket`.

        Args:
            fast: Every second when true, every 3 s when false.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad futures type.
        """
        suffix = "@1s" if fast else ""
        return self._futures(f"!markPrice@arr{suffix}", futures_type)

    def symbol_ticker_futures_socket(
        self, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> StreamHandle[FuturesBookTicker | N_co]:
        """Best bid and ask of one contract, ``<symbol>@bookTicker`` (USD-M ``/public``).

        Despite its name this is the *book* ticker, as in python-binance; for the
        24 h ticker use :meth:`individual_symbol_ticker_futures_socket`.

        Payload: ``{"e": "bookTicker", "u", "E", "T", "s", "b", "B", "a", "A"}``.

        Args:
            symbol: Contract symbol.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol or futures type.
        """
        return self._futures(f"{normalize_symbol(symbol)}@bookTicker", futures_type)

    def individual_symbol_ticker_futures_socket(
        self, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> StreamHandle[FuturesTicker | N_co]:
        """24 h ticker of one contract, ``<symbol>@ticker`` (USD-M ``/market``).

        Payload: ``{"e": "24hrTicker", "E", "s", "p", "P", "w", "c", "Q", "o", "h",
        "l", "v", "q", "O", "C", "F", "L", "n"}``.

        Args:
            symbol: Contract symbol.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol or futures type.
        """
        return self._futures(f"{normalize_symbol(symbol)}@ticker", futures_type)

    def all_ticker_futures_socket(
        self,
        channel: str = "!bookTicker",
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> StreamHandle[Any | N_co]:
        """An all-market futures stream by name, by default ``!bookTicker``.

        ``channel`` is a Binance stream name such as ``"!bookTicker"`` (every
        5 s on USD-M, ``/public``), ``"!ticker@arr"`` or ``"!miniTicker@arr"``
        (``/market``).  A name the routing table does not know goes to ``/market``.

        Args:
            channel: The stream name, used as given.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad stream name or futures type.
        """
        return self._futures(channel, futures_type)

    def futures_depth_socket(
        self,
        symbol: str,
        depth: str | int = "10",
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        speed: str | int | None = None,
    ) -> StreamHandle[FuturesDepthUpdate | N_co]:
        """Futures partial book, ``<symbol>@depth<N>[@speed]`` (USD-M ``/public``).

        Payload: a ``depthUpdate`` event ``{"e", "E", "T", "s", "U", "u", "pu", "b",
        "a"}`` holding the top ``N`` levels per side.  For a diff-synced local book
        use :meth:`futures_diff_depth_socket`.

        Args:
            symbol: Contract symbol.
            depth: Levels per side: 5, 10 or 20 (str or int).
            futures_type: USD-M or COIN-M.
            speed: Not in python-binance.  ``None`` (250 ms), ``"500ms"`` or ``"100ms"``.

        Raises:
            ValueError: Bad symbol, depth, futures type or speed.
        """
        name = normalize_symbol(symbol)
        stream = f"{name}@depth{partial_depth(depth)}{futures_speed_suffix(speed)}"
        return self._futures(stream, futures_type)

    def futures_diff_depth_socket(
        self,
        symbol: str,
        speed: str | int | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> StreamHandle[FuturesDepthUpdate | N_co]:
        """Futures diff book updates, ``<symbol>@depth[@speed]`` (not in python-binance).

        Payload: ``{"e": "depthUpdate", "E", "T", "s", "U", "u", "pu", "b", "a"}``;
        each event's ``pu`` equals the previous event's ``u`` when nothing was lost.
        USD-M streams go to ``/public``.

        Args:
            symbol: Contract symbol.
            speed: ``None`` or ``"250ms"`` (default cadence, no suffix), ``"500ms"``
                or ``"100ms"``.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol, speed or futures type.
        """
        name = normalize_symbol(symbol)
        return self._futures(f"{name}@depth{futures_speed_suffix(speed)}", futures_type)

    def futures_rpi_depth_socket(
        self, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> StreamHandle[FuturesDepthUpdate | N_co]:
        """USD-M book including RPI orders, ``<symbol>@rpiDepth@500ms`` (``/public``).

        Payload: ``depthUpdate`` events as in :meth:`futures_diff_depth_socket`,
        every 500 ms, with Retail Price Improvement orders aggregated in.

        Args:
            symbol: USD-M contract symbol.
            futures_type: Must be USD-M; Binance documents no COIN-M RPI stream.

        Raises:
            ValueError: Bad symbol, or a futures type other than USD-M.
        """
        if coerce_futures_type(futures_type) is not FuturesType.USD_M:
            raise ValueError(
                "futures_rpi_depth_socket serves USD-M only: futures_type must be "
                f"FuturesType.USD_M; got {futures_type!r}"
            )
        return self._futures(f"{normalize_symbol(symbol)}@rpiDepth@500ms", futures_type)

    def force_order_socket(
        self,
        symbol: str | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> StreamHandle[ForceOrder | N_co]:
        """Liquidation orders, ``<symbol>@forceOrder`` or ``!forceOrder@arr``.

        Not in python-binance.

        Payload: ``{"e": "forceOrder", "E", "o": {"s", "S", "o", "q", "p", "ap", "X",
        "l", "z", "T", ...}}``: at most the largest liquidation per symbol per second.
        USD-M streams go to ``/market``.

        Args:
            symbol: Contract symbol, or ``None`` for every symbol.
            futures_type: USD-M or COIN-M.

        Raises:
            ValueError: Bad symbol or futures type.
        """
        stream = "!forceOrder@arr" if symbol is None else f"{normalize_symbol(symbol)}@forceOrder"
        return self._futures(stream, futures_type)

    def futures_multiplex_socket(
        self,
        streams: Iterable[str],
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        category: str = ROUTE_MARKET,
    ) -> StreamHandle[Envelope | N_co]:
        """Several futures streams on one handle, by their Binance names.

        Payload: ``{"stream": "<name>", "data": <payload>}``.  On USD-M each stream
        is routed by its type (book tickers and depth to ``/public``, the rest to
        ``/market``), so one handle may span connections; ``category`` is only the
        route for names the routing table does not know.  COIN-M is unrouted.

        Args:
            streams: Stream names, e.g. ``["btcusdt@aggTrade", "btcusdt@depth@100ms"]``.
            futures_type: USD-M or COIN-M.
            category: Fallback route, ``"market"`` or ``"public"``.

        Raises:
            ValueError: Empty list, a malformed name, a bad futures type or category.
        """
        product = coerce_futures_type(futures_type).product
        fallback = validate_category(category)
        return self._open(build_request(product, streams, multiplex=True, fallback=fallback))

    # ----------------------------------------------------------------- options

    def options_ticker_socket(self, symbol: str) -> StreamHandle[OptionTicker | N_co]:
        """24 h ticker of one option, ``<symbol>@optionTicker`` (``/public``), every second.

        Payload: a ``{"e": "24hrTicker", "E", "s", "p", "c", "o", "h", "l", "v", ...}``
        object with the option's 24 h statistics
        (:class:`~trio_binance.messages.OptionTicker`); greeks and implied
        volatilities are in :meth:`options_mark_price_socket`.

        Args:
            symbol: Option symbol, e.g. ``"BTC-251226-110000-C"``.

        Raises:
            ValueError: Bad symbol.
        """
        return self._options(f"{normalize_symbol(symbol)}@optionTicker")

    def options_ticker_by_expiration_socket(
        self, symbol: str, expiration_date: str
    ) -> StreamHandle[list[OptionTicker] | N_co]:
        """Tickers of every option of one underlying and expiry (``/public``).

        Stream ``<underlying>@optionTicker@<YYMMDD>``; payload: ``24hrTicker``
        objects as in :meth:`options_ticker_socket`.

        Args:
            symbol: Underlying, e.g. ``"BTCUSDT"``.
            expiration_date: Expiry as ``YYMMDD``, e.g. ``"251226"``.

        Raises:
            ValueError: Bad underlying or expiration date.
        """
        name = normalize_symbol(symbol, "symbol (underlying)")
        return self._options(f"{name}@optionTicker@{validate_expiration_date(expiration_date)}")

    def options_recent_trades_socket(self, symbol: str) -> StreamHandle[OptionTrade | N_co]:
        """Option trades, ``<symbol>@optionTrade`` (``/public``).

        Payload: ``{"e": "trade", "E", "s", "t", "p", "q", "X", "S", "m", "T"}``.

        Args:
            symbol: Option symbol, or an underlying for all its options.

        Raises:
            ValueError: Bad symbol.
        """
        return self._options(f"{normalize_symbol(symbol)}@optionTrade")

    def options_kline_socket(
        self, symbol: str, interval: str = KLINE_INTERVAL_1MINUTE
    ) -> StreamHandle[Kline | N_co]:
        """Option candlesticks, ``<symbol>@kline_<interval>`` (``/market``), every second.

        Payload: ``{"e": "kline", "E", "s", "k": {"t", "T", "i", "o", "h", "l", "c",
        "v", "x", ...}}``.

        Args:
            symbol: Option symbol.
            interval: ``"1m"``, ``"3m"``, ``"5m"``, ``"15m"``, ``"30m"``, ``"1h"``,
                ``"2h"``, ``"4h"``, ``"6h"``, ``"12h"``, ``"1d"``, ``"3d"`` or ``"1w"``.

        Raises:
            ValueError: Bad symbol or interval.
        """
        name = normalize_symbol(symbol)
        return self._options(f"{name}@kline_{validate_kline_interval(interval, Product.OPTIONS)}")

    def options_depth_socket(
        self, symbol: str, depth: str | int = "10", speed: str | int = "500ms"
    ) -> StreamHandle[OptionDepthUpdate | N_co]:
        """Option partial book, ``<symbol>@depth<N>@<speed>`` (``/public``).

        Payload: ``{"e": "depthUpdate", "E", "T", "s", "U", "u", "pu", "b", "a"}``
        holding the top ``N`` levels per side.

        Args:
            symbol: Option symbol.
            depth: Levels per side: 5, 10 or 20 (str or int).
            speed: ``"500ms"`` or ``"100ms"``.

        Raises:
            ValueError: Bad symbol, depth or speed.
        """
        name = normalize_symbol(symbol)
        return self._options(f"{name}@depth{partial_depth(depth)}{options_speed_suffix(speed)}")

    def options_diff_depth_socket(
        self, symbol: str, speed: str | int = "500ms"
    ) -> StreamHandle[OptionDepthUpdate | N_co]:
        """Option diff book updates, ``<symbol>@depth@<speed>`` (``/public``).

        Not in python-binance.  Payload: ``depthUpdate`` events with ``U``, ``u`` and
        ``pu`` for a local book.

        Args:
            symbol: Option symbol.
            speed: ``"500ms"`` or ``"100ms"``.

        Raises:
            ValueError: Bad symbol or speed.
        """
        return self._options(f"{normalize_symbol(symbol)}@depth{options_speed_suffix(speed)}")

    def options_book_ticker_socket(self, symbol: str) -> StreamHandle[OptionBookTicker | N_co]:
        """Best bid and ask of one option, real time, ``<symbol>@bookTicker`` (``/public``).

        Payload: a ``{"e": "bookTicker", "s", "b", "B", "a", "A", ...}`` object.

        Args:
            symbol: Option symbol.

        Raises:
            ValueError: Bad symbol.
        """
        return self._options(f"{normalize_symbol(symbol)}@bookTicker")

    def options_new_symbol_socket(self) -> StreamHandle[OptionSymbol | N_co]:
        """Newly listed options, ``!optionSymbol`` (``/market``).

        Payload: an ``{"e": "optionSymbol", "E", "s", ...}`` object describing the
        new contract (underlying, strike, call or put, expiry).
        """
        return self._options("!optionSymbol")

    def options_open_interest_socket(
        self, symbol: str, expiration_date: str
    ) -> StreamHandle[list[OptionOpenInterest] | N_co]:
        """Open interest per option of one underlying and expiry, every 60 s (``/market``).

        Stream ``<underlying>@optionOpenInterest@<YYMMDD>``; the word is the module
        constant ``OPTIONS_OPEN_INTEREST_WORD`` (Binance's docs disagree on it).
        Payload: a list of ``{"e": "openInterest", "E", "s", ...}`` objects, one per
        option, in contracts and in quote value.

        Args:
            symbol: Underlying, e.g. ``"ETHUSDT"``.
            expiration_date: Expiry as ``YYMMDD``, e.g. ``"251226"``.

        Raises:
            ValueError: Bad underlying or expiration date.
        """
        name = normalize_symbol(symbol, "symbol (underlying)")
        expiry = validate_expiration_date(expiration_date)
        return self._options(f"{name}@{OPTIONS_OPEN_INTEREST_WORD}@{expiry}")

    def options_mark_price_socket(self, symbol: str) -> StreamHandle[list[OptionMarkPrice] | N_co]:
        """Mark prices and greeks of every option of an underlying (``/market``).

        Stream ``<underlying>@optionMarkPrice``, every second.  Payload: a list of
        ``{"e": "markPrice", "E", "s", ...}`` objects with mark and index price and
        greeks.

        Args:
            symbol: Underlying, e.g. ``"BTCUSDT"``.

        Raises:
            ValueError: Bad underlying.
        """
        name = normalize_symbol(symbol, "symbol (underlying)")
        return self._options(f"{name}@optionMarkPrice")

    def options_index_price_socket(self) -> StreamHandle[list[OptionIndexPrice] | N_co]:
        """Index prices of every options underlying, ``!index@arr`` (``/market``), every second.

        Payload: a list of ``{"e": "indexPrice", "E", "s", "p"}`` objects.
        """
        return self._options("!index@arr")

    def options_multiplex_socket(self, streams: Iterable[str]) -> StreamHandle[Envelope | N_co]:
        """Several options streams on one handle, by their Binance names.

        Payload: ``{"stream": "<name>", "data": <payload>}``.  Each stream is routed
        by its type (trades, tickers, book tickers and depth to ``/public``; klines,
        mark and index prices, open interest and new symbols to ``/market``); a
        name the routing table does not know goes to ``/market``.

        Args:
            streams: Option stream names, e.g. ``["btc-251226-110000-c@optionTicker"]``.

        Raises:
            ValueError: Empty list or a malformed name.
        """
        request = build_request(
            Product.OPTIONS, streams, multiplex=True, fallback=OPTIONS_MULTIPLEX_FALLBACK_ROUTE
        )
        return self._open(request)
