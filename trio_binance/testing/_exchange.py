"""The fake exchange: :func:`open_fake_binance` and :class:`FakeBinance`.

Resource handling:
    :func:`open_fake_binance` owns a nursery.  Every task of the fake (connection
    handlers, pingers, the synthetic markets, the optional TCP listener) runs in
    it, and all of them have ended when the ``async with`` block is left.  Open
    connections are then closed with 1001 ("server shutting down"), each bounded
    by ``FakeSettings.close_timeout``.

Every connection, in memory or over TCP, is sniffed: a WebSocket upgrade goes
to the stream server (trio-websocket's server side), anything else to the REST
router over HTTP/1.1.  So one ``host:port`` serves both, like the endpoints say.

User data (accounts, listen keys, listen tokens, the spot WebSocket API) is
served by :class:`~trio_binance.testing._user_data.UserDataServer`; its public
methods are :class:`FakeBinance`'s ``add_account``, ``push_user_event`` and
friends.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import ipaddress
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any, final

import httpx
import orjson
import trio
from trio_websocket import ConnectionClosed, wrap_server_stream

from .._endpoints import Endpoints, Product
from ._accounts import FakeAccount
from ._connection import FakeConnection, Registry, event_envelope
from ._market import FakeMarket
from ._pipes import ServerSideStream, pipe_pair
from ._rest import RestRequest, RestResponse, RestRouter, RestTransport, binance_error, serve_http
from ._routing import (
    PathError,
    StreamPath,
    UserPath,
    parse_path,
    parse_user_path,
    redact,
    wants_microseconds,
)
from ._settings import FakeSettings
from ._user_data import UserDataServer, UserSubscription

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["FakeBinance", "FakeTransport", "HandshakeRecord", "open_fake_binance"]

logger = logging.getLogger(__name__)

#: Port written into the endpoints of an in-memory fake: nothing listens there,
#: so a client that bypasses the fake's transport fails fast instead of
#: reaching some real service.
PLACEHOLDER_PORT = 1
_MAX_HEAD = 64 * 1024

_DEPTH_PATHS = {
    "/api/v3/depth": Product.SPOT,
    "/fapi/v1/depth": Product.USDM,
    "/dapi/v1/depth": Product.COINM,
    "/eapi/v1/depth": Product.OPTIONS,
}
_API_PREFIXES = ("/api/v3", "/fapi/v1", "/dapi/v1", "/eapi/v1")
# Allowed ``limit`` values of the depth endpoints (spot: any up to 5000) and defaults.
_DEPTH_LIMITS: dict[Product, tuple[frozenset[int] | None, int]] = {
    Product.SPOT: (None, 100),
    Product.USDM: (frozenset({5, 10, 20, 50, 100, 500, 1000}), 500),
    Product.COINM: (frozenset({5, 10, 20, 50, 100, 500, 1000}), 500),
    Product.OPTIONS: (frozenset({10, 20, 50, 100, 500, 1000}), 100),
}


@final
@dataclasses.dataclass(frozen=True)
class HandshakeRecord:
    """One WebSocket handshake the fake answered.

    Its ``repr()`` redacts listen keys in ``path``.

    Attributes:
        time: ``trio.current_time()`` of the attempt.
        path: The requested path, query included (a listen key in it included).
        product: The product of the path, None if the path names none.
        route: The route of the path, None if the path was not understood.
        status: 101 if accepted, else the HTTP status of the rejection.
        reason: Why it was rejected (``""`` when accepted).
    """

    time: float
    path: str
    product: Product | None
    route: str | None
    status: int
    reason: str

    def __repr__(self) -> str:
        return (
            f"HandshakeRecord(time={self.time!r}, path={redact(self.path)!r},"
            f" product={self.product!r}, route={self.route!r}, status={self.status!r},"
            f" reason={redact(self.reason)!r})"
        )


@dataclasses.dataclass
class _ScriptedReject:
    status: int
    remaining: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    product: Product | None


@final
class FakeTransport:
    """The fake's in-memory :class:`~trio_binance._transport.Transport`.

    ``open_stream`` ignores host and port and returns one end of a fresh
    in-memory pipe whose other end the fake serves; ``http_transport`` answers
    REST calls from the fake's router.
    """

    def __init__(self, fake: FakeBinance) -> None:
        self._fake = fake

    def __repr__(self) -> str:
        return "FakeTransport()"

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        """Open an in-memory byte stream to the fake exchange.

        Raises:
            ValueError: If ``tls`` is true: the fake speaks plain ``ws``/``http``.
            OSError: ``ECONNREFUSED`` once the fake has closed.
        """
        await trio.lowlevel.checkpoint()
        if tls:
            raise ValueError("the fake exchange does not speak TLS; use its ws:// endpoints")
        return self._fake._connect()

    def http_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport serving the fake's REST API in memory."""
        return self._fake._http_transport


