"""``open_binance_streams()`` and the :class:`BinanceSocketManager` it yields."""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, final, overload

import httpx
import trio
from typing_extensions import Never

from ._backoff import WindowBudget
from ._depth_cache import DepthCacheHandle
from ._endpoints import Endpoints, Product
from ._engine import ConnectionStats, Engine, HandleOptions
from ._enums import FuturesType, FuturesTypeLike, coerce_futures_type
from ._exceptions import BinanceStreamError
from ._gap import Gap
from ._handle import Overflow, StreamHandle
from ._logging import show_debug_logs
from ._order_book import (
    BookSync,
    NumberT,
    Snapshot,
    check_conv_type,
    snapshot_weight,
    validate_depth_limit,
)
from ._rest import RestClient, WallClock, fetch_depth_snapshot
from ._settings import Settings
from ._signing import Signer
from ._stream_methods import N_co, StreamMethods
from ._streams import StreamRequest, normalize_symbol, validate_time_unit, with_time_unit
from ._transport import NetworkTransport, Transport
from ._user_data import ListenKeySession, WsApiSession
from .messages import UserEvent

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["BinanceSocketManager", "open_binance_streams"]

logger = logging.getLogger("trio_binance")


@final
class _Http:
    """The manager's REST access: its ``httpx.AsyncClient`` (the user's, or ours,
    made on first use), and per product the weight budget its snapshots share."""

    def __init__(self, given: httpx.AsyncClient | None, transport: Transport, settings: Settings):
        self._client = given
        self._own = given is None
        self._transport = transport
        self._timeout = settings.request_timeout
        self._settings = settings
        self._budgets: dict[Product, WindowBudget] = {}

    def snapshot_budget(self, product: Product) -> WindowBudget:
        budget = self._budgets.get(product)
        if budget is None:
            settings = self._settings
            per_minute = settings.limits_for(product).rest_weight_per_minute
            limit = max(1, int(per_minute * settings.snapshot_weight_share))
            budget = self._budgets[product] = WindowBudget(limit, 60.0)
        return budget

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport.http_transport(), timeout=self._timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._own and self._client is not None:
            await self._client.aclose()


