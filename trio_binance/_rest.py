"""The few REST calls the library needs, through one injectable ``httpx.AsyncClient``.

Order-book snapshots (public, per product).  Listen keys (USD-M, COIN-M, portfolio
margin, options): create with POST, keep alive with PUT, both with the API-key header
only.  Margin listen tokens: POST
``/sapi/v1/userListenToken``, signed.  Server time, to recover from clock skew
(``-1021``).  Errors with Binance's ``{"code", "msg"}`` body become
:class:`BinanceAPIError`, with the ``Retry-After`` header's wait; nothing here
ever puts a key, token or secret in a message.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import math
import time
from typing import Any, Final, final

import httpx
import trio

from ._endpoints import Endpoints, Product
from ._exceptions import BinanceAPIError, BinanceStreamError
from ._network import network_errors
from ._order_book import Snapshot, parse_snapshot
from ._signing import Signer, rest_payload

__all__ = [
    "DEPTH_PATHS",
    "LISTEN_KEY_PATHS",
    "BinanceAPIError",
    "RestClient",
    "WallClock",
    "fetch_depth_snapshot",
    "parse_retry_after",
]

logger = logging.getLogger("trio_binance")

#: Listen-key REST path of each account kind (base URL field, path).
LISTEN_KEY_PATHS: Final = {
    "usdm": ("usdm_rest", "/fapi/v1/listenKey"),
    "coinm": ("coinm_rest", "/dapi/v1/listenKey"),
    "pm": ("pm_rest", "/papi/v1/listenKey"),
    "options": ("options_rest", "/eapi/v1/listenKey"),
}
#: Server-time endpoint of each API, for clock-skew recovery.
TIME_PATHS: Final = {
    "spot": ("spot_rest", "/api/v3/time"),
    "usdm": ("usdm_rest", "/fapi/v1/time"),
    "coinm": ("coinm_rest", "/dapi/v1/time"),
    "pm": ("usdm_rest", "/fapi/v1/time"),
    "options": ("options_rest", "/eapi/v1/time"),
}
#: Order-book snapshot endpoint of each product (base URL field, path).
DEPTH_PATHS: Final = {
    Product.SPOT: ("spot_rest", "/api/v3/depth"),
    Product.USDM: ("usdm_rest", "/fapi/v1/depth"),
    Product.COINM: ("coinm_rest", "/dapi/v1/depth"),
    Product.OPTIONS: ("options_rest", "/eapi/v1/depth"),
}
LISTEN_TOKEN_PATH: Final = "/sapi/v1/userListenToken"
# UNCONFIRMED whether Binance requires a signature here; python-binance signs it.
LISTEN_TOKEN_SIGNED: Final = True
TIMESTAMP_OUTSIDE_RECV_WINDOW: Final = -1021
LISTEN_KEY_DOES_NOT_EXIST: Final = -1125


@final
class WallClock:
    """Binance-time in milliseconds: wall time advanced by the Trio clock, plus an offset.

    Advancing with ``trio.current_time()`` keeps signatures consistent with a fake
    exchange under a fake clock; the offset, learned from the server after a
    ``-1021``, absorbs clock skew.
    """

    def __init__(self) -> None:
        self._wall_at_start = time.time() * 1000
        self._trio_at_start: float | None = None
        self.offset_ms = 0.0

    def now_ms(self) -> int:
        now = trio.current_time()
        if self._trio_at_start is None:
            self._trio_at_start = now
        return int(self._wall_at_start + (now - self._trio_at_start) * 1000 + self.offset_ms)

    def sync(self, server_time_ms: int) -> None:
        self.offset_ms += server_time_ms - self.now_ms()


class RestClient:
    """Binance REST calls for user data, over an ``httpx.AsyncClient`` we do not own."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: Endpoints,
        *,
        api_key: str | None,
        signer: Signer | None,
        clock: WallClock,
        recv_window: int = 5000,
    ) -> None:
        self._http = http
        self._endpoints = endpoints
        self._api_key = api_key
        self._signer = signer
        self.clock = clock
        self._recv_window = recv_window

    def __repr__(self) -> str:
        return "<RestClient api_key=<redacted>>"

    def _headers(self) -> dict[str, str]:
        if not self._api_key:
            raise BinanceStreamError("an api_key is required for user-data streams")
        return {"X-MBX-APIKEY": self._api_key}

    async def _call(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        *,
        signed: bool,
        api: str = "spot",
    ) -> Any:
        for attempt in (1, 2):
            query = dict(params or {})
            if signed:
                if self._signer is None:
                    raise BinanceStreamError("an api_secret is required to sign this request")
                query["timestamp"] = self.clock.now_ms()
                query["recvWindow"] = self._recv_window
                query["signature"] = self._signer.sign(rest_payload(query))
            with network_errors(f"{method} {_path(url)}"):
                response = await self._http.request(
                    method,
                    url,
                    params=rest_payload(query) if query else None,
                    headers=self._headers(),
                )
            if response.is_success:
                return response.json() if response.content else {}
            error = _api_error(response)
            if signed and attempt == 1 and error.code == TIMESTAMP_OUTSIDE_RECV_WINDOW:
                logger.warning(
                    "clock skew reported by Binance (-1021); syncing time with the server"
                )
                await self.sync_time(api)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def sync_time(self, api: str = "spot") -> None:
        """Learn the server's clock from ``/time`` of ``api`` (a key of ``TIME_PATHS``)."""
        field, path = TIME_PATHS[api]
        with network_errors(f"GET {path}"):
            response = await self._http.get(getattr(self._endpoints, field) + path)
        if not response.is_success:
            raise _api_error(response)
        self.clock.sync(int(response.json()["serverTime"]))

    async def create_listen_key(self, kind: str) -> str:
        """POST a listen key for ``kind`` (``usdm``, ``coinm``, ``pm``, ``options``)."""
        field, path = LISTEN_KEY_PATHS[kind]
        body = await self._call("POST", getattr(self._endpoints, field) + path, signed=False)
        return str(body["listenKey"])

    async def keepalive_listen_key(self, kind: str) -> None:
        """PUT the account's listen key to extend it by 60 minutes (the key is implied by
        the API key, so it never travels in a URL that an HTTP log could show)."""
        field, path = LISTEN_KEY_PATHS[kind]
        await self._call("PUT", getattr(self._endpoints, field) + path, signed=False)

    async def create_listen_token(self, *, symbol: str | None) -> tuple[str, int]:
        """POST a margin listen token; returns ``(token, expiration_time_ms)``."""
        params: dict[str, object] = {}
        if symbol is not None:
            params = {"isIsolated": "true", "symbol": symbol}
        body = await self._call(
            "POST",
            self._endpoints.spot_rest + LISTEN_TOKEN_PATH,
            params,
            signed=LISTEN_TOKEN_SIGNED,
        )
        return str(body["token"]), int(body["expirationTime"])


