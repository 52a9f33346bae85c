"""User-data streams: sessions that keep a credential alive on an ordinary connection.

Each is a :class:`~trio_binance._session.Session` of a
:class:`~trio_binance._connection.Connection` carrying one stream, ``userData``:

* :class:`ListenKeySession` (USD-M, COIN-M, portfolio margin, options): the listen
  key is part of the URL.  Its background task PUTs the key every 30 minutes;
  ``-1125`` and ``listenKeyExpired`` replace the key and reconnect; a reconnect
  after an outage longer than the key's validity creates a new key first.
* :class:`WsApiSession` (spot and margin): a WebSocket-API session on which the
  stream is subscribed with ``userDataStream.subscribe.signature`` (spot) or
  ``userDataStream.subscribe.listenToken`` (margin, the token renewed before it
  expires).  Every new link subscribes again; so does ``eventStreamTerminated``
  (with a gap for what may have been missed meanwhile).

Events carry no ids: while two links overlap (a rotation) the connection's router
matches them by content, so each is delivered once, in order.

Only a *refusal* by the server (a bad signature, an unknown key: HTTP 4xx other
than rate limits) counts toward ``Settings.credential_retries``, after which the
handles raise :class:`~trio_binance.UserStreamError`.  A network failure or a rate
limit is retried forever with backoff, as for market streams.  Keys, tokens and
secrets never reach a log record, a repr, a stream name or an exception message.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import orjson
import trio

from ._engine import USER_STREAM
from ._exceptions import BinanceAPIError, NetworkError, UserStreamError
from ._link import Link, LinkBroken
from ._logs import describe_seconds
from ._rest import LISTEN_KEY_DOES_NOT_EXIST, TIMESTAMP_OUTSIDE_RECV_WINDOW, RestClient
from ._session import Owner
from ._signal import Signal
from ._signing import Signer, ws_api_payload
from ._websocket import HandshakeRejected, WebSocketClosed

__all__ = ["CredentialGuard", "ListenKeySession", "WsApiSession", "is_refusal"]

logger = logging.getLogger("trio_binance")

#: HTTP statuses that are not a refusal of the credential: try again later.
_TRANSIENT_STATUS: Final = frozenset({408, 418, 429})


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is the server refusing a credential step (not a network failure,
    a rate limit or a server error, which are retried forever)."""
    return (
        isinstance(exc, BinanceAPIError)
        and 400 <= exc.status < 500
        and exc.status not in _TRANSIENT_STATUS
    )


class CredentialGuard:
    """Counts consecutive refusals of a credential; gives up after ``retries``."""

    def __init__(self, retries: int) -> None:
        self._retries = retries
        self.refusals = 0

    def succeeded(self) -> None:
        self.refusals = 0

    def failed(self, owner: Owner, exc: BaseException) -> None:
        """A credential step failed with ``exc``: count a refusal, or just report."""
        if not is_refusal(exc):
            logger.warning("%s: user-data credential step failed (%s); retrying", owner.name, exc)
            return
        self.refusals += 1
        if self.refusals >= self._retries:
            error = UserStreamError(
                f"{owner.name}: the user-data credential was refused "
                f"{self.refusals} times in a row: {exc}"
            )
            error.__cause__ = exc
            logger.error("%s", error)
            owner.fail(error)
        else:
            logger.warning(
                "%s: the server refused the user-data credential (%s); retrying",
                owner.name,
                exc,
            )


def _deliver(owner: Owner, link: Link, event: Any, now: float) -> None:
    stream = owner.router.streams.get(USER_STREAM)
    if stream is None:
        owner.router.not_subscribed += 1
    else:
        stream.deliver(link.state, event, event, now)