@final
class FakeBinance:
    """A scriptable fake Binance exchange; made by :func:`open_fake_binance`.

    Attributes:
        endpoints: Base URLs of the fake, to pass to ``open_binance_streams``.
        transport: The in-memory transport, to pass along with ``endpoints``.
        settings: The settings it runs with.
        connections: Every accepted stream connection, open or closed, in order.
        handshakes: Every WebSocket handshake, accepted or rejected, in order.
        rest: The REST router; add handlers with ``fake.rest.add(method, path, fn)``.

    User data: :meth:`add_account` opens an account; clients then get listen keys
    over REST and connect to ``/usdm/private/ws/<key>``, ``/coinm/ws/<key>``,
    ``/pm/ws/<key>`` or ``/options/private/ws/<key>``, or subscribe on the
    WebSocket API at ``/ws-api/v3``; :meth:`push_user_event` sends them events.
    """

    def __init__(self, nursery: trio.Nursery, settings: FakeSettings, host: str, port: int) -> None:
        self._nursery = nursery
        self.settings = settings
        if settings.epoch_ms is None:
            self._epoch_ms = round(time.time() * 1000 - trio.current_time() * 1000)
        else:
            self._epoch_ms = settings.epoch_ms
        hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        ws, http = f"ws://{hostport}", f"http://{hostport}"
        self.endpoints = Endpoints(
            spot_stream=f"{ws}/spot",
            spot_ws_api=f"{ws}/ws-api/v3",
            spot_rest=http,
            usdm_stream=f"{ws}/usdm",
            usdm_rest=http,
            coinm_stream=f"{ws}/coinm",
            coinm_rest=http,
            options_stream=f"{ws}/options",
            options_rest=http,
            pm_stream=f"{ws}/pm",
            pm_rest=http,
        )
        self.transport = FakeTransport(self)
        self.connections: list[FakeConnection] = []
        self.handshakes: list[HandshakeRecord] = []
        self.rest = RestRouter()
        self._registry = Registry()
        self.rest.on_request = self._registry.changed
        self._http_transport = RestTransport(self.rest)
        self._markets: dict[Product, FakeMarket] = {}
        self._rejects: list[_ScriptedReject] = []
        self._hangs: list[list[Any]] = []  # [remaining, product]
        self._attempts: collections.deque[float] = collections.deque()
        self._closed = False
        self._add_rest_routes()
        self._user = UserDataServer(
            settings=settings, now_ms=self.now_ms, registry=self._registry, router=self.rest
        )
        nursery.start_soon(self._user.run)

    def __repr__(self) -> str:
        return f"<FakeBinance {self.endpoints.spot_rest} {len(self._registry.open)} open>"

    # ------------------------------------------------------------------ time

    def now_ms(self) -> int:
        """The fake's wall-clock time in ms: ``epoch_ms + trio.current_time() * 1000``."""
        return self._epoch_ms + int(trio.current_time() * 1000)

    # ------------------------------------------------------------ inspection

    @property
    def markets(self) -> Mapping[Product, FakeMarket]:
        """The synthetic markets started so far, by product."""
        return MappingProxyType(self._markets)

    @property
    def rest_requests(self) -> list[RestRequest]:
        """Every REST request received, in order."""
        return self.rest.requests

    def open_connections(
        self, product: Product | None = None, route: str | None = None
    ) -> list[FakeConnection]:
        """Open connections, optionally only of one product and/or route."""
        return [
            c
            for c in self._registry.open
            if (product is None or c.product is product) and (route is None or c.route == route)
        ]

    def subscribers(self, stream: str, *, product: Product | None = None) -> list[FakeConnection]:
        """Open connections that receive ``stream`` (misrouted subscriptions excluded)."""
        return [
            c for c in self._registry.subscribers(stream) if product is None or c.product is product
        ]

    def has_subscribers(self, stream: str, product: Product) -> bool:
        """Whether any open connection of ``product`` receives ``stream``."""
        return self._registry.has_subscribers(stream, product)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` is true, rechecking after every change the fake sees.

        Changes are handshakes, connections opening or closing, client messages
        and REST requests.
        """
        await self._registry.wait_until(predicate)

    async def wait_for_subscribers(
        self, stream: str, n: int = 1, *, product: Product | None = None
    ) -> list[FakeConnection]:
        """Wait until at least ``n`` open connections receive ``stream``; return them."""
        await self.wait_until(lambda: len(self.subscribers(stream, product=product)) >= n)
        return self.subscribers(stream, product=product)

    async def wait_for_connections(
        self, n: int, product: Product | None = None
    ) -> list[FakeConnection]:
        """Wait until at least ``n`` connections (of ``product``) are open; return them."""
        await self.wait_until(lambda: len(self.open_connections(product)) >= n)
        return self.open_connections(product)

    # ------------------------------------------------------------- scripting

    def publish(self, stream: str, payload: object, *, product: Product | None = None) -> int:
        """Send ``payload`` to every open connection that receives ``stream``.

        Combined connections get ``{"stream": stream, "data": payload}``, raw
        ones the bare payload.  Misrouted subscriptions get nothing.

        Args:
            stream: The stream name, e.g. ``"btcusdt@trade"``.
            payload: Any JSON-serialisable value (serialised with orjson).
            product: Only connections of this product; None for all.

        Returns:
            How many connections it was queued for.
        """
        if not self._registry.has_subscribers(stream, product):
            return 0
        return self.publish_encoded(stream, orjson.dumps(payload).decode(), product)

    def publish_encoded(self, stream: str, data: str, product: Product | None = None) -> int:
        """:meth:`publish` for a payload that is already JSON text."""
        delivered = 0
        envelope: str | None = None
        for conn in self._registry.subscribers(stream):
            if product is not None and conn.product is not product:
                continue
            if conn.combined and envelope is None:
                envelope = event_envelope(stream, data)
            if conn._deliver(stream, data, envelope):
                delivered += 1
        return delivered

    def reject_handshakes(
        self,
        status: int,
        count: int = 1,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        product: Product | None = None,
    ) -> None:
        """Reject the next ``count`` WebSocket handshakes (of ``product``) with ``status``.

        Args:
            status: HTTP status, e.g. 429, 418, 403 or 503.
            count: How many handshakes to reject.
            headers: Extra response headers, e.g. ``{"Retry-After": "30"}``.
            body: Response body.
            product: Only handshakes for this product; None for any.
        """
        if not 200 <= status <= 599 or status == 101:
            raise ValueError(
                f"a rejection needs an HTTP status 200-599 other than 101, got {status}"
            )
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        data = body.encode() if isinstance(body, str) else body
        self._rejects.append(_ScriptedReject(status, count, encoded, data, product))

    def reject_rest(
        self,
        status: int,
        count: int = 1,
        *,
        path: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` REST requests (to ``path``) with ``status``.

        See :meth:`RestRouter.reject`.
        """
        self.rest.reject(status, count, path=path, body=body, headers=headers)

    def hang_handshakes(self, count: int = 1, *, product: Product | None = None) -> None:
        """Never answer the next ``count`` WebSocket handshakes (of ``product``).

        The connection is accepted and the HTTP request read, then nothing is sent
        while the fake runs, whatever the client does: a server that hangs.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self._hangs.append([count, product])

    def stall_all(self, stalled: bool = True) -> None:
        """Stall (or resume) every open connection; see :meth:`FakeConnection.stall`."""
        for conn in self._registry.open:
            conn.stall(stalled)

    def server_shutdown(self, product: Product | None = None) -> int:
        """Send ``serverShutdown`` on every open connection (of ``product``); return how many.

        Binance documents the event for spot only; the fake sends it wherever asked.
        """
        conns = self.open_connections(product)
        for conn in conns:
            conn.server_shutdown()
        return len(conns)

    def start_market(
        self,
        symbols: Iterable[str],
        product: Product = Product.SPOT,
        *,
        trade_interval: float | None = 1.0,
        depth_interval: float | None = 1.0,
        book_ticker_interval: float | None = 0.25,
        kline_interval: float | None = 2.0,
        ticker_interval: float | None = 1.0,
        start_prices: Mapping[str, float] | None = None,
    ) -> FakeMarket:
        """Start a synthetic market of ``product`` for ``symbols``.

        It publishes, per symbol ``s`` (lowercase in stream names):
        ``s@trade`` (options: ``s@optionTrade``), ``s@aggTrade`` (not options),
        ``s@bookTicker``, the diff-depth streams ``s@depth[@100ms|@500ms]``,
        partial depth ``s@depth<5|10|20>[...]``, ``s@kline_1m``,
        ``s@miniTicker`` (not options) and ``s@ticker`` (options:
        ``s@optionTicker``), with the product's payload shapes.  REST depth
        snapshots (``/api/v3/depth``, ``/fapi/v1/depth``, ``/dapi/v1/depth``,
        ``/eapi/v1/depth``) come from the same books.

        Args:
            symbols: Symbols, any case, e.g. ``["BTCUSDT", "ETHUSDT"]``.
            product: The product; one market per product.
            trade_interval: Seconds between trades of each symbol.
            depth_interval: Seconds between diff-depth (and partial-depth) events.
            book_ticker_interval: Seconds between order-book changes; every change
                of the best bid or ask is a ``bookTicker`` event.
            kline_interval: Seconds between kline updates (1 m candles).
            ticker_interval: Seconds between ticker and mini-ticker updates
                (statistics since the market started, not a rolling 24 h).
            start_prices: Initial mid prices by symbol (default 100.0).

        Any interval may be None to switch that activity off.

        Returns:
            The running market.

        Raises:
            ValueError: If a market of ``product`` is already running, or on bad input.
        """
        if product in self._markets:
            raise ValueError(f"a {product.value} market is already running")
        market = FakeMarket(
            self,
            product=product,
            symbols=symbols,
            seed=self.settings.seed,
            trade_interval=trade_interval,
            depth_interval=depth_interval,
            book_ticker_interval=book_ticker_interval,
            kline_interval=kline_interval,
            ticker_interval=ticker_interval,
            start_prices=start_prices,
        )
        self._markets[product] = market
        self._nursery.start_soon(market._run)
        return market

    # ------------------------------------------------------------- user data

    def add_account(
        self, api_key: str, api_secret: str, *, password: bytes | None = None
    ) -> FakeAccount:
        """Open an account whose requests the fake authenticates.

        Args:
            api_key: The API key clients send (``X-MBX-APIKEY``, ``apiKey``).
            api_secret: Exactly what the client is given: an HMAC secret, or a
                PEM private key (Ed25519 or RSA; the fake derives the public key).
                A PEM public key works too.
            password: Password of an encrypted PEM private key.

        Returns:
            The account.

        Raises:
            ValueError: The key is empty or already taken, or the secret is not
                an HMAC secret or an Ed25519/RSA PEM key.
        """
        return self._user.add_account(api_key, api_secret, password=password)

    def account(self, api_key: str) -> FakeAccount:
        """The account of ``api_key``.

        Raises:
            KeyError: No such account (the message does not repeat the key).
        """
        return self._user.account(api_key)

    def listen_key(self, api_key: str, kind: str) -> str | None:
        """The active listen key of an account, or None.

        Args:
            api_key: The account's API key.
            kind: ``"usdm"``, ``"coinm"``, ``"pm"`` or ``"options"``.

        Raises:
            KeyError: No such account.
            ValueError: Not a listen-key kind.
        """
        return self._user.listen_key(api_key, kind)

    def user_connections(self, api_key: str, kind: str) -> list[FakeConnection]:
        """Open connections on the active listen key of ``kind`` (see :meth:`listen_key`)."""
        return self._user.user_connections(api_key, kind)

    def user_subscriptions(
        self, api_key: str | None = None, kind: str | None = None
    ) -> list[UserSubscription]:
        """Live WebSocket-API user-data subscriptions, in the order they were made.

        Args:
            api_key: Only this account's; None for every account.
            kind: Only ``"spot"``, ``"margin"`` or ``"isolated:<SYMBOL>"``; None for all.
        """
        return self._user.user_subscriptions(api_key, kind)

    def push_user_event(self, api_key: str, kind: str, event: Mapping[str, Any]) -> int:
        """Send a user-data event of an account.

        Listen-key kinds (``"usdm"``, ``"coinm"``, ``"pm"``, ``"options"``): the
        bare event goes to every open connection of the account's active key of
        that kind.  WebSocket-API kinds (``"spot"``, ``"margin"``,
        ``"isolated:<SYMBOL>"``): ``{"subscriptionId": n, "event": event}`` goes
        to every live subscription of that kind, on every connection.

        Args:
            api_key: The account's API key.
            kind: Where the event belongs, as above.
            event: The event object (serialised with orjson), e.g.
                ``{"e": "ORDER_TRADE_UPDATE", "E": fake.now_ms(), ...}``.

        Returns:
            How many connections (listen keys) or subscriptions (WebSocket API)
            it was queued for.

        Raises:
            KeyError: No such account.
            ValueError: Unknown kind.
        """
        return self._user.push_user_event(api_key, kind, event)

    def fail_listen_key_keepalive(
        self,
        api_key: str,
        kind: str,
        code: int = -1125,
        count: int = 1,
        *,
        status: int | None = None,
        msg: str | None = None,
    ) -> None:
        """Make the account's next ``count`` listen-key ``PUT`` requests of ``kind`` fail.

        With ``-1125`` the active key is also invalidated (silently: no
        ``listenKeyExpired``; its connections stay open and receive nothing),
        so the client has to ``POST`` a new one.

        Args:
            api_key: The account's API key.
            kind: ``"usdm"``, ``"coinm"``, ``"pm"`` or ``"options"``.
            code: Binance error code of the answer.
            count: How many ``PUT`` requests fail.
            status: HTTP status; by default 400, or 401 for ``-2014``/``-2015``,
                429 for ``-1003``, 500 for ``-1000``, 503 for ``-1001``/``-1008``.
            msg: Error message; by default Binance's for known codes.
        """
        self._user.fail_listen_key_keepalive(api_key, kind, code, count, status=status, msg=msg)

    def expire_listen_key(self, api_key: str, kind: str) -> bool:
        """Expire the account's active listen key of ``kind`` now.

        Its connections get ``listenKeyExpired`` and stay open, silent; the key
        is forgotten.

        Returns:
            False if the account had no active key of that kind.
        """
        return self._user.expire_listen_key(api_key, kind)

    def terminate_user_streams(self, api_key: str, kind: str) -> int:
        """End the account's WebSocket-API subscriptions of ``kind``.

        Each gets ``{"subscriptionId": n, "event": {"e": "eventStreamTerminated",
        "E": ...}}`` and is removed.

        Args:
            api_key: The account's API key.
            kind: ``"spot"``, ``"margin"`` or ``"isolated:<SYMBOL>"``.

        Returns:
            How many subscriptions were ended.
        """
        return self._user.terminate_user_streams(api_key, kind)

    # ------------------------------------------------------------------ REST

    def _add_rest_routes(self) -> None:
        for prefix in _API_PREFIXES:
            self.rest.add(
                "GET", f"{prefix}/time", lambda _: RestResponse(200, {"serverTime": self.now_ms()})
            )
            self.rest.add("GET", f"{prefix}/ping", lambda _: RestResponse(200, {}))
        for path in _DEPTH_PATHS:
            self.rest.add("GET", path, self._rest_depth)

    def _rest_depth(self, request: RestRequest) -> RestResponse:
        product = _DEPTH_PATHS[request.path]
        allowed, default = _DEPTH_LIMITS[product]
        raw_limit = request.params.get("limit", str(default))
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            return binance_error(
                400,
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
            )
        limit = min(int(raw_limit), 5000)
        if allowed is not None and limit not in allowed:
            return binance_error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        market = self._markets.get(product)
        symbol = request.params.get("symbol", "")
        if not symbol:
            return binance_error(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        if market is None or symbol.upper() not in market.symbols:
            return binance_error(400, -1121, "Invalid symbol.")
        return RestResponse(200, market.depth_snapshot(symbol, limit))

    # ------------------------------------------------------------ connecting

    def _connect(self) -> trio.abc.Stream:
        if self._closed:
            raise OSError(errno.ECONNREFUSED, "the fake exchange is closed")
        client, server = pipe_pair(self.settings.pipe_buffer_size)
        self._nursery.start_soon(self._serve_stream, server)
        return client

    async def _serve_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one byte stream: a WebSocket upgrade, or HTTP requests."""
        try:
            head = b""
            with trio.move_on_after(self.settings.handshake_timeout):
                head = await _read_head(stream)
            if b"\r\n\r\n" not in head:
                return  # timed out, hung up, or not HTTP
            if _is_websocket_upgrade(head):
                await self._serve_websocket(ServerSideStream(stream, head))
            else:
                await serve_http(stream, head, self.rest)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionClosed):
            pass  # the client went away
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)

    def _decide(
        self, path: str
    ) -> tuple[HandshakeRecord, list[tuple[bytes, bytes]], bytes, StreamPath | UserPath | None]:
        """Accept or reject a handshake; returns the record, headers, body and parsed path."""
        now = trio.current_time()
        window = self.settings.connection_window
        while self._attempts and self._attempts[0] <= now - window:
            self._attempts.popleft()
        over_limit = len(self._attempts) >= self.settings.connection_attempts
        self._attempts.append(now)
        user_path = parse_user_path(path)
        parsed: StreamPath | UserPath | None = user_path
        error: PathError | None = None
        product: Product | None
        if user_path is not None:
            product = user_path.product
            refused = self._user.check_handshake(user_path)
            if refused is not None:
                error = PathError(400, refused, product)
        else:
            try:
                parsed = parse_path(path)
                product = parsed.product
            except PathError as exc:
                error, product = exc, exc.product
        headers: list[tuple[bytes, bytes]] = []
        body = b""
        if over_limit:
            # Every attempt counts, this one too: say when one would get through.
            free_at = self._attempts[len(self._attempts) - self.settings.connection_attempts]
            retry_after = max(1, math.ceil(free_at + window - now))
            status, reason = 429, "too many connection attempts"
            headers.append((b"Retry-After", str(retry_after).encode()))
            body = reason.encode()
        elif (scripted := self._take_scripted(product)) is not None:
            status, reason = scripted.status, "scripted rejection"
            headers, body = scripted.headers, scripted.body
        elif error is not None:
            status, reason, body = error.status, error.reason, error.reason.encode()
        elif (
            isinstance(parsed, StreamPath)
            and len(parsed.streams) > self.settings.limits(parsed.product).max_streams
        ):
            status, reason = 400, "too many streams in the URL"
            body = reason.encode()
        else:
            status, reason = 101, ""
        route = None if parsed is None else parsed.route
        record = HandshakeRecord(now, path, product, route, status, reason)
        if status != 101:
            logger.info("handshake %s rejected: %d %s", redact(path), status, redact(reason))
        return record, headers, body, parsed if status == 101 else None

    def _take_hang(self, path: str) -> bool:
        product: Product | None = None
        user_path = parse_user_path(path)
        if user_path is not None:
            product = user_path.product
        else:
            try:
                product = parse_path(path).product
            except PathError as exc:
                product = exc.product
        for hang in self._hangs:
            if hang[0] > 0 and hang[1] in (None, product):
                hang[0] -= 1
                return True
        return False

    def _take_scripted(self, product: Product | None) -> _ScriptedReject | None:
        for scripted in self._rejects:
            if scripted.remaining > 0 and scripted.product in (None, product):
                scripted.remaining -= 1
                return scripted
        return None

    async def _serve_websocket(self, stream: ServerSideStream) -> None:
        async with trio.open_nursery() as nursery:
            request = None
            with trio.move_on_after(self.settings.handshake_timeout):
                # The connection enforces max_message_size itself, to tell its
                # own 1009 from a client's; trio-websocket only guards memory.
                request = await wrap_server_stream(
                    nursery, stream, max_message_size=max(self.settings.max_message_size, 1 << 26)
                )
            if request is None:
                nursery.cancel_scope.cancel()
                return
            if self._take_hang(request.path):
                await trio.sleep_forever()  # held until the fake closes
            record, headers, body, parsed = self._decide(request.path)
            self.handshakes.append(record)
            self._registry.changed()
            try:
                if parsed is None:
                    await request.reject(record.status, extra_headers=headers, body=body or None)
                    nursery.cancel_scope.cancel()
                    return
                ws = await request.accept()
            except ConnectionClosed:
                # The client hung up during the handshake (e.g. it is shutting down).
                nursery.cancel_scope.cancel()
                return
            conn = FakeConnection(
                id=len(self.connections) + 1,
                product=parsed.product,
                route=parsed.route,
                path=request.path,
                combined=isinstance(parsed, StreamPath) and parsed.combined,
                ws=ws,
                stream=stream,
                registry=self._registry,
                settings=self.settings,
                now_ms=self.now_ms,
                service=parsed.service if isinstance(parsed, UserPath) else "streams",
                user_kind=parsed.kind if isinstance(parsed, UserPath) else None,
                microseconds=isinstance(parsed, StreamPath) and wants_microseconds(parsed),
            )
            if isinstance(parsed, UserPath):
                self._user.attach(conn, parsed)
            else:
                conn._add_streams(list(parsed.streams))
            self.connections.append(conn)
            self._registry.open[conn] = None
            self._registry.changed()
            logger.debug("connection #%d opened: %s", conn.id, redact(request.path))
            try:
                await conn._serve()
            finally:
                nursery.cancel_scope.cancel()


async def _read_head(stream: trio.abc.Stream) -> bytes:
    """Read until the end of an HTTP request head (or EOF, or 64 KiB)."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
        chunk = await stream.receive_some()
        if not chunk:
            break
        head += chunk
    return head


def _is_websocket_upgrade(head: bytes) -> bool:
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


def _loopback_host(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"the fake exchange listens on loopback addresses only, got {host!r}"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"the fake exchange listens on loopback addresses only, got {host!r}")
    return host


@asynccontextmanager
async def open_fake_binance(
    *,
    listen: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: FakeSettings | None = None,
) -> AsyncIterator[FakeBinance]:
    """Run a fake Binance exchange for the duration of the block.

    In memory by default: connect through ``fake.transport`` and the fake is
    fully deterministic under ``trio.testing.MockClock(autojump_threshold=0)``.

    Args:
        listen: Also serve WebSocket and REST on ``host:port`` over TCP (then
            ``fake.endpoints`` carry the real port).  Real sockets and an
            autojumping clock do not mix well; prefer in-memory for clock tests.
        host: Loopback address to listen on.
        port: TCP port; 0 picks a free one.
        settings: Limits and behaviour; Binance's values by default.

    Yields:
        The running :class:`FakeBinance`.

    Raises:
        ValueError: If ``host`` is not a loopback address.

    An exception raised in the block comes out as itself, not wrapped in an
    exception group.
    """
    settings = FakeSettings() if settings is None else settings
    listeners: list[trio.SocketListener] = []
    if listen:
        host = _loopback_host(host)
        listeners = await trio.open_tcp_listeners(port, host=host)
        port = listeners[0].socket.getsockname()[1]
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            fake = FakeBinance(nursery, settings, host, port if listen else PLACEHOLDER_PORT)
            if listeners:
                await nursery.start(trio.serve_listeners, fake._serve_stream, listeners)
                logger.info("fake exchange listening on %s", fake.endpoints.spot_rest)
            try:
                yield fake
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                fake._closed = True
                nursery.cancel_scope.cancel(reason="fake exchange closed")
    except BaseExceptionGroup as group:
        if (
            body_error is not None
            and len(group.exceptions) == 1
            and group.exceptions[0] is body_error
        ):
            context = body_error.__context__
            try:
                raise body_error
            finally:
                body_error.__context__ = context
                del body_error, group
        raise
