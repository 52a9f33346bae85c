"""``open_binance_streams()`` and the :class:`BinanceSocketManager` it yields."""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import final

import httpx
import trio

from ._endpoints import Endpoints, Product
from ._engine import ConnectionStats, Engine, HandleOptions
from ._exceptions import BinanceStreamError
from ._handle import Overflow, StreamHandle
from ._rest import RestClient, WallClock
from ._settings import Settings
from ._signing import Signer
from ._stream_methods import StreamMethods
from ._streams import StreamRequest, normalize_symbol
from ._transport import NetworkTransport, Transport
from ._user_data import ListenKeyStream, WsApiUserStream

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["BinanceSocketManager", "open_binance_streams"]

logger = logging.getLogger("trio_binance")


@final
class BinanceSocketManager(StreamMethods):
    """Opens stream handles; yielded by :func:`open_binance_streams`.

    Do not construct this class directly.  Every ``*_socket`` method is synchronous
    and does no I/O: it validates its arguments (raising ``ValueError``), registers
    the subscription, and returns a :class:`~trio_binance.StreamHandle`.  Streams of
    one route share connections; the connections, their reconnects and rotations
    run in the manager's nursery.
    """

    def __init__(
        self,
        engine: Engine,
        options: HandleOptions,
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        rest: RestClient | None = None,
    ) -> None:
        self._engine = engine
        self._handle_options = options
        self._api_key = api_key
        self._signer = signer
        self._rest = rest

    def __repr__(self) -> str:
        streams = len(self._engine.subs)
        return f"<BinanceSocketManager streams={streams} closed={self._engine.closed}>"

    @property
    def endpoints(self) -> Endpoints:
        """The :class:`~trio_binance.Endpoints` in use."""
        return self._engine.endpoints

    @property
    def settings(self) -> Settings:
        """The :class:`~trio_binance.Settings` in use."""
        return self._engine.settings

    def with_options(
        self,
        *,
        max_queue_size: int | None = None,
        overflow: Overflow | str | None = None,
        gap_notices: bool | None = None,
    ) -> BinanceSocketManager:
        """A view of this manager whose handles use other buffer options.

        The view shares connections and lifetime with this manager; only the handles
        it opens differ.  ``bsm.with_options(overflow="drop_oldest", max_queue_size=1)``
        conflates, say, a book ticker to its latest value.

        Args:
            max_queue_size: Buffer size at which the overflow policy applies.
            overflow: ``"block"``, ``"drop_oldest"`` (alias ``"keep_latest"``) or ``"raise"``.
            gap_notices: Yield :class:`~trio_binance.Gap` items in-band.

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
            self._engine, options, api_key=self._api_key, signer=self._signer, rest=self._rest
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
    ) -> StreamHandle:
        rest = self._user_rest(method)
        engine = self._engine
        return engine.open_user(
            (kind,),
            lambda: ListenKeyStream(engine, product, kind, base, rest),
            self._handle_options,
        )

    def _ws_api_socket(
        self, method: str, key: tuple[str, ...], *, margin: bool, symbol: str | None = None
    ) -> StreamHandle:
        rest = self._user_rest(method)
        if not margin and self._signer is None:
            raise ValueError(f"{method}() needs api_secret passed to open_binance_streams()")
        engine = self._engine
        api_key = self._api_key or ""
        return engine.open_user(
            key,
            lambda: WsApiUserStream(
                engine,
                engine.endpoints.spot_ws_api,
                rest,
                api_key=api_key,
                signer=self._signer,
                margin=margin,
                margin_symbol=symbol,
            ),
            self._handle_options,
        )

    def user_socket(self) -> StreamHandle:
        """Spot user data (account, balance and order events) over the WebSocket API.

        Subscribed with ``userDataStream.subscribe.signature`` (HMAC, Ed25519 or RSA
        key, detected from ``api_secret``) and subscribed again after every reconnect;
        yields the bare event dicts.

        Raises:
            ValueError: ``api_key``/``api_secret`` were not given to the manager.
        """
        return self._ws_api_socket("user_socket", ("spot",), margin=False)

    def margin_socket(self) -> StreamHandle:
        """Cross-margin user data, through a listen token renewed before it expires."""
        return self._ws_api_socket("margin_socket", ("margin",), margin=True)

    def isolated_margin_socket(self, symbol: str) -> StreamHandle:
        """Isolated-margin user data of ``symbol``, through a renewed listen token."""
        pair = normalize_symbol(symbol).upper()
        return self._ws_api_socket(
            "isolated_margin_socket", ("isolated", pair), margin=True, symbol=pair
        )

    def futures_user_socket(self) -> StreamHandle:
        """USD-M futures user data on the ``/private`` route, via a kept-alive listen key."""
        base = self._engine.endpoints.usdm_stream + "/private"
        return self._listen_key_socket("futures_user_socket", "usdm", Product.USDM, base)

    def futures_socket(self) -> StreamHandle:
        """Alias of :meth:`futures_user_socket` (python-binance name)."""
        return self.futures_user_socket()

    def coin_futures_user_socket(self) -> StreamHandle:
        """COIN-M futures user data on dstream, via a kept-alive listen key."""
        base = self._engine.endpoints.coinm_stream
        return self._listen_key_socket("coin_futures_user_socket", "coinm", Product.COINM, base)

    def coin_futures_socket(self) -> StreamHandle:
        """Alias of :meth:`coin_futures_user_socket` (python-binance name)."""
        return self.coin_futures_user_socket()

    def portfolio_margin_socket(self) -> StreamHandle:
        """Portfolio-margin user data (``/pm``), via a kept-alive listen key."""
        base = self._engine.endpoints.pm_stream
        return self._listen_key_socket("portfolio_margin_socket", "pm", Product.USDM, base)

    def options_user_socket(self) -> StreamHandle:
        """Options user data on the ``/private`` route, via a kept-alive listen key."""
        base = self._engine.endpoints.options_stream + "/private"
        return self._listen_key_socket("options_user_socket", "options", Product.OPTIONS, base)

    def connection_stats(self) -> list[ConnectionStats]:
        """A snapshot of every open connection's counters."""
        return self._engine.connection_stats()

    def _open(self, request: StreamRequest) -> StreamHandle:
        return self._engine.open(request, self._handle_options)


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
    max_queue_size: int = 100,
    overflow: Overflow | str = Overflow.BLOCK,
    gap_notices: bool = False,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    verbose: bool = False,
    rng: random.Random | None = None,
) -> AsyncIterator[BinanceSocketManager]:
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
        max_queue_size: Default handle buffer size before the overflow policy applies.
        overflow: Default :class:`Overflow` policy of handles.
        gap_notices: Default for in-band :class:`Gap` notices.
        settings: Timeouts, margins and limits (:class:`Settings`).
        http_client: An ``httpx.AsyncClient`` for REST calls (proxies, custom TLS).
        verbose: Set the ``trio_binance`` logger to DEBUG.
        rng: Random source for jitter (tests pass a seeded one).

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
    if transport is None:
        transport = NetworkTransport()
    elif not isinstance(transport, Transport):
        raise ValueError("transport must provide open_stream() and http_transport()")
    settings = settings or Settings()
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        raise ValueError("api_key must be a non-empty string")
    signer = Signer.from_secret(api_secret) if api_secret is not None else None
    if verbose:
        logging.getLogger("trio_binance").setLevel(logging.DEBUG)

    user_error: BaseException | None = None
    group: BaseExceptionGroup[BaseException] | None = None
    # REST is only needed for user data: no HTTP client (and no TLS context) otherwise.
    own_http = http_client is None and api_key is not None
    if own_http:
        http_client = httpx.AsyncClient(
            transport=transport.http_transport(), timeout=settings.request_timeout
        )
    rest_client = None
    if api_key is not None and http_client is not None:
        rest_client = RestClient(
            http_client, endpoints, api_key=api_key, signer=signer, clock=WallClock()
        )
    try:
        async with trio.open_nursery() as nursery:
            engine = Engine(
                nursery, endpoints=endpoints, transport=transport, settings=settings, rng=rng
            )
            manager = BinanceSocketManager(
                engine, options, api_key=api_key, signer=signer, rest=rest_client
            )
            try:
                yield manager
            except BaseException as exc:
                user_error = exc
                raise
            finally:
                engine.close()
                nursery.cancel_scope.cancel(reason="open_binance_streams() block exited")
                if own_http and http_client is not None:
                    with trio.CancelScope(shield=True), trio.move_on_after(settings.close_timeout):
                        await http_client.aclose()
    except BaseExceptionGroup as exc_group:
        group = exc_group
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
