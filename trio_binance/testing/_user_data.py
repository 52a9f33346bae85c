"""The user-data side of the fake exchange: listen keys, listen tokens, the WebSocket API.

Listen keys (USD-M ``/fapi/v1/listenKey``, COIN-M ``/dapi/v1/listenKey``,
portfolio margin ``/papi/v1/listenKey``, options ``/eapi/v1/listenKey``):

* ``POST`` (API key only) answers ``{"listenKey": ...}``: the active key of that
  account and kind if there is one (extended), else a new 60-character key.
* ``PUT`` extends the active key by ``FakeSettings.listen_key_validity``
  (``listenKey`` may be given, as the options docs do; it must then be the active
  key); no active key is HTTP 400 ``-1125``.
* ``DELETE`` invalidates it: its connections stay open and receive nothing more.
* When a key lapses, ``{"e":"listenKeyExpired","E":...,"listenKey":...}`` is
  sent on its connections (which stay open, silent) and the key is forgotten.

Listen tokens (``POST /sapi/v1/userListenToken``, signed): ``{"token",
"expirationTime"}`` for cross margin, or isolated margin of ``symbol``.  A token
may be used for any number of subscriptions until it expires; then each of them
gets ``eventStreamTerminated`` and is removed.

The WebSocket API (``/ws-api/v3``) answers ``userDataStream.subscribe.signature``,
``userDataStream.subscribe.listenToken``, ``userDataStream.unsubscribe``,
``session.subscriptions``, ``ping`` and ``time``; anything else is 400 ``-1020``.
Status and error codes:

======  =======  ===========================================================
status  code     when
======  =======  ===========================================================
401     -2014    REST: no ``X-MBX-APIKEY`` header
401     -2015    unknown API key (REST header or ``apiKey`` parameter)
400     -1102    a mandatory parameter is missing or malformed
400     -1104    a parameter the method does not take (WebSocket API)
400     -1130    a parameter with a bad value (``recvWindow`` <= 0, ``isIsolated``,
                 ``validity``)
400     -1131    ``recvWindow`` over 60000
400     -1021    ``timestamp`` >= now + 1 s, or older than ``recvWindow`` (default
                 5000 ms); microsecond timestamps are accepted
400     -1022    the signature does not verify
400     -1125    listen key: none active (or scripted with
                 :meth:`UserDataServer.fail_listen_key_keepalive`)
400     -1209    ``subscribe.listenToken`` with an unknown or expired token
400     -2035    a second ``subscribe.signature`` for the same account on one
                 connection ("User Data Stream subscription already active.")
401     -1002    ``userDataStream.subscribe`` (needs ``session.logon``, not modelled)
400     -1020    any other WebSocket-API method
400     -1135    a WebSocket-API frame that is not a JSON object, or a bad ``id``
                 or ``params`` (answered with ``"id": null`` when unusable)
======  =======  ===========================================================

Keys, secrets, listen keys and tokens never appear in log records: accounts are
logged by number.
"""

from __future__ import annotations

import dataclasses
import decimal
import logging
import math
import random
import string
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, final

import orjson
import trio

from .._signing import ws_api_payload
from ._accounts import FakeAccount, load_verifier, rest_signed_payload
from ._connection import NOT_JSON, FakeConnection, Registry
from ._rest import RestHandler, RestRequest, RestResponse, RestRouter, binance_error
from ._routing import LISTEN_KEY_KINDS, UserPath
from ._settings import FakeSettings

__all__ = [
    "LISTEN_KEY_PATHS",
    "LISTEN_TOKEN_PATH",
    "UserDataServer",
    "UserSubscription",
]

logger = logging.getLogger(__name__)

#: REST path of each listen-key kind.
LISTEN_KEY_PATHS: Final = {
    "usdm": "/fapi/v1/listenKey",
    "coinm": "/dapi/v1/listenKey",
    "pm": "/papi/v1/listenKey",
    "options": "/eapi/v1/listenKey",
}
LISTEN_TOKEN_PATH: Final = "/sapi/v1/userListenToken"
_MAX_TOKEN_VALIDITY_MS: Final = 24 * 3600 * 1000
_MAX_RECV_WINDOW: Final = 60_000
_DEFAULT_RECV_WINDOW: Final = 5_000
_ALNUM: Final = string.ascii_letters + string.digits

