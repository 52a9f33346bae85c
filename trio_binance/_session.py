"""What a connection speaks on each link: the session, plugged in by composition.

A :class:`~trio_binance._connection.Connection` supervises links (connect, back
off, rotate, watch for silence) and moves their frames to its router.  What the
URL is, what to send on a new link and what the messages that are not stream
events mean depends on the kind of connection, so it is a :class:`Session`:

* :class:`MarketSession`: combined market streams, subscribed and unsubscribed
  live with ``SUBSCRIBE``/``UNSUBSCRIBE`` to match the router's streams;
* ``ListenKeySession`` and ``WsApiSession`` (:mod:`trio_binance._user_data`): user
  data, with credentials kept alive.

A session sees its connection only through :class:`Owner`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import trio

from ._link import Link, LinkBroken
from ._protocol import control_error, encode_request
from ._router import SUBSCRIBE, Answer, RoutedStream, Router
from ._settings import Settings
from ._signal import Signal
from ._websocket import WebSocketClosed

__all__ = ["MarketSession", "Owner", "Session"]

logger = logging.getLogger("trio_binance")


class Owner(Protocol):
    """What a session sees of its connection."""

    @property
    def name(self) -> str: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def router(self) -> Router: ...

    @property
    def links(self) -> list[Link]: ...

    @property
    def changed(self) -> Signal:
        """Fired when streams or links change (what a session waits on)."""
        ...

    @property
    def switched(self) -> Signal:
        """Fired when a link confirmed streams (what a rotation waits on)."""
        ...

    def next_request_id(self) -> int: ...

    def fail(self, error: BaseException) -> None:
        """Stop the connection; every handle raises ``error`` after its buffer."""

    def malformed(self, link: Link, what: str) -> None:
        """Count and log a message that means nothing here."""

    def refused(self, stream: RoutedStream, code: int | None, msg: str) -> None:
        """The server refused ``stream``: fail its handles."""


class Session(Protocol):
    """The kind-specific part of a connection."""

    async def url(self, owner: Owner) -> str:
        """The URL to dial for the next link (a listen-key stream makes a key first)."""
        ...

    async def serve(self, owner: Owner, link: Link) -> None:
        """Runs beside the link's reader for the link's lifetime."""
        ...

    def on_message(self, owner: Owner, link: Link, msg: dict[str, Any], now: float) -> None:
        """A JSON object that is neither a stream's event nor an expected answer."""
        ...

    def connect_failed(self, owner: Owner, exc: BaseException) -> None:
        """A connection attempt failed with ``exc``."""
        ...

    def barrier(self, request_id: int) -> bytes | None:
        """A request the server answers in order (for rotations), or ``None``."""
        ...

    async def background(self, owner: Owner) -> None:
        """Runs beside the connection's supervisor for its lifetime (keep-alives)."""
        ...


class MarketSession:
    """Combined market streams on ``<route>/stream``, subscribed live."""

    def __init__(self, url: str) -> None:
        self._url = url

    def __repr__(self) -> str:
        return f"MarketSession({self._url!r})"

    async def url(self, owner: Owner) -> str:
        await trio.lowlevel.checkpoint()
        return self._url

    async def background(self, owner: Owner) -> None:
        await trio.lowlevel.checkpoint()

    def connect_failed(self, owner: Owner, exc: BaseException) -> None:
        pass

    def barrier(self, request_id: int) -> bytes:
        return encode_request("LIST_SUBSCRIPTIONS", None, request_id)

    async def serve(self, owner: Owner, link: Link) -> None:
        """Make the link's subscriptions match the router's streams, forever."""
        router, state, settings = owner.router, link.state, owner.settings
        try:
            while True:
                event = owner.changed.event
                request = router.next_request(state, settings.subscribe_batch)
                if request is None:
                    await event.wait()
                    continue
                method, names = request
                request_id = owner.next_request_id()
                router.request_sent(state, request_id, method, names)
                answers: list[Answer] = []

                def on_answer(
                    msg: dict[str, Any],
                    now: float,
                    request_id: int = request_id,
                    answers: list[Answer] = answers,
                ) -> None:
                    # In the reader, where the answer arrived: before the data behind it.
                    answer = router.answered(state, request_id, control_error(msg), now)
                    if answer is not None:
                        answers.append(answer)

                frame = encode_request(method, names, request_id)
                await link.request(
                    request_id,
                    frame,
                    what=method,
                    answer_within=settings.request_timeout,
                    on_answer=on_answer,
                )
                owner.switched.fire()
                for answer in answers:
                    _report(owner, answer)
        except (WebSocketClosed, LinkBroken) as exc:
            link.kill(str(exc))

    def on_message(self, owner: Owner, link: Link, msg: dict[str, Any], now: float) -> None:
        stream = msg.get("stream")
        data = msg.get("data") if stream is not None else msg
        if isinstance(data, dict) and data.get("e") == "serverShutdown":
            owner.router.control += 1
            logger.info("%s: serverShutdown received on link %d", owner.name, link.number)
            link.shutdown_notice = True
            owner.changed.fire()
        elif stream is not None:
            owner.router.not_subscribed += 1  # a stream nobody asked for on this link
        elif "id" in msg and ("result" in msg or "error" in msg):
            owner.router.control += 1  # an answer that came after we gave up on it
        else:
            owner.malformed(link, "an unrecognised message")


def _report(owner: Owner, answer: Answer) -> None:
    if answer.error is None:
        return
    code, msg = answer.error
    if answer.method != SUBSCRIBE:
        logger.warning("%s: %s refused: %s", owner.name, answer.method, msg)
    elif answer.rejected:
        for stream in answer.rejected:
            logger.warning("%s: Binance refused %r: %s", owner.name, stream.name, msg)
            owner.refused(stream, code, msg)
    else:
        logger.info(
            "%s: SUBSCRIBE of %d streams refused (%s); asking for each alone",
            owner.name,
            len(answer.names),
            msg,
        )
