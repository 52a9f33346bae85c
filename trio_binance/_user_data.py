"""User-data streams: the same connection engine, with credentials kept alive.

Two kinds of :class:`~trio_binance._connection.Connection`:

* :class:`ListenKeyStream` (USD-M, COIN-M, portfolio margin, options): the listen
  key is part of the URL.  A child task PUTs it every 30 minutes; ``-1125`` and
  ``listenKeyExpired`` replace the key and reconnect; a reconnect after an outage
  longer than the key's validity creates a new key first.
* :class:`WsApiUserStream` (spot and margin): a WebSocket-API session on which the
  stream is subscribed with ``userDataStream.subscribe.signature`` (spot) or
  ``userDataStream.subscribe.listenToken`` (margin, token renewed before it
  expires).  Every new link subscribes again; ``eventStreamTerminated`` subscribes
  again.

Both de-duplicate events by content while two links overlap (rotation), and fail
the handle with :class:`~trio_binance.UserStreamError` when a credential keeps
failing, instead of only logging.  Keys, tokens and secrets never reach a log record,
a repr, a stream name or an exception message.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Any, Final

import httpx
import orjson
import trio

from ._connection import Connection, Link, Signal, _LinkBroken
from ._endpoints import Product
from ._exceptions import UserStreamError
from ._rest import (
    LISTEN_KEY_DOES_NOT_EXIST,
    TIMESTAMP_OUTSIDE_RECV_WINDOW,
    BinanceAPIError,
    RestClient,
)
from ._signing import Signer, ws_api_payload
from ._subscription import Subscription
from ._websocket import HandshakeRejected

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["ListenKeyStream", "WsApiUserStream", "is_fatal"]

logger = logging.getLogger("trio_binance")

#: Binance codes meaning the credential itself is wrong: retrying cannot help.
FATAL_CODES: Final = frozenset({-2008, -2014, -2015, -1022, -1002, -1099, -1209})
USER_STREAM: Final = "userData"


def is_fatal(exc: BaseException) -> bool:
    """Whether ``exc`` says the API key or secret is wrong (no retry will help)."""
    if isinstance(exc, BinanceAPIError):
        return exc.code in FATAL_CODES or exc.status in (401, 403)
    return False


class _UserStream(Connection):
    """What both user-data connection kinds share."""

    def __init__(
        self, engine: Engine, product: Product, url: str, label: str, rest: RestClient
    ) -> None:
        super().__init__(engine, product, url, next(engine.connection_numbers))
        self.url = url
        self.name = f"user:{label}#{self.number}"
        self.rest = rest
        self.failures = 0
        self._recent: collections.deque[bytes] = collections.deque(maxlen=512)
        self._recent_set: set[bytes] = set()
        self.sub = Subscription((product, f"user:{label}", USER_STREAM), self)
        self.subs[USER_STREAM] = self.sub

    def _deliver_event(self, event: dict[str, Any], now: float) -> None:
        """Deliver once, even when two overlapping links both carry it."""
        fingerprint = orjson.dumps(event)
        if fingerprint in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(fingerprint)
        self._recent_set.add(fingerprint)
        self.sub.publish(event, event, now)

    def _confirm(self, link: Link) -> None:
        link.subscribed.add(USER_STREAM)
        link.confirmed.add(self.sub)
        link.confirmed_at[USER_STREAM] = trio.current_time()
        self.switched.fire()
        self.sub.confirmed(link)
        self.failures = 0

    def _credential_failed(self, exc: BaseException) -> None:
        """Count a failed credential step; fail the handles once retrying is pointless."""
        self.failures += 1
        limit = self.settings.credential_retries
        if is_fatal(exc) or self.failures >= limit:
            why = "was rejected" if is_fatal(exc) else f"failed {self.failures} times in a row"
            error = UserStreamError(f"{self.name}: the user-data credential {why}: {exc}")
            error.__cause__ = exc
            logger.error("%s", error)
            self.fail(error)
        else:
            logger.warning("%s: user-data credential step failed (%s); retrying", self.name, exc)

    def fail(self, error: BaseException) -> None:
        """Stop the stream and raise ``error`` on every handle after its buffer."""
        states = (*self.sub.bare, *self.sub.envelope)
        self.subs.clear()
        self.engine.forget_user_stream(self)
        for state in states:
            state.fail(error)
        self.changed.fire()
        for link in self.links:
            link.kill("credential failed")


class ListenKeyStream(_UserStream):
    """A listen-key user-data stream (USD-M, COIN-M, portfolio margin, options)."""

    def __init__(
        self, engine: Engine, product: Product, kind: str, base_url: str, rest: RestClient
    ) -> None:
        super().__init__(engine, product, base_url, kind, rest)
        self.kind = kind
        self._listen_key: str | None = None
        self._key_refreshed_at = 0.0

    def __repr__(self) -> str:
        return f"<ListenKeyStream {self.name} links={len(self.links)}>"

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._keepalive)
            await super().run()
            nursery.cancel_scope.cancel()

    def _key_stale(self) -> bool:
        age = trio.current_time() - self._key_refreshed_at
        return self._listen_key is None or age >= self.settings.listen_key_validity

    async def _resolve_url(self) -> str:
        if self._key_stale():
            try:
                key = await self.rest.create_listen_key(self.kind)
            except (BinanceAPIError, httpx.HTTPError) as exc:
                self._credential_failed(exc)
                raise
            self._listen_key = key
            self._key_refreshed_at = trio.current_time()
            logger.info("%s: new listen key created", self.name)
        return f"{self.url}/ws/{self._listen_key}"

    async def _serve_link(self, link: Link) -> None:
        self._confirm(link)
        await trio.sleep_forever()

    def _connect_failed(self, exc: BaseException, *, rejected: bool) -> None:
        super()._connect_failed(exc, rejected=rejected)
        if (
            isinstance(exc, HandshakeRejected)
            and 400 <= exc.status < 500
            and exc.status
            not in (
                418,
                429,
            )
        ):
            self._listen_key = None  # the server does not know this key: get a new one

    def _on_message(self, link: Link, msg: dict[str, Any]) -> None:
        if msg.get("e") == "listenKeyExpired":
            logger.warning("%s: listen key expired; reconnecting with a new one", self.name)
            self._listen_key = None
            link.kill("listen key expired")
            return
        self._deliver_event(msg, trio.current_time())

    async def _keepalive(self) -> None:
        settings = self.settings
        while True:
            await trio.sleep(settings.listen_key_keepalive)
            key = self._listen_key
            while key is not None and key == self._listen_key:
                try:
                    await self.rest.keepalive_listen_key(self.kind)
                except BinanceAPIError as exc:
                    if exc.code == LISTEN_KEY_DOES_NOT_EXIST:
                        logger.warning("%s: listen key unknown (-1125); replacing it", self.name)
                        self._listen_key = None
                        for link in self.links:
                            link.kill("listen key unknown")
                        break
                    self._credential_failed(exc)
                except httpx.HTTPError as exc:
                    self._credential_failed(exc)
                else:
                    self._key_refreshed_at = trio.current_time()
                    self.failures = 0
                    logger.debug("%s: listen key kept alive", self.name)
                    break
                await trio.sleep(min(settings.backoff_max, 5.0 * 2**self.failures))


class WsApiUserStream(_UserStream):
    """Spot or margin user data over the WebSocket API."""

    def __init__(
        self,
        engine: Engine,
        url: str,
        rest: RestClient,
        *,
        api_key: str,
        signer: Signer | None,
        margin_symbol: str | None = None,
        margin: bool = False,
    ) -> None:
        label = (
            "spot"
            if not margin
            else ("margin" if margin_symbol is None else f"isolated:{margin_symbol}")
        )
        super().__init__(engine, Product.SPOT, url, label, rest)
        self._api_key = api_key
        self._signer = signer
        self._margin = margin
        self._symbol = margin_symbol
        self._token: tuple[str, int] | None = None
        self._current: dict[Link, Any] = {}
        self._resubscribe = Signal()

    def __repr__(self) -> str:
        return f"<WsApiUserStream {self.name} links={len(self.links)}>"

    async def _serve_link(self, link: Link) -> None:
        try:
            while True:
                await self._subscribe_user(link)
                event = self._resubscribe.event
                if self._margin:
                    assert self._token is not None
                    renew_at = self._token[1] / 1000 - self.settings.listen_token_renew_before
                    delay = max(1.0, renew_at - self.rest.clock.now_ms() / 1000)
                    with trio.move_on_after(delay):
                        await event.wait()
                    if not event.is_set():
                        self._token = None  # renew before it expires
                else:
                    await event.wait()
        except BinanceAPIError as exc:
            self._credential_failed(exc)
            link.kill("subscription refused")
        except (_LinkBroken, httpx.HTTPError) as exc:
            self._credential_failed(exc)
            link.kill(str(exc))

    async def _subscribe_user(self, link: Link) -> None:
        for attempt in (1, 2):
            if self._margin:
                if self._token is None or self._token_expiring():
                    self._token = await self.rest.create_listen_token(symbol=self._symbol)
                method = "userDataStream.subscribe.listenToken"
                params: dict[str, object] = {"listenToken": self._token[0]}
            else:
                if self._signer is None:
                    raise BinanceAPIError(401, -2015, "an api_secret is required for user_socket()")
                method = "userDataStream.subscribe.signature"
                params = {"apiKey": self._api_key, "timestamp": self.rest.clock.now_ms()}
                params["signature"] = self._signer.sign(ws_api_payload(params))
            response = await self._request_ws(link, method, params)
            error = response.get("error")
            if error is None:
                previous = self._current.get(link)
                self._current[link] = (response.get("result") or {}).get("subscriptionId")
                self._confirm(link)
                if previous is not None and previous != self._current[link]:
                    await self._request_ws(
                        link, "userDataStream.unsubscribe", {"subscriptionId": previous}
                    )
                return
            code = error.get("code") if isinstance(error, dict) else None
            msg = str(error.get("msg", "")) if isinstance(error, dict) else str(error)
            exc = BinanceAPIError(int(response.get("status", 400)), code, msg)
            if code == TIMESTAMP_OUTSIDE_RECV_WINDOW and attempt == 1:
                logger.warning("%s: clock skew (-1021); syncing time with the server", self.name)
                await self.rest.sync_time("spot")
                continue
            if self._margin and attempt == 1 and code is not None and not is_fatal(exc):
                self._token = None  # e.g. -1209 invalid token: get a fresh one once
                continue
            raise exc

    def _token_expiring(self) -> bool:
        assert self._token is not None
        left = self._token[1] / 1000 - self.rest.clock.now_ms() / 1000
        return left <= self.settings.listen_token_renew_before

    async def _request_ws(
        self, link: Link, method: str, params: dict[str, object]
    ) -> dict[str, Any]:
        request_id = self.engine.next_request_id()
        frame = orjson.dumps({"id": request_id, "method": method, "params": params})
        return await self._exchange(link, request_id, frame, method)

    def _on_message(self, link: Link, msg: dict[str, Any]) -> None:
        if self._resolve(link, msg, "status", "result", "error"):
            return
        event = msg.get("event")
        if not isinstance(event, dict):
            error = msg.get("error")
            if isinstance(error, dict):  # e.g. {"id": null, "status": 401, "error": -2015}
                exc = BinanceAPIError(int(msg.get("status", 400)), error.get("code"), "")
                exc.msg = str(error.get("msg", ""))
                self._credential_failed(exc)
                link.kill("session error")
                return
            self._malformed(link, "an unrecognised WebSocket-API message")
            return
        kind = event.get("e")
        if kind == "serverShutdown":
            link.shutdown_notice = True
            self.changed.fire()
            return
        subscription = msg.get("subscriptionId")
        if subscription is not None and subscription != self._current.get(link):
            return  # an older subscription of ours, replaced a moment ago
        if kind == "eventStreamTerminated":
            logger.warning("%s: eventStreamTerminated; subscribing again", self.name)
            if self._margin:
                self._token = None
            self._resubscribe.fire()
            return
        self._deliver_event(event, trio.current_time())