async def fetch_depth_snapshot(
    http: httpx.AsyncClient, endpoints: Endpoints, product: Product, symbol: str, limit: int
) -> Snapshot:
    """GET the order-book snapshot of ``symbol`` (public: no key, no signature).

    Raises:
        BinanceAPIError: Binance answered with an error status.
        NetworkError: The request failed on the network or timed out.
        ValueError: The answer is not a snapshot (see :func:`parse_snapshot`).
    """
    field, path = DEPTH_PATHS[product]
    url = getattr(endpoints, field) + path
    with network_errors(f"GET {path}"):
        response = await http.get(url, params={"symbol": symbol, "limit": str(limit)})
    if not response.is_success:
        raise _api_error(response)
    return parse_snapshot(response.json())


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` value, or ``None``.

    Binance sends whole seconds; the HTTP-date form is understood too (relative to
    ``now``, wall-clock seconds, ``time.time()`` by default).  Anything else, or a
    negative or non-finite number, is ignored (``None``): the caller's own backoff
    applies.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _api_error(response: httpx.Response) -> BinanceAPIError:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        return BinanceAPIError(
            response.status_code,
            code if isinstance(code, int) else None,
            str(body.get("msg", "")),
            retry_after=retry_after,
        )
    return BinanceAPIError(
        response.status_code, None, response.reason_phrase or "error", retry_after=retry_after
    )


def _path(url: str) -> str:
    """The path of ``url``, for messages (no host, no query)."""
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