class ListenKeySession:
    """A listen-key user-data stream (USD-M, COIN-M, portfolio margin, options)."""

    def __init__(self, kind: str, base_url: str, rest: RestClient, retries: int) -> None:
        self.kind = kind
        self._base_url = base_url
        self.rest = rest
        self.credentials = CredentialGuard(retries)
        self._listen_key: str | None = None
        self._key_refreshed_at = 0.0

    def __repr__(self) -> str:
        return f"ListenKeySession({self.kind!r})"

    def _key_stale(self, owner: Owner) -> bool:
        age = trio.current_time() - self._key_refreshed_at
        return self._listen_key is None or age >= owner.settings.listen_key_validity

    async def url(self, owner: Owner) -> str:
        if self._key_stale(owner):
            try:
                key = await self.rest.create_listen_key(self.kind)
            except (BinanceAPIError, NetworkError) as exc:
                self.credentials.failed(owner, exc)
                raise
            self._listen_key = key
            self._key_refreshed_at = trio.current_time()
            self.credentials.succeeded()
            logger.info("%s: new listen key created", owner.name)
        else:
            await trio.lowlevel.checkpoint()
        return f"{self._base_url}/ws/{self._listen_key}"

    async def serve(self, owner: Owner, link: Link) -> None:
        owner.router.confirm(link.state, (USER_STREAM,), trio.current_time())
        owner.switched.fire()
        await trio.sleep_forever()

    def connect_failed(self, owner: Owner, exc: BaseException) -> None:
        if (
            isinstance(exc, HandshakeRejected)
            and 400 <= exc.status < 500
            and exc.status not in _TRANSIENT_STATUS
        ):
            self._listen_key = None  # the server does not know this key: a new one

    def barrier(self, request_id: int) -> bytes:
        # UNCONFIRMED that Binance answers requests on a listen-key stream (the
        # 2026 notice says the routes accept SUBSCRIBE); any answer, even an
        # error, proves the order; no answer just lets the rotation time out.
        return orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id})

    def on_message(self, owner: Owner, link: Link, msg: dict[str, Any], now: float) -> None:
        if msg.get("e") == "listenKeyExpired":
            owner.router.control += 1
            logger.warning("%s: listen key expired; reconnecting with a new one", owner.name)
            self._listen_key = None
            link.kill("listen key expired")
        elif "id" in msg and ("result" in msg or "error" in msg):
            owner.router.control += 1  # a late answer (a rotation barrier)
        else:
            _deliver(owner, link, msg, now)

    async def background(self, owner: Owner) -> None:
        """Keep the listen key alive (PUT) every ``Settings.listen_key_keepalive``."""
        settings = owner.settings
        while True:
            await trio.sleep(settings.listen_key_keepalive)
            key = self._listen_key
            attempts = 0
            while key is not None and key == self._listen_key:
                try:
                    await self.rest.keepalive_listen_key(self.kind)
                except BinanceAPIError as exc:
                    if exc.code == LISTEN_KEY_DOES_NOT_EXIST:
                        logger.warning("%s: listen key unknown (-1125); replacing it", owner.name)
                        self._listen_key = None
                        for link in owner.links:
                            link.kill("listen key unknown")
                        break
                    self.credentials.failed(owner, exc)
                    retry_after = exc.retry_after
                except NetworkError as exc:
                    self.credentials.failed(owner, exc)
                    retry_after = None
                else:
                    self._key_refreshed_at = trio.current_time()
                    self.credentials.succeeded()
                    logger.debug("%s: listen key kept alive", owner.name)
                    break
                attempts += 1
                delay = max(min(settings.backoff_max, 5.0 * 2**attempts), retry_after or 0.0)
                await trio.sleep(delay)


