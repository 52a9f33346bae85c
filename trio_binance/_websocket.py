"""The client WebSocket: websockets' Sans-I/O protocol driven by a thin Trio loop.

Why not trio-websocket here: its reader task hands every message to the consumer
through a memory channel (a scheduler round trip per message) and parses frames with
wsproto, which caps one connection near 18,000 messages/s on our benchmark machine.
This module reads a bounded chunk of bytes, lets the :class:`FrameReader` turn it into
messages (plain text frames cut out, everything else parsed by websockets' protocol),
answers pings at once, and returns the whole batch to the caller, which dispatches
it without awaiting in between.

Only what the library needs is here: connect (with a status-aware handshake error),
read a batch of frames, send text, ping, close.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Final, final

import trio
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from ._frame_reader import FrameReader
from ._transport import Transport
from ._version import __version__

__all__ = ["HandshakeRejected", "WebSocket", "WebSocketClosed", "open_websocket"]

logger = logging.getLogger("trio_binance.websocket")

USER_AGENT: Final = f"trio-binance-streams/{__version__}"
# websockets logs handshake paths at DEBUG; user-data paths carry listen keys, so
# the protocol gets a logger that never emits (ours log what is safe to log).
_SILENT = logging.Logger("trio_binance.websocket.protocol", level=logging.CRITICAL + 10)
ABNORMAL_CLOSURE: Final = 1006
# A 101 response is a few hundred bytes; websockets' own limits are larger, but a
# head this long without its blank line is no WebSocket server.
_MAX_RESPONSE_HEAD: Final = 65536


class WebSocketClosed(Exception):
    """The connection is closed; ``code`` is the close code (1006 when none was received)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class HandshakeRejected(Exception):
    """The server answered the opening handshake with an HTTP status other than 101."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"handshake rejected with HTTP status {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@final
class WebSocket:
    """One open client WebSocket connection.

    Not safe for concurrent ``read_frames`` calls; sends from several tasks are
    serialised by an internal lock.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        reader: FrameReader,
        *,
        read_size: int,
        leftover: list[bytearray | Frame],
    ) -> None:
        self._stream = stream
        self._reader = reader
        self._proto = reader.protocol
        self._read_size = read_size
        self._leftover = leftover
        self._send_lock = trio.StrictFIFOLock()
        self._closed: WebSocketClosed | None = None
        # Our SocketStream can read without a checkpoint; other streams cannot.
        self._receive_nowait: Callable[[int], bytes] | None = getattr(
            stream, "receive_some_nowait", None
        )
        self.bytes_received = 0
        self.more_waiting = False  # the last read filled its buffer: more has arrived

    @property
    def closed(self) -> bool:
        """True once the connection can no longer carry messages."""
        return self._closed is not None or self._proto.state is not State.OPEN

    def _close_error(self) -> WebSocketClosed:
        if self._closed is None:
            rcvd = self._proto.close_rcvd
            sent = self._proto.close_sent
            if rcvd is not None:
                self._closed = WebSocketClosed(int(rcvd.code), rcvd.reason)
            elif sent is not None:
                self._closed = WebSocketClosed(int(sent.code), sent.reason)
            else:
                self._closed = WebSocketClosed(ABNORMAL_CLOSURE)
        return self._closed

    async def read_frames(self, *, checkpointed: bool = False) -> Sequence[bytearray | Frame]:
        """Read one chunk of bytes and return every message or frame completed by it.

        A plain text message comes as its payload (a ``bytearray``), any other frame as
        websockets' ``Frame`` (see :class:`FrameReader`).  Pings are answered before
        this returns.  A close frame, when received, is the last frame returned; the
        call after it raises :class:`WebSocketClosed`.

        Args:
            checkpointed: The caller has just passed a checkpoint: bytes that have
                already arrived are read without another one.

        Raises:
            WebSocketClosed: The connection is closed (by either side or by the network).
        """
        if self._leftover:
            leftover, self._leftover = self._leftover, []
            return leftover
        if self._closed is not None or self._proto.state is not State.OPEN:
            await trio.lowlevel.checkpoint()
            raise self._close_error()
        size = self._read_size
        try:
            data: bytes | bytearray | None = None
            if checkpointed and self._receive_nowait is not None:
                try:
                    data = self._receive_nowait(size)
                except trio.WouldBlock:
                    pass
            if data is None:
                data = await self._stream.receive_some(size)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._closed = WebSocketClosed(ABNORMAL_CLOSURE, type(exc).__name__)
            raise self._closed from exc
        self.more_waiting = len(data) >= size
        proto = self._proto
        if data:
            self.bytes_received += len(data)
            frames = self._reader.feed(data)
        else:
            self._reader.feed_eof()
            frames = []
        replies = proto.data_to_send()  # pong, close: rare, so no await when empty
        if replies:
            await self._send(replies)
        if not frames and proto.state is not State.OPEN:
            raise self._close_error()
        return frames

    async def _flush(self) -> None:
        chunks = self._proto.data_to_send()
        if chunks:
            await self._send(chunks)
        else:
            await trio.lowlevel.checkpoint()

    async def _send(self, chunks: list[bytes]) -> None:
        # Taking the bytes before queueing for the FIFO lock keeps them in protocol
        # order; the lock is not touched when it is free (no scheduler round trip).
        lock = self._send_lock
        try:
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            for chunk in chunks:
                if chunk:  # b"" marks the end of the stream
                    await self._stream.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._closed = WebSocketClosed(ABNORMAL_CLOSURE, type(exc).__name__)
            raise self._closed from exc
        finally:
            lock.release()

    async def send_text(self, data: bytes) -> None:
        """Send one text message (already UTF-8 encoded JSON).

        Raises:
            WebSocketClosed: The connection is closed.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            raise self._close_error()
        self._proto.send_text(data)
        await self._flush()

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping frame; its pong shows up among the frames read later."""
        if self.closed:
            await trio.lowlevel.checkpoint()
            raise self._close_error()
        self._proto.send_ping(payload)
        await self._flush()

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame if still open, then close the transport.

        Bounded and safe to call more than once or while cancelled: the caller is
        expected to shield it with a timeout.
        """
        if self._proto.state is State.OPEN:
            self._proto.send_close(code, reason)
            try:
                with trio.move_on_after(1.0):
                    await self._flush()
            except WebSocketClosed:
                pass
        if self._closed is None:
            self._closed = WebSocketClosed(code, reason)
        await trio.aclose_forcefully(self._stream)


async def open_websocket(
    transport: Transport,
    url: str,
    *,
    max_message_size: int,
    read_size: int = 16384,
) -> WebSocket:
    """Open a client WebSocket to ``url`` through ``transport``.

    The caller bounds the whole call with a timeout (connect plus handshake).

    Raises:
        HandshakeRejected: The server answered with a non-101 HTTP status.
        WebSocketClosed: The connection dropped during the handshake.
        OSError: The transport could not connect.
    """
    uri = parse_uri(url)
    stream = await transport.open_stream(uri.host, uri.port, tls=uri.secure)
    try:
        proto = ClientProtocol(uri, max_size=max_message_size, logger=_SILENT)
        request = proto.connect()
        request.headers["User-Agent"] = USER_AGENT
        proto.send_request(request)
        for chunk in proto.data_to_send():
            await stream.send_all(chunk)
        # The protocol gets the response head alone: the bytes after it (frames the
        # server sent at once) are the FrameReader's, which must start on a frame.
        head = bytearray()
        after_head: bytes | None = None
        while True:
            try:
                data = await stream.receive_some(read_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise WebSocketClosed(ABNORMAL_CLOSURE, "dropped during handshake") from exc
            if not data:
                proto.receive_eof()
            elif after_head is None:
                scan_from = max(0, len(head) - 3)
                head += data
                end = head.find(b"\r\n\r\n", scan_from)
                if end >= 0:
                    after_head = bytes(head[end + 4 :])
                    proto.receive_data(bytes(head[: end + 4]))
                    if proto.state is not State.OPEN:  # a refusal: its body is the protocol's
                        proto.receive_data(after_head)
                        after_head = b""
                elif len(head) > _MAX_RESPONSE_HEAD:
                    raise WebSocketClosed(ABNORMAL_CLOSURE, "handshake response too large")
            else:
                proto.receive_data(data)
            for event in proto.events_received():
                if isinstance(event, Response):
                    if proto.state is State.OPEN:
                        reader = FrameReader(proto, max_message_size)
                        leftover = reader.feed(after_head) if after_head else []
                        return WebSocket(stream, reader, read_size=read_size, leftover=leftover)
                    failure = proto.handshake_exc
                    if isinstance(failure, InvalidStatus):
                        raise HandshakeRejected(
                            failure.response.status_code, _retry_after(failure.response)
                        )
                    raise WebSocketClosed(ABNORMAL_CLOSURE, f"handshake failed: {failure}")
            if not data:
                raise WebSocketClosed(ABNORMAL_CLOSURE, "dropped during handshake")
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise


TEXT: Final = Opcode.TEXT
BINARY: Final = Opcode.BINARY
CONT: Final = Opcode.CONT
CLOSE: Final = Opcode.CLOSE
PING: Final = Opcode.PING
PONG: Final = Opcode.PONG