_INVALID_KEY: Final = (401, -2015, "Invalid API-key, IP, or permissions for action.")
_KEY_FORMAT: Final = (401, -2014, "API-key format invalid.")
_NO_LISTEN_KEY: Final = (400, -1125, "This listenKey does not exist.")
_BAD_SIGNATURE: Final = (400, -1022, "Signature for this request is not valid.")
_OUTSIDE_WINDOW: Final = (400, -1021, "Timestamp for this request is outside of the recvWindow.")
_AHEAD: Final = (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
_BIG_RECV_WINDOW: Final = (400, -1131, "recvWindow must be less than 60000.")
_INVALID_TOKEN: Final = (400, -1209, "Invalid listenToken.")
_SUBSCRIPTION_ACTIVE: Final = (400, -2035, "User Data Stream subscription already active.")
_NOT_LOGGED_ON: Final = (401, -1002, "You are not authorized to execute this request.")
_UNSUPPORTED: Final = (400, -1020, "This operation is not supported.")

# Default HTTP status and message of codes scripted for keepalive failures.
_SCRIPTED: Final[dict[int, tuple[int, str]]] = {
    -1125: (400, "This listenKey does not exist."),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
    -1003: (429, "Too many requests; current limit is 2400 requests per minute."),
    -1000: (500, "An unknown error occurred while processing the request."),
    -1001: (503, "Internal error; unable to process your request. Please try again."),
    -1008: (503, "Server is currently overloaded with other requests."),
}

_Error = tuple[int, int, str]


def _mandatory(name: str) -> _Error:
    return (
        400,
        -1102,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def _invalid(name: str) -> _Error:
    return 400, -1130, f"Data sent for parameter '{name}' is not valid."


def _rest_error(error: _Error) -> RestResponse:
    return binance_error(*error)


@final
@dataclasses.dataclass(frozen=True)
class UserSubscription:
    """A live WebSocket-API user-data subscription (a snapshot).

    Attributes:
        connection: The WebSocket-API connection it lives on.
        api_key: The account's API key (not in ``repr()``).
        subscription_id: Its ``subscriptionId`` (counting from 0 per connection).
        kind: ``"spot"`` (signature subscription), ``"margin"`` or
            ``"isolated:<SYMBOL>"`` (listen-token subscriptions).
        method: ``"signature"`` or ``"listenToken"``.
        expiration_time: When its listen token expires (ms), None for ``"signature"``.
        created_at: ``trio.current_time()`` when it was made.
    """

    connection: FakeConnection
    api_key: str = dataclasses.field(repr=False)
    subscription_id: int
    kind: str
    method: Literal["signature", "listenToken"]
    expiration_time: int | None
    created_at: float


@dataclasses.dataclass(eq=False)
class _ListenKey:
    key: str
    account: FakeAccount
    kind: str
    expires_at: float
    connections: dict[FakeConnection, None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class _ListenToken:
    token: str
    account: FakeAccount
    kind: str
    expires_at: float
    expiration_ms: int


@dataclasses.dataclass(eq=False)
class _Subscription:
    session: _WsApiSession
    id: int
    account: FakeAccount
    kind: str
    method: Literal["signature", "listenToken"]
    token: _ListenToken | None
    created_at: float


@dataclasses.dataclass
class _KeepaliveFailure:
    status: int
    code: int
    msg: str
    remaining: int


def _as_int(value: object) -> int | None:
    """An integer parameter (JSON int or decimal string), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def _recv_window(value: object) -> float | _Error:
    if value is None:
        return float(_DEFAULT_RECV_WINDOW)
    if isinstance(value, bool):
        return _invalid("recvWindow")
    try:
        window = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return _invalid("recvWindow")
    if not window.is_finite() or window <= 0:
        return _invalid("recvWindow")
    if window > _MAX_RECV_WINDOW:
        return _BIG_RECV_WINDOW
    return float(window)


def _check_kind_listen(kind: str) -> str:
    if kind not in LISTEN_KEY_KINDS:
        raise ValueError(
            f"not a listen-key kind: {kind!r} (expected one of {', '.join(LISTEN_KEY_KINDS)})"
        )
    return kind


def _ws_kind(kind: str) -> str:
    """Normalise a WebSocket-API kind: ``spot``, ``margin`` or ``isolated:<SYMBOL>``."""
    if kind in ("spot", "margin"):
        return kind
    prefix, _, symbol = kind.partition(":")
    if prefix == "isolated" and symbol.isalnum():
        return f"isolated:{symbol.upper()}"
    raise ValueError(
        f"not a user-data kind: {kind!r} (expected usdm, coinm, pm, options, spot, margin"
        " or isolated:<SYMBOL>)"
    )


@final
class UserDataServer:
    """Accounts and their user-data streams; one per fake exchange.

    The public methods are reached through :class:`FakeBinance`; this object adds
    the REST routes and serves the user-data WebSocket connections.
    """

    def __init__(
        self,
        *,
        settings: FakeSettings,
        now_ms: Callable[[], int],
        registry: Registry,
        router: RestRouter,
    ) -> None:
        self._settings = settings
        self._now_ms = now_ms
        self._registry = registry
        self._accounts: dict[str, FakeAccount] = {}
        self._listen_keys: dict[tuple[FakeAccount, str], _ListenKey] = {}
        self._by_key: dict[str, _ListenKey] = {}
        self._tokens: dict[str, _ListenToken] = {}
        self._subscriptions: dict[_Subscription, None] = {}
        self._failures: dict[tuple[FakeAccount, str], list[_KeepaliveFailure]] = {}
        self._rng = random.Random(f"trio-binance-fake-user-data-{settings.seed}")
        self._wakeup = trio.Event()
        for kind, path in LISTEN_KEY_PATHS.items():
            handler = self._listen_key_handler(kind)
            for method in ("POST", "PUT", "DELETE"):
                router.add(method, path, handler)
        router.add("POST", LISTEN_TOKEN_PATH, self._rest_listen_token)

    def __repr__(self) -> str:
        return f"<UserDataServer {len(self._accounts)} accounts>"

    # -------------------------------------------------------------- accounts

    def add_account(
        self, api_key: str, api_secret: str, *, password: bytes | None = None
    ) -> FakeAccount:
        if not isinstance(api_key, str) or not api_key or api_key.strip() != api_key:
            raise ValueError("api_key must be a non-empty string without surrounding blanks")
        if api_key in self._accounts:
            raise ValueError("an account with this api_key already exists")
        key_type, verify = load_verifier(api_secret, password)
        account = FakeAccount(self, len(self._accounts) + 1, api_key, key_type, verify)
        self._accounts[api_key] = account
        logger.debug("account #%d added (%s key)", account.number, key_type)
        return account

    def account(self, api_key: str) -> FakeAccount:
        try:
            return self._accounts[api_key]
        except KeyError:
            raise KeyError("no account with this api_key") from None

    # ----------------------------------------------------------- inspection

    def listen_key(self, api_key: str, kind: str) -> str | None:
        state = self._active_key(self.account(api_key), _check_kind_listen(kind))
        return None if state is None else state.key

    def user_connections(self, api_key: str, kind: str) -> list[FakeConnection]:
        state = self._active_key(self.account(api_key), _check_kind_listen(kind))
        if state is None:
            return []
        return [c for c in state.connections if c.is_open]

    def user_subscriptions(
        self, api_key: str | None = None, kind: str | None = None
    ) -> list[UserSubscription]:
        account = None if api_key is None else self.account(api_key)
        wanted = None if kind is None else _ws_kind(kind)
        self._expire_due()
        return [
            UserSubscription(
                connection=sub.session.conn,
                api_key=sub.account.api_key,
                subscription_id=sub.id,
                kind=sub.kind,
                method=sub.method,
                expiration_time=None if sub.token is None else sub.token.expiration_ms,
                created_at=sub.created_at,
            )
            for sub in self._subscriptions
            if (account is None or sub.account is account) and wanted in (None, sub.kind)
        ]

    # ------------------------------------------------------------- scripting

    def push_user_event(self, api_key: str, kind: str, event: Mapping[str, Any]) -> int:
        account = self.account(api_key)
        data = orjson.dumps(event).decode()
        delivered = 0
        if kind in LISTEN_KEY_KINDS:
            state = self._active_key(account, kind)
            if state is None:
                return 0
            for conn in list(state.connections):
                if conn._enqueue(data):
                    delivered += 1
            return delivered
        wanted = _ws_kind(kind)
        self._expire_due()
        for sub in list(self._subscriptions):
            if sub.account is account and sub.kind == wanted:
                frame = f'{{"subscriptionId":{sub.id},"event":{data}}}'
                if sub.session.conn._enqueue(frame):
                    delivered += 1
        return delivered

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
        account = self.account(api_key)
        _check_kind_listen(kind)
        if count < 1:
            raise ValueError("count must be at least 1")
        default_status, default_msg = _SCRIPTED.get(code, (400, "Scripted failure."))
        failure = _KeepaliveFailure(
            default_status if status is None else status,
            code,
            default_msg if msg is None else msg,
            count,
        )
        self._failures.setdefault((account, kind), []).append(failure)

    def expire_listen_key(self, api_key: str, kind: str) -> bool:
        state = self._active_key(self.account(api_key), _check_kind_listen(kind))
        if state is None:
            return False
        self._forget_key(state, notify=True, why="expired by the test")
        return True

    def terminate_user_streams(self, api_key: str, kind: str) -> int:
        account = self.account(api_key)
        wanted = _ws_kind(kind)
        doomed = [s for s in self._subscriptions if s.account is account and s.kind == wanted]
        for sub in doomed:
            self._terminate(sub)
        if doomed:
            self._registry.changed()
        return len(doomed)

    # ---------------------------------------------------------- connections

    def check_handshake(self, path: UserPath) -> str | None:
        """Why a user-data handshake must be refused (HTTP 400), or None to accept."""
        if path.service == "ws_api":
            return None
        state = self._by_key.get(path.listen_key or "")
        if state is None or state.kind != path.kind or not self._alive(state):
            return "invalid listen key"
        return None

    def attach(self, conn: FakeConnection, path: UserPath) -> None:
        """Serve an accepted user-data connection."""
        if path.service == "ws_api":
            session = _WsApiSession(self, conn)
            conn._handler = session.handle
            conn._close_callbacks.append(session.closed)
            return
        state = self._by_key.get(path.listen_key or "")
        if state is None or state.kind != path.kind or not self._alive(state):
            # The key lapsed during the handshake: the connection stays silent.
            logger.info("connection #%d: its listen key is gone; it stays silent", conn.id)
            return
        state.connections[conn] = None
        conn._close_callbacks.append(lambda c: state.connections.pop(c, None))
        logger.debug(
            "connection #%d: %s user data of account #%d", conn.id, state.kind, state.account.number
        )

    # ---------------------------------------------------------------- expiry

    async def run(self) -> None:
        """Expire listen keys and listen tokens on time (runs in the fake's nursery)."""
        while True:
            deadline = min(
                (
                    *(k.expires_at for k in self._listen_keys.values()),
                    *(t.expires_at for t in self._tokens.values()),
                ),
                default=math.inf,
            )
            with trio.move_on_at(deadline):
                await self._wakeup.wait()
            if self._wakeup.is_set():
                self._wakeup = trio.Event()
            self._expire_due()

    def _reschedule(self) -> None:
        self._wakeup.set()
        self._registry.changed()

    def _alive(self, state: _ListenKey) -> bool:
        return self._by_key.get(state.key) is state and state.expires_at > trio.current_time()

    def _active_key(self, account: FakeAccount, kind: str) -> _ListenKey | None:
        state = self._listen_keys.get((account, kind))
        if state is not None and state.expires_at <= trio.current_time():
            self._forget_key(state, notify=True, why="expired")
            return None
        return state

    def _expire_due(self) -> None:
        now = trio.current_time()
        for state in [k for k in self._listen_keys.values() if k.expires_at <= now]:
            self._forget_key(state, notify=True, why="expired")
        for token in [t for t in self._tokens.values() if t.expires_at <= now]:
            del self._tokens[token.token]
            doomed = [s for s in self._subscriptions if s.token is token]
            logger.info(
                "account #%d: %s listen token expired (%d subscriptions terminated)",
                token.account.number,
                token.kind,
                len(doomed),
            )
            for sub in doomed:
                self._terminate(sub)
            self._registry.changed()

    def _forget_key(self, state: _ListenKey, *, notify: bool, why: str) -> None:
        self._listen_keys.pop((state.account, state.kind), None)
        self._by_key.pop(state.key, None)
        conns = [c for c in state.connections if c.is_open]
        logger.info(
            "account #%d: %s listen key %s (%d connections)",
            state.account.number,
            state.kind,
            why,
            len(conns),
        )
        if notify:
            event = {"e": "listenKeyExpired", "E": self._now_ms(), "listenKey": state.key}
            for conn in conns:
                conn.send_json(event)
        state.connections.clear()
        self._reschedule()

    def _terminate(self, sub: _Subscription) -> None:
        self._subscriptions.pop(sub, None)
        sub.session.subs.pop(sub.id, None)
        sub.session.conn.send_json(
            {
                "subscriptionId": sub.id,
                "event": {"e": "eventStreamTerminated", "E": self._now_ms()},
            }
        )

    # ------------------------------------------------------------------ REST

    def _new_secret(self, length: int, taken: Mapping[str, object]) -> str:
        while True:
            value = "".join(self._rng.choices(_ALNUM, k=length))
            if value not in taken:
                return value

    def _rest_account(self, request: RestRequest) -> FakeAccount | RestResponse:
        api_key = request.headers.get("x-mbx-apikey", "")
        if not api_key:
            return _rest_error(_KEY_FORMAT)
        account = self._accounts.get(api_key)
        if account is None:
            return _rest_error(_INVALID_KEY)
        return account

    def _listen_key_handler(self, kind: str) -> RestHandler:
        def handler(request: RestRequest) -> RestResponse:
            account = self._rest_account(request)
            if isinstance(account, RestResponse):
                return account
            if request.method == "POST":
                return self._post_listen_key(account, kind)
            if request.method == "PUT":
                return self._put_listen_key(account, kind, request.params.get("listenKey"))
            return self._delete_listen_key(account, kind, request.params.get("listenKey"))

        return handler

    def _post_listen_key(self, account: FakeAccount, kind: str) -> RestResponse:
        validity = self._settings.listen_key_validity
        state = self._active_key(account, kind)
        if state is None:
            key = self._new_secret(60, self._by_key)
            state = _ListenKey(key, account, kind, trio.current_time() + validity)
            self._listen_keys[(account, kind)] = state
            self._by_key[key] = state
            logger.info("account #%d: %s listen key created", account.number, kind)
        else:
            state.expires_at = trio.current_time() + validity
            logger.info("account #%d: %s listen key re-posted (extended)", account.number, kind)
        self._reschedule()
        body: dict[str, object] = {"listenKey": state.key}
        if kind == "options":
            body["expiration"] = self._now_ms() + round(validity * 1000)
        return RestResponse(200, body)

    def _put_listen_key(self, account: FakeAccount, kind: str, given: str | None) -> RestResponse:
        failures = self._failures.get((account, kind), [])
        for failure in failures:
            if failure.remaining > 0:
                failure.remaining -= 1
                state = self._active_key(account, kind)
                if failure.code == -1125 and state is not None:
                    self._forget_key(state, notify=False, why="invalidated (scripted -1125)")
                logger.info(
                    "account #%d: %s keepalive fails as scripted (%d)",
                    account.number,
                    kind,
                    failure.code,
                )
                return binance_error(failure.status, failure.code, failure.msg)
        state = self._active_key(account, kind)
        if state is None or (given is not None and given != state.key):
            return _rest_error(_NO_LISTEN_KEY)
        state.expires_at = trio.current_time() + self._settings.listen_key_validity
        self._reschedule()
        logger.debug("account #%d: %s listen key kept alive", account.number, kind)
        return RestResponse(200, {"listenKey": state.key})

    def _delete_listen_key(
        self, account: FakeAccount, kind: str, given: str | None
    ) -> RestResponse:
        state = self._active_key(account, kind)
        if state is None or (given is not None and given != state.key):
            return _rest_error(_NO_LISTEN_KEY)
        self._forget_key(state, notify=False, why="deleted")
        return RestResponse(200, {})

    def check_signed(
        self,
        account: FakeAccount,
        params: Mapping[str, object],
        payload: str,
        signature: object,
    ) -> _Error | None:
        """Check ``timestamp``, ``recvWindow`` and the signature; None if all is well."""
        timestamp = _as_int(params.get("timestamp"))
        if timestamp is None:
            return _mandatory("timestamp")
        if not isinstance(signature, str) or not signature:
            return _mandatory("signature")
        window = _recv_window(params.get("recvWindow"))
        if isinstance(window, tuple):
            return window
        sent_ms = timestamp / 1000 if timestamp >= 10**14 else float(timestamp)  # µs or ms
        now = self._now_ms()
        if sent_ms >= now + 1000:
            return _AHEAD
        if now - sent_ms > window:
            return _OUTSIDE_WINDOW
        if not account.verify(payload, signature):
            return _BAD_SIGNATURE
        return None

    def _rest_listen_token(self, request: RestRequest) -> RestResponse:
        account = self._rest_account(request)
        if isinstance(account, RestResponse):
            return account
        params = request.params
        payload, signature = rest_signed_payload(request.query, request.body)
        error = self.check_signed(account, params, payload, signature)
        if error is not None:
            return _rest_error(error)
        isolated = params.get("isIsolated", "false").lower()
        if isolated not in ("true", "false"):
            return _rest_error(_invalid("isIsolated"))
        kind = "margin"
        if isolated == "true":
            symbol = params.get("symbol", "")
            if not symbol.isalnum():
                return _rest_error(_mandatory("symbol"))
            kind = f"isolated:{symbol.upper()}"
        validity_ms = round(self._settings.listen_token_validity * 1000)
        if "validity" in params:
            asked = _as_int(params["validity"])
            if asked is None or not 1 <= asked <= _MAX_TOKEN_VALIDITY_MS:
                return _rest_error(_invalid("validity"))
            validity_ms = min(validity_ms, asked)
        token = self._new_secret(64, self._tokens)
        expiration_ms = self._now_ms() + validity_ms
        self._tokens[token] = _ListenToken(
            token, account, kind, trio.current_time() + validity_ms / 1000, expiration_ms
        )
        self._reschedule()
        logger.info("account #%d: %s listen token issued", account.number, kind)
        return RestResponse(200, {"token": token, "expirationTime": expiration_ms})

    # ---------------------------------------------------------- WebSocket API

    def _subscribe(
        self,
        session: _WsApiSession,
        account: FakeAccount,
        kind: str,
        token: _ListenToken | None,
    ) -> _Subscription:
        sub = _Subscription(
            session=session,
            id=session.next_id,
            account=account,
            kind=kind,
            method="signature" if token is None else "listenToken",
            token=token,
            created_at=trio.current_time(),
        )
        session.next_id += 1
        session.subs[sub.id] = sub
        self._subscriptions[sub] = None
        logger.info(
            "connection #%d: %s subscription %d of account #%d",
            session.conn.id,
            kind,
            sub.id,
            account.number,
        )
        return sub

    def _live_token(self, token: str) -> _ListenToken | None:
        self._expire_due()
        return self._tokens.get(token)


def _unread(params: Mapping[str, object], allowed: frozenset[str]) -> _Error | None:
    if set(params) <= allowed:
        return None
    read = len(set(params) & allowed)
    return (
        400,
        -1104,
        f"Not all sent parameters were read; read '{read}' parameter(s)"
        f" but was sent '{len(params)}'.",
    )


_SIGNATURE_PARAMS: Final = frozenset({"apiKey", "timestamp", "signature", "recvWindow"})
_TOKEN_PARAMS: Final = frozenset({"listenToken"})
_UNSUBSCRIBE_PARAMS: Final = frozenset({"subscriptionId"})


@final
class _WsApiSession:
    """One WebSocket-API connection: its requests and subscriptions."""

    def __init__(self, server: UserDataServer, conn: FakeConnection) -> None:
        self.server = server
        self.conn = conn
        self.next_id = 0
        self.subs: dict[int, _Subscription] = {}

    def closed(self, conn: FakeConnection) -> None:
        for sub in self.subs.values():
            self.server._subscriptions.pop(sub, None)
        self.subs.clear()

    def _result(self, request_id: object, result: object) -> None:
        self.conn.send_json({"id": request_id, "status": 200, "result": result})

    def _error(self, request_id: object, error: _Error) -> None:
        status, code, msg = error
        self.conn.send_json(
            {"id": request_id, "status": status, "error": {"code": code, "msg": msg}}
        )

    def handle(self, message: Any) -> None:
        if message is NOT_JSON or not isinstance(message, dict):
            self._error(None, (400, -1135, "Invalid JSON Request"))
            return
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, (int, str, type(None))):
            self._error(None, (400, -1135, "JSON sent for parameter 'id' is not valid"))
            return
        method = message.get("method")
        if not isinstance(method, str) or not method:
            self._error(request_id, _mandatory("method"))
            return
        method = method.removeprefix("v3/")
        params = message.get("params")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self._error(request_id, (400, -1135, "JSON sent for parameter 'params' is not valid"))
            return
        outcome: object
        if method == "userDataStream.subscribe.signature":
            outcome = self._subscribe_signature(params)
        elif method == "userDataStream.subscribe.listenToken":
            outcome = self._subscribe_token(params)
        elif method == "userDataStream.unsubscribe":
            self._unsubscribe(request_id, params)
            return
        elif method == "session.subscriptions":
            outcome = _unread(params, frozenset()) or [
                {"subscriptionId": n} for n in sorted(self.subs)
            ]
        elif method == "ping":
            outcome = _unread(params, frozenset()) or {}
        elif method == "time":
            outcome = _unread(params, frozenset()) or {"serverTime": self.server._now_ms()}
        elif method == "userDataStream.subscribe":
            outcome = _NOT_LOGGED_ON
        else:
            outcome = _UNSUPPORTED
        if isinstance(outcome, tuple):
            self._error(request_id, outcome)
        else:
            self._result(request_id, outcome)

    def _subscribe_signature(self, params: dict[str, Any]) -> _Error | dict[str, object]:
        api_key = params.get("apiKey")
        if not isinstance(api_key, str) or not api_key:
            return _mandatory("apiKey")
        for name in ("timestamp", "signature"):
            if params.get(name) in (None, ""):
                return _mandatory(name)
        error = _unread(params, _SIGNATURE_PARAMS)
        if error is not None:
            return error
        server = self.server
        account = server._accounts.get(api_key)
        if account is None:
            return _INVALID_KEY
        error = server.check_signed(
            account, params, ws_api_payload(params), params.get("signature")
        )
        if error is not None:
            return error
        if any(s.account is account and s.kind == "spot" for s in self.subs.values()):
            return _SUBSCRIPTION_ACTIVE
        sub = server._subscribe(self, account, "spot", None)
        return {"subscriptionId": sub.id}

    def _subscribe_token(self, params: dict[str, Any]) -> _Error | dict[str, object]:
        value = params.get("listenToken")
        if not isinstance(value, str) or not value:
            return _mandatory("listenToken")
        error = _unread(params, _TOKEN_PARAMS)
        if error is not None:
            return error
        token = self.server._live_token(value)
        if token is None:
            return _INVALID_TOKEN
        sub = self.server._subscribe(self, token.account, token.kind, token)
        return {"subscriptionId": sub.id, "expirationTime": token.expiration_ms}

    def _unsubscribe(self, request_id: object, params: dict[str, Any]) -> None:
        error = _unread(params, _UNSUBSCRIBE_PARAMS)
        if error is not None:
            self._error(request_id, error)
            return
        if "subscriptionId" in params:
            wanted = _as_int(params["subscriptionId"])
            if wanted is None:
                self._error(request_id, _mandatory("subscriptionId"))
                return
            doomed = [self.subs[wanted]] if wanted in self.subs else []
        else:
            doomed = list(self.subs.values())
        self._result(request_id, {})
        for sub in doomed:
            self.server._terminate(sub)
