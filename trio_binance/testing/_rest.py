"""The fake exchange's REST side: a small router, served to httpx or over HTTP/1.1.

Handlers are plain functions from :class:`RestRequest` to :class:`RestResponse`,
registered per method and path with :meth:`RestRouter.add`.  The same router
answers in memory (:class:`RestTransport`, an ``httpx.AsyncBaseTransport``) and
on the fake's TCP listener (:func:`serve_http`, HTTP/1.1 through h11).  Every
request is recorded, and failures can be scripted with :meth:`RestRouter.reject`.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, final

import h11
import httpx
import orjson
import trio

from ._routing import redact

__all__ = [
    "RestHandler",
    "RestRequest",
    "RestResponse",
    "RestRouter",
    "RestTransport",
    "binance_error",
    "serve_http",
]

logger = logging.getLogger(__name__)

_MAX_BODY = 1 << 20


@final
@dataclasses.dataclass(frozen=True)
class RestRequest:
    """One REST request the fake received.

    Attributes:
        time: ``trio.current_time()`` when it arrived.
        method: HTTP method, uppercase.
        path: URL path, e.g. ``"/api/v3/depth"``.
        params: Query parameters, plus form-encoded body parameters (last wins).
        headers: Request headers, names lowercased.
        body: The raw body.
        query: The raw query string as sent (percent-encoded, no ``?``): what a
            signed request's signature covers, together with ``body``.
    """

    time: float
    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    query: str = ""


@final
@dataclasses.dataclass(frozen=True)
class RestResponse:
    """What a handler answers: a status, a JSON body and extra headers."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def content(self) -> bytes:
        """The body, JSON-encoded (empty for ``None``)."""
        return b"" if self.body is None else orjson.dumps(self.body)


RestHandler = Callable[[RestRequest], RestResponse]


def binance_error(status: int, code: int, msg: str) -> RestResponse:
    """A Binance-style error response ``{"code": code, "msg": msg}``."""
    return RestResponse(status, {"code": code, "msg": msg})


_DEFAULT_REJECT_BODIES: dict[int, tuple[int, str]] = {
    418: (-1003, "Way too much request weight used; IP banned."),
    429: (-1003, "Too much request weight used; please use WebSocket Streams for live updates."),
}


@dataclasses.dataclass
class _Scripted:
    response: RestResponse
    remaining: int
    path: str | None


@final
class RestRouter:
    """Routes REST requests to handlers by ``(method, path)``.

    Attributes:
        requests: Every request received, in order (scripted rejections included).
    """

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], RestHandler] = {}
        self._scripted: list[_Scripted] = []
        self.requests: list[RestRequest] = []
        self.on_request: Callable[[], None] | None = None

    def add(self, method: str, path: str, handler: RestHandler) -> None:
        """Serve ``method path`` with ``handler`` (replacing any earlier handler)."""
        self._routes[(method.upper(), path)] = handler

    def reject(
        self,
        status: int,
        count: int = 1,
        *,
        path: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests (to ``path``, or any) with ``status``.

        Args:
            status: The HTTP status, e.g. 429, 418 or 503.
            count: How many requests to reject.
            path: Only requests to this path; None for any.
            body: The JSON body; by default a Binance error object.
            headers: Extra headers, e.g. ``{"Retry-After": "30"}``.
        """
        if body is None:
            code, msg = _DEFAULT_REJECT_BODIES.get(status, (-1000, "Scripted failure."))
            body = {"code": code, "msg": msg}
        response = RestResponse(status, body, dict(headers or {}))
        self._scripted.append(_Scripted(response, count, path))

    def handle(self, request: RestRequest) -> RestResponse:
        """Answer one request (scripted rejections first, then the routes)."""
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request()
        for scripted in self._scripted:
            if scripted.remaining > 0 and scripted.path in (None, request.path):
                scripted.remaining -= 1
                return scripted.response
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            if any(path == request.path for _, path in self._routes):
                return binance_error(405, -1000, f"Method {request.method} not allowed.")
            logger.info("REST %s %s: not served by the fake", request.method, redact(request.path))
            return binance_error(404, -1000, f"Path {request.path} is not served by the fake.")
        try:
            return handler(request)
        except Exception:
            logger.exception("REST handler for %s %s failed", request.method, redact(request.path))
            return binance_error(500, -1000, "An unknown error occurred in the fake exchange.")


def make_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> RestRequest:
    """Build a :class:`RestRequest`, merging a form-encoded body into ``params``."""
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    lowered = {k.lower(): v for k, v in headers.items()}
    if body and lowered.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return RestRequest(trio.current_time(), method.upper(), path, params, lowered, body, query)


def _response_headers(response: RestResponse, content: bytes) -> list[tuple[str, str]]:
    return [
        ("content-type", "application/json;charset=UTF-8"),
        ("content-length", str(len(content))),
        *response.headers.items(),
    ]


@final
class RestTransport(httpx.AsyncBaseTransport):
    """An httpx transport that answers from a :class:`RestRouter`, in memory."""

    def __init__(self, router: RestRouter) -> None:
        self._router = router

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        rest = make_request(
            request.method,
            request.url.path,
            request.url.query.decode("ascii"),
            dict(request.headers),
            body,
        )
        await trio.lowlevel.checkpoint()
        response = self._router.handle(rest)
        content = response.content()
        return httpx.Response(
            response.status, headers=_response_headers(response, content), content=content
        )


async def _next_event(connection: h11.Connection, stream: trio.abc.Stream) -> object:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(bytes(await stream.receive_some()))
            continue
        return event


async def serve_http(stream: trio.abc.Stream, prefix: bytes, router: RestRouter) -> None:
    """Serve HTTP/1.1 requests on ``stream`` (``prefix`` = bytes already read) until it closes."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    connection.receive_data(prefix)
    try:
        while True:
            event = await _next_event(connection, stream)
            if not isinstance(event, h11.Request):
                return
            body = bytearray()
            while True:
                part = await _next_event(connection, stream)
                if isinstance(part, h11.Data):
                    body += part.data
                    if len(body) > _MAX_BODY:
                        return
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            target = event.target.decode("ascii")
            path, _, query = target.partition("?")
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
            response = router.handle(
                make_request(event.method.decode("ascii"), path, query, headers, bytes(body))
            )
            content = response.content()
            head = h11.Response(
                status_code=response.status, headers=_response_headers(response, content)
            )
            for item in (head, h11.Data(data=content), h11.EndOfMessage()):
                data = connection.send(item)
                if data:
                    await stream.send_all(data)
            if h11.MUST_CLOSE in (connection.our_state, connection.their_state):
                return
            connection.start_next_cycle()
    except h11.ProtocolError as exc:
        logger.info("HTTP protocol error from a client: %s", exc)