@final
class BinanceSocketManager(StreamMethods[N_co]):
    """Opens stream handles; yielded by :func:`open_binance_streams`.

    Do not construct this class directly.  Every ``*_socket`` method is synchronous
    and does no I/O: it validates its arguments (raising ``ValueError``), registers
    the subscription, and returns a :class:`~trio_binance.StreamHandle`.  Streams of
    one route share connections; the connections, their reconnects and rotations
    run in the manager's nursery.

    For type checkers the manager is generic in what its handles yield besides
    messages: ``BinanceSocketManager`` (that is, ``BinanceSocketManager[Never]``)
    has gap notices off, so ``trade_socket()`` gives a ``StreamHandle[Trade]``;
    ``BinanceSocketManager[Gap]`` (``gap_notices=True``) gives a
    ``StreamHandle[Trade | Gap]``.
    """

    def __init__(
        self,
        engine: Engine,
        options: HandleOptions,
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        rest: RestClient | None = None,
        http: _Http | None = None,
        endpoints: Endpoints | None = None,
        time_unit: str | None = None,
    ) -> None:
        self._engine = engine
        self._handle_options = options
        self._api_key = api_key
        self._signer = signer
        self._rest = rest
        self._http = http
        self._endpoints = engine.endpoints if endpoints is None else endpoints
        self._time_unit = time_unit

    def __repr__(self) -> str:
        streams = len(self._engine.placement) + len(self._engine.user_streams)
        return f"<BinanceSocketManager streams={streams} closed={self._engine.closed}>"

    @property
    def endpoints(self) -> Endpoints:
        """The :class:`~trio_binance.Endpoints` in use (as given: without ``timeUnit``)."""
        return self._endpoints

    @property
    def time_unit(self) -> str | None:
        """``"MICROSECOND"``, ``"MILLISECOND"`` or ``None`` (see :func:`open_binance_streams`)."""
        return self._time_unit

    @property
    def settings(self) -> Settings:
        """The :class:`~trio_binance.Settings` in use."""
        return self._engine.settings

    @overload
    def with_options(
        self,
        *,
        max_queue_size: int | None = None,
        overflow: Overflow | str | None = None,
        gap_notices: None = None,
    ) -> BinanceSocketManager[N_co]: ...
    @overload
    def with_options(
        self,
        *,
        max_queue_size: int | None = None,
        overflow: Overflow | str | None = None,
        gap_notices: Literal[False],
    ) -> BinanceSocketManager[Never]: ...
    @overload
    def with_options(
        self,
        *,
        max_queue_size: int | None = None,
        overflow: Overflow | str | None = None,
        gap_notices: bool | None,
    ) -> BinanceSocketManager[Gap | N_co]: ...
    def with_options(
        self,
        *,
        max_queue_size: int | None = None,
        overflow: Overflow | str | None = None,
        gap_notices: bool | None = None,
    ) -> BinanceSocketManager[Any]:
        """A view of this manager whose handles use other buffer options.

        The view shares connections and lifetime with this manager; only the handles
        it opens differ.  ``bsm.with_options(overflow="drop_oldest", max_queue_size=1)``
        conflates, say, a book ticker to its latest value.

        Args:
            max_queue_size: Buffer size at which the overflow policy applies.
            overflow: ``"block"``, ``"drop_oldest"`` (alias ``"keep_latest"``) or ``"raise"``.
            gap_notices: Yield :class:`~trio_binance.Gap` items in-band.  (For type
                checkers: ``True``, or a ``bool`` not known in advance, gives a
                ``BinanceSocketManager[Gap]``; ``False`` one without.)

        Raises:
            ValueError: An option is out of range.
        """
        current = self._handle_options
        options = HandleOptions(
            max_queue_size=current.max_queue_size if max_queue_size is None else max_queue_size,
            overflow=current.overflow if overflow is None else Overflow.coerce(overflow),
            gap_notices=current.gap_notices if gap_notices is None else gap_notices,
        )
        return BinanceSocketManager(
            self._engine,
            options,
            api_key=self._api_key,
            signer=self._signer,
            rest=self._rest,
            http=self._http,
            endpoints=self._endpoints,
            time_unit=self._time_unit,
        )

    # -- local order books -------------------------------------------------------

    def depth_cache(
        self,
        symbol: str,
        limit: int = 500,
        ws_interval: int | None = None,
        *,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        refresh_interval: float | None = None,
        max_queue_size: int = 1000,
    ) -> DepthCacheHandle[NumberT]:
        """A local spot order book of ``symbol``, kept in sync (``DepthCacheManager``).

        The book follows Binance's recipe: the ``<symbol>@depth`` diff stream is
        subscribed and buffered, a REST snapshot of ``limit`` levels is requested at
        once and joined to it, and every update is checked against the last one.  A
        missed update (a reconnect that lost events) rebuilds the book from a new
        snapshot before it is shown again; a slow reader slows the stream down
        instead (the ``block`` policy), so it never causes a resync.  See
        :class:`~trio_binance.DepthCacheHandle` for what the handle yields.

        Example::

            async with bsm.depth_cache("BTCUSDT", limit=1000) as book:
                async for cache in book:
                    print(cache.best_bid(), cache.best_ask(), cache.bids(10))

        Args:
            symbol: Spot symbol, e.g. ``"BTCUSDT"``.
            limit: Snapshot levels per side, 1 to 5000.  Levels deeper than the
                snapshot appear only once they change.
            ws_interval: Diff stream speed: ``None`` or 0 (1000 ms), or 100 (ms).
            conv_type: Converts price and quantity strings to numbers (``float``, or
                ``decimal.Decimal`` for exact values).
            refresh_interval: Rebuild from a new snapshot every this many seconds
                (``None`` or 0: only when needed, as python-binance).
            max_queue_size: Diff events buffered for a slow reader before the stream
                applies backpressure (the ``block`` policy: nothing is dropped; past
                ``Settings.max_backlog`` the book raises ``QueueOverflow``).

        Raises:
            ValueError: A bad symbol, limit, interval or option (before any I/O).
        """
        self._check_book_options(Product.SPOT, limit, conv_type, refresh_interval, max_queue_size)
        stream = self._book_streams(max_queue_size).depth_socket(symbol, interval=ws_interval)
        return self._depth_cache(Product.SPOT, stream, symbol, limit, conv_type, refresh_interval)

    def futures_depth_cache(
        self,
        symbol: str,
        limit: int = 1000,
        speed: str | int | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        *,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        refresh_interval: float | None = None,
        max_queue_size: int = 1000,
    ) -> DepthCacheHandle[NumberT]:
        """A local USD-M or COIN-M order book, kept in sync (``FuturesDepthCacheManager``).

        Unlike python-binance's, a real diff-synced book: ``<symbol>@depth`` joined to
        a REST snapshot, each event's ``pu`` checked against the last ``u``.  See
        :meth:`depth_cache` for the behaviour.

        Args:
            symbol: Contract symbol, e.g. ``"BTCUSDT"`` or ``"BTCUSD_PERP"``.
            limit: Snapshot levels per side: 5, 10, 20, 50, 100, 500 or 1000.
            speed: Diff stream speed: ``None`` (250 ms), ``"500ms"`` or ``"100ms"``.
            futures_type: USD-M or COIN-M.
            conv_type: See :meth:`depth_cache`.
            refresh_interval: See :meth:`depth_cache`.
            max_queue_size: See :meth:`depth_cache`.

        Raises:
            ValueError: A bad symbol, limit, speed, futures type or option.
        """
        product = coerce_futures_type(futures_type).product
        self._check_book_options(product, limit, conv_type, refresh_interval, max_queue_size)
        stream = self._book_streams(max_queue_size).futures_diff_depth_socket(
            symbol, speed=speed, futures_type=futures_type
        )
        return self._depth_cache(product, stream, symbol, limit, conv_type, refresh_interval)

    def options_depth_cache(
        self,
        symbol: str,
        limit: int = 1000,
        speed: str | int = "500ms",
        *,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        refresh_interval: float | None = None,
        max_queue_size: int = 1000,
    ) -> DepthCacheHandle[NumberT]:
        """A local options order book, kept in sync (``OptionsDepthCacheManager``).

        A diff-synced book (python-binance merges top-10 snapshots and keeps stale
        levels).  See :meth:`depth_cache` for the behaviour.

        Args:
            symbol: Option symbol, e.g. ``"BTC-260327-100000-C"``.
            limit: Snapshot levels per side: 10, 20, 50, 100, 500 or 1000.
            speed: ``"500ms"`` or ``"100ms"``.
            conv_type: See :meth:`depth_cache`.
            refresh_interval: See :meth:`depth_cache`.
            max_queue_size: See :meth:`depth_cache`.

        Raises:
            ValueError: A bad symbol, limit, speed or option.
        """
        product = Product.OPTIONS
        self._check_book_options(product, limit, conv_type, refresh_interval, max_queue_size)
        stream = self._book_streams(max_queue_size).options_diff_depth_socket(symbol, speed=speed)
        return self._depth_cache(product, stream, symbol, limit, conv_type, refresh_interval)

    @staticmethod
    def _check_book_options(
        product: Product,
        limit: int,
        conv_type: Callable[[str], object],
        refresh_interval: float | None,
        max_queue_size: int,
    ) -> None:
        validate_depth_limit(product, limit)
        check_conv_type(conv_type)
        if refresh_interval is not None and not (
            isinstance(refresh_interval, (int, float))
            and not isinstance(refresh_interval, bool)
            and refresh_interval >= 0
        ):
            raise ValueError(
                f"refresh_interval must be None, 0 (both: disabled) or a positive number "
                f"of seconds, got {refresh_interval!r}"
            )
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int):
            raise ValueError(f"max_queue_size must be an int of at least 1, got {max_queue_size!r}")
        if max_queue_size < 1:
            raise ValueError(f"max_queue_size must be at least 1, got {max_queue_size!r}")

    def _book_streams(self, max_queue_size: int) -> BinanceSocketManager[Never]:
        # Backpressure like every handle: a book never drops an event, so it resyncs
        # only on a real gap in the ids.
        return self.with_options(
            max_queue_size=max_queue_size, overflow=Overflow.BLOCK, gap_notices=False
        )

    def _depth_cache(
        self,
        product: Product,
        stream: StreamHandle[Any],
        symbol: str,
        limit: int,
        conv_type: Callable[[str], NumberT],
        refresh_interval: float | None,
    ) -> DepthCacheHandle[NumberT]:
        name = normalize_symbol(symbol).upper()
        endpoints = self._engine.endpoints
        http = self._http
        assert http is not None

        engine = self._engine

        async def fetch() -> Snapshot:
            return await fetch_depth_snapshot(http.get(), endpoints, product, name, limit)

        return DepthCacheHandle(
            stream=stream,
            sync=BookSync(name, spot=product is Product.SPOT, conv_type=conv_type),
            fetch=fetch,
            budget=http.snapshot_budget(product),
            weight=snapshot_weight(product, limit),
            backoff=self._engine.settings.backoff(self._engine.rng),
            refresh_interval=refresh_interval,
            description=f"{product.value} {name} order book",
            closing=lambda: engine.closed,
        )

    # -- user data ---------------------------------------------------------------

    def _user_rest(self, method: str) -> RestClient:
        if self._rest is None:
            raise ValueError(
                f"{method}() needs api_key (and, for spot and margin, api_secret) "
                "passed to open_binance_streams()"
            )
        return self._rest

    def _listen_key_socket(
        self, method: str, kind: str, product: Product, base: str
    ) -> StreamHandle[Any]:
        rest = self._user_rest(method)
        retries = self._engine.settings.credential_retries
        return self._engine.open_user(
            (kind,),
            product=product,
            label=kind,
            session=lambda: ListenKeySession(kind, base, rest, retries),
            options=self._handle_options,
        )

    def _ws_api_socket(
        self, method: str, key: tuple[str, ...], *, margin: bool, symbol: str | None = None
    ) -> StreamHandle[Any]:
        rest = self._user_rest(method)
        if not margin and self._signer is None:
            raise ValueError(f"{method}() needs api_secret passed to open_binance_streams()")
        engine = self._engine
        api_key = self._api_key or ""
        label = "spot" if not margin else ("margin" if symbol is None else f"isolated:{symbol}")
        return engine.open_user(
            key,
            product=Product.SPOT,
            label=label,
            session=lambda: WsApiSession(
                engine.endpoints.spot_ws_api,
                rest,
                api_key=api_key,
                signer=self._signer,
                retries=engine.settings.credential_retries,
                margin=margin,
                margin_symbol=symbol,
            ),
            options=self._handle_options,
        )

    def user_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Spot user data (account, balance and order events) over the WebSocket API.

        Subscribed with ``userDataStream.subscribe.signature`` (HMAC, Ed25519 or RSA
        key, detected from ``api_secret``) and subscribed again after every reconnect;
        yields the bare event dicts (:data:`~trio_binance.messages.UserEvent`: check
        ``event["e"]``, then ``cast()`` to its class, e.g.
        :class:`~trio_binance.messages.ExecutionReport`).

        Raises:
            ValueError: ``api_key``/``api_secret`` were not given to the manager.
        """
        return self._ws_api_socket("user_socket", ("spot",), margin=False)

    def margin_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Cross-margin user data, through a listen token renewed before it expires."""
        return self._ws_api_socket("margin_socket", ("margin",), margin=True)

    def isolated_margin_socket(self, symbol: str) -> StreamHandle[UserEvent | N_co]:
        """Isolated-margin user data of ``symbol``, through a renewed listen token."""
        pair = normalize_symbol(symbol).upper()
        return self._ws_api_socket(
            "isolated_margin_socket", ("isolated", pair), margin=True, symbol=pair
        )

    def futures_user_socket(self) -> StreamHandle[UserEvent | N_co]:
        """USD-M futures user data on the ``/private`` route, via a kept-alive listen key."""
        base = self._engine.endpoints.usdm_stream + "/private"
        return self._listen_key_socket("futures_user_socket", "usdm", Product.USDM, base)

    def futures_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Alias of :meth:`futures_user_socket` (python-binance name)."""
        return self.futures_user_socket()

    def coin_futures_user_socket(self) -> StreamHandle[UserEvent | N_co]:
        """COIN-M futures user data on dstream, via a kept-alive listen key."""
        base = self._engine.endpoints.coinm_stream
        return self._listen_key_socket("coin_futures_user_socket", "coinm", Product.COINM, base)

    def coin_futures_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Alias of :meth:`coin_futures_user_socket` (python-binance name)."""
        return self.coin_futures_user_socket()

    def portfolio_margin_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Portfolio-margin user data (``/pm``), via a kept-alive listen key."""
        base = self._engine.endpoints.pm_stream
        return self._listen_key_socket("portfolio_margin_socket", "pm", Product.USDM, base)

    def options_user_socket(self) -> StreamHandle[UserEvent | N_co]:
        """Options user data on the ``/private`` route, via a kept-alive listen key."""
        base = self._engine.endpoints.options_stream + "/private"
        return self._listen_key_socket("options_user_socket", "options", Product.OPTIONS, base)

    def connection_stats(self) -> list[ConnectionStats]:
        """A snapshot of every open connection's counters."""
        return self._engine.connection_stats()

    def _open(self, request: StreamRequest) -> StreamHandle[Any]:
        return self._engine.open(request, self._handle_options)