class WsApiSession:
    """Spot or margin user data over the WebSocket API."""

    def __init__(
        self,
        url: str,
        rest: RestClient,
        *,
        api_key: str,
        signer: Signer | None,
        retries: int,
        margin_symbol: str | None = None,
        margin: bool = False,
    ) -> None:
        self._url = url
        self.rest = rest
        self._api_key = api_key
        self._signer = signer
        self._margin = margin
        self._symbol = margin_symbol
        self.credentials = CredentialGuard(retries)
        self._token: tuple[str, int] | None = None
        self._current: dict[Link, Any] = {}  # the subscription id on each link
        self._resubscribe = Signal()

    def __repr__(self) -> str:
        return f"WsApiSession(margin={self._margin})"

    async def url(self, owner: Owner) -> str:
        await trio.lowlevel.checkpoint()
        return self._url

    async def background(self, owner: Owner) -> None:
        await trio.lowlevel.checkpoint()

    def connect_failed(self, owner: Owner, exc: BaseException) -> None:
        pass

    def barrier(self, request_id: int) -> bytes:
        return orjson.dumps({"id": request_id, "method": "ping"})

    async def serve(self, owner: Owner, link: Link) -> None:
        try:
            while True:
                event = self._resubscribe.event
                await self._subscribe(owner, link)
                if self._margin:
                    assert self._token is not None
                    renew_at = self._token[1] / 1000 - owner.settings.listen_token_renew_before
                    delay = max(1.0, renew_at - self.rest.clock.now_ms() / 1000)
                    with trio.move_on_after(delay):
                        await event.wait()
                    if not event.is_set():
                        self._token = None  # renew before it expires
                else:
                    await event.wait()
        except (BinanceAPIError, NetworkError) as exc:
            self.credentials.failed(owner, exc)
            wait = exc.retry_after
            if wait:
                logger.info(
                    "%s: waiting %s as the server asked", owner.name, describe_seconds(wait)
                )
                await trio.sleep(wait)
            link.kill("subscription failed")
        except (LinkBroken, WebSocketClosed) as exc:
            link.kill(str(exc))
        finally:
            self._current.pop(link, None)

    async def _subscribe(self, owner: Owner, link: Link) -> None:
        for attempt in (1, 2):
            if self._margin:
                if self._token is None or self._token_expiring(owner):
                    self._token = await self.rest.create_listen_token(symbol=self._symbol)
                method = "userDataStream.subscribe.listenToken"
                params: dict[str, object] = {"listenToken": self._token[0]}
            else:
                if self._signer is None:
                    raise BinanceAPIError(401, -2015, "an api_secret is required for user_socket()")
                method = "userDataStream.subscribe.signature"
                params = {"apiKey": self._api_key, "timestamp": self.rest.clock.now_ms()}
                params["signature"] = self._signer.sign(ws_api_payload(params))
            previous = self._current.get(link)

            def on_answer(msg: dict[str, Any], now: float) -> None:
                # In the reader, where the answer arrived: before the events behind it.
                if msg.get("error") is None:
                    self._current[link] = (msg.get("result") or {}).get("subscriptionId")
                    owner.router.confirm(link.state, (USER_STREAM,), now)

            response = await self._request(owner, link, method, params, on_answer)
            error = response.get("error")
            if error is None:
                self.credentials.succeeded()
                owner.switched.fire()
                if previous is not None and previous != self._current.get(link):
                    await self._request(
                        owner, link, "userDataStream.unsubscribe", {"subscriptionId": previous}
                    )
                return
            code = error.get("code") if isinstance(error, dict) else None
            msg = str(error.get("msg", "")) if isinstance(error, dict) else str(error)
            exc = BinanceAPIError(int(response.get("status", 400)), code, msg)
            if code == TIMESTAMP_OUTSIDE_RECV_WINDOW and attempt == 1:
                logger.warning("%s: clock skew (-1021); syncing time with the server", owner.name)
                await self.rest.sync_time("spot")
                continue
            if self._margin:
                self._token = None  # e.g. -1209, an invalid token: the next try gets a new one
            raise exc

    def _token_expiring(self, owner: Owner) -> bool:
        assert self._token is not None
        left = self._token[1] / 1000 - self.rest.clock.now_ms() / 1000
        return left <= owner.settings.listen_token_renew_before

    async def _request(
        self,
        owner: Owner,
        link: Link,
        method: str,
        params: dict[str, object],
        on_answer: Any = None,
    ) -> dict[str, Any]:
        request_id = owner.next_request_id()
        frame = orjson.dumps({"id": request_id, "method": method, "params": params})
        return await link.request(
            request_id,
            frame,
            what=method,
            answer_within=owner.settings.request_timeout,
            on_answer=on_answer,
        )

    def on_message(self, owner: Owner, link: Link, msg: dict[str, Any], now: float) -> None:
        event = msg.get("event")
        if not isinstance(event, dict):
            error = msg.get("error")
            if isinstance(error, dict):  # e.g. {"id": null, "status": 401, "error": -2015}
                owner.router.control += 1
                exc = BinanceAPIError(int(msg.get("status", 400)), error.get("code"), "")
                exc.msg = str(error.get("msg", ""))
                self.credentials.failed(owner, exc)
                link.kill("session error")
            elif "id" in msg and ("status" in msg or "result" in msg):
                owner.router.control += 1  # a late answer
            else:
                owner.malformed(link, "an unrecognised WebSocket-API message")
            return
        kind = event.get("e")
        if kind == "serverShutdown":
            owner.router.control += 1
            link.shutdown_notice = True
            owner.changed.fire()
            return
        subscription = msg.get("subscriptionId")
        if subscription is not None and subscription != self._current.get(link):
            # An older subscription of ours, replaced a moment ago: the current one
            # carries the same events.
            stream = owner.router.streams.get(USER_STREAM)
            if stream is not None:
                stream.counts.superseded += 1
            return
        if kind == "eventStreamTerminated":
            owner.router.control += 1
            logger.warning("%s: eventStreamTerminated; subscribing again", owner.name)
            if self._margin:
                self._token = None
            owner.router.unsubscribed(link.state, (USER_STREAM,), now)
            self._current.pop(link, None)
            self._resubscribe.fire()
            return
        _deliver(owner, link, event, now)