def _transport_for(transport: Transport | None, https_proxy: str | None) -> Transport:
    """The transport to use, from the ``transport`` and ``https_proxy`` arguments."""
    if transport is None:
        return NetworkTransport(proxy=https_proxy)
    if https_proxy is not None:
        raise ValueError(
            "give either transport or https_proxy, not both "
            "(a proxy goes in NetworkTransport(proxy=...))"
        )
    if not isinstance(transport, Transport):
        raise ValueError("transport must provide open_stream() and http_transport()")
    return transport


@overload
def open_binance_streams(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    tld: str = "com",
    testnet: bool = False,
    demo: bool = False,
    endpoints: Endpoints | None = None,
    transport: Transport | None = None,
    https_proxy: str | None = None,
    max_queue_size: int = 100,
    overflow: Overflow | str = Overflow.BLOCK,
    gap_notices: Literal[False] = False,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    verbose: bool = False,
    rng: random.Random | None = None,
    time_unit: str | None = None,
) -> AbstractAsyncContextManager[BinanceSocketManager[Never]]: ...
@overload
def open_binance_streams(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    tld: str = "com",
    testnet: bool = False,
    demo: bool = False,
    endpoints: Endpoints | None = None,
    transport: Transport | None = None,
    https_proxy: str | None = None,
    max_queue_size: int = 100,
    overflow: Overflow | str = Overflow.BLOCK,
    gap_notices: bool,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    verbose: bool = False,
    rng: random.Random | None = None,
    time_unit: str | None = None,
) -> AbstractAsyncContextManager[BinanceSocketManager[Gap]]: ...
@asynccontextmanager
async def open_binance_streams(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    tld: str = "com",
    testnet: bool = False,
    demo: bool = False,
    endpoints: Endpoints | None = None,
    transport: Transport | None = None,
    https_proxy: str | None = None,
    max_queue_size: int = 100,
    overflow: Overflow | str = Overflow.BLOCK,
    gap_notices: bool = False,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    verbose: bool = False,
    rng: random.Random | None = None,
    time_unit: str | None = None,
) -> AsyncIterator[BinanceSocketManager[Any]]:
    """Open a stream manager that owns a nursery; everything closes when the block exits.

    Example::

        async with open_binance_streams() as bsm:
            async with bsm.trade_socket("BTCUSDT") as trades:
                async for msg in trades:
                    print(msg["p"], msg["q"])

    Args:
        api_key: Binance API key, for user-data streams.
        api_secret: API secret (HMAC) or PEM private key (Ed25519/RSA), for user data.
        tld: Top-level domain of the production endpoints (``"com"``, ``"us"``...).
        testnet: Use Binance's testnet endpoints.
        demo: Use Binance's demo-mode endpoints.
        endpoints: Explicit :class:`Endpoints` (overrides ``tld``/``testnet``/``demo``),
            e.g. ``fake.endpoints`` of the fake exchange.
        transport: How connections reach the exchange: the network by default,
            ``fake.transport`` in tests.
        https_proxy: An HTTP proxy, ``http://[user:password@]host[:port]``, for every
            connection and REST call (the name python-binance uses); shorthand for
            ``transport=NetworkTransport(proxy=...)``.
        max_queue_size: Default handle buffer size before the overflow policy applies.
        overflow: Default :class:`Overflow` policy of handles.
        gap_notices: Default for in-band :class:`Gap` notices.
        settings: Timeouts, margins and limits (:class:`Settings`).
        http_client: An ``httpx.AsyncClient`` for REST calls (proxies, custom TLS).
        verbose: Show the library's DEBUG log while the block runs: the
            ``trio_binance`` logger is set to DEBUG (and back on exit), and only if
            the application configured no logging at all, a stderr handler is
            attached to it for that time.  Without ``verbose``, configure
            ``logging`` as for any library (see the logging page of the docs).
        rng: Random source for jitter (tests pass a seeded one).
        time_unit: ``"MICROSECOND"`` for microsecond timestamps (``E``, ``T``...) in
            spot market streams and spot and margin user data, or ``"MILLISECOND"``
            (Binance's default; lower case is accepted too).  Sent as ``timeUnit=``
            on the spot stream and WebSocket API URLs, the only ones where Binance
            documents it: futures and options timestamps stay in milliseconds.

    Raises:
        ValueError: An argument is invalid (raised before any I/O).
        BinanceStreamError: A background task failed unexpectedly (cause chained).

    Resource handling:
        Leaving the block, normally, by an exception or by cancellation, cancels every
        background task (readers, reconnects, renewals) and closes every socket with a
        bounded, shielded close.  An exception raised in the block comes out as
        itself, not wrapped in an exception group.
    """
    options = HandleOptions(
        max_queue_size=max_queue_size, overflow=Overflow.coerce(overflow), gap_notices=gap_notices
    )
    if endpoints is None:
        endpoints = Endpoints.select(tld=tld, testnet=testnet, demo=demo)
    elif not isinstance(endpoints, Endpoints):
        raise ValueError(f"endpoints must be an Endpoints instance, got {type(endpoints).__name__}")
    transport = _transport_for(transport, https_proxy)
    time_unit = validate_time_unit(time_unit)
    settings = settings or Settings()
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        raise ValueError("api_key must be a non-empty string")
    signer = Signer.from_secret(api_secret) if api_secret is not None else None

    user_error: BaseException | None = None
    group: BaseExceptionGroup[BaseException] | None = None
    # REST serves user data and order-book snapshots: our HTTP client (and its TLS
    # context) is made only when one of them needs it.
    http = _Http(http_client, transport, settings)
    rest_client = None
    if api_key is not None:
        rest_client = RestClient(
            http.get(), endpoints, api_key=api_key, signer=signer, clock=WallClock()
        )
    quiet_again = show_debug_logs() if verbose else None
    try:
        async with trio.open_nursery() as nursery:
            engine = Engine(
                nursery,
                endpoints=with_time_unit(endpoints, time_unit),
                transport=transport,
                settings=settings,
                rng=rng,
            )
            manager = BinanceSocketManager(
                engine,
                options,
                api_key=api_key,
                signer=signer,
                rest=rest_client,
                http=http,
                endpoints=endpoints,
                time_unit=time_unit,
            )
            try:
                yield manager
            except BaseException as exc:
                user_error = exc
                raise
            finally:
                engine.close()
                nursery.cancel_scope.cancel(reason="open_binance_streams() block exited")
                with trio.CancelScope(shield=True), trio.move_on_after(settings.close_timeout):
                    await http.aclose()
    except BaseExceptionGroup as exc_group:
        group = exc_group
    finally:
        if quiet_again is not None:
            quiet_again()
    if group is None:
        return
    if user_error is not None:
        # Trio may rebuild a group the user raised (from a nursery of their own), so
        # match its leaf exceptions by identity rather than the group object.
        leaves = {id(leaf) for leaf in _leaves(user_error)}
        matched, rest = group.split(lambda e: e is user_error or id(e) in leaves)
        if matched is not None and (rest is None or _only_cancelled(rest)):
            raise user_error
    _, rest = group.split(trio.Cancelled)
    if rest is None:
        raise group
    raise BinanceStreamError(
        "a trio_binance background task failed unexpectedly; please report this"
    ) from group


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _only_cancelled(group: BaseExceptionGroup[BaseException]) -> bool:
    _, rest = group.split(trio.Cancelled)
    return rest is None
