"""Received bytes in, messages out: the client side of the WebSocket framing, Sans-I/O.

websockets' protocol is the authority on the WebSocket protocol here: it parses every
control frame (ping, pong, close), every fragmented or binary message and every frame
it would refuse, and it keeps the connection's state.  Only the one frame shape that
carries nearly all of Binance's traffic is cut out before it: a complete, unmasked,
unfragmented text frame without extension bits, of at most ``max_size`` bytes, while
the protocol is open and between messages.  For that frame the protocol's work is a
no-op (no state changes, no reply), so skipping it changes nothing but the cost:
websockets' generator-based parser takes about 1.8 µs per frame on the benchmark
machine, this loop about 0.25 µs.  ``tests/test_frame_reader.py`` checks, on random
streams of every frame kind cut at random places, that both ways give the same
messages, the same replies and the same failures.

The first frame of any other shape switches to the protocol for exactly that frame's
bytes (as they arrive, so its size limit applies before the payload is buffered).
After a close frame or a protocol failure every later byte goes to the protocol.
"""

from __future__ import annotations

from typing import Final, cast, final

from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.protocol import State

__all__ = ["FrameReader"]

_PLAIN_TEXT: Final = 0x81  # FIN, no RSV bits, opcode 1 (text)
_OPCODE: Final = 0x0F
_FIN: Final = 0x80
_CONT, _TEXT, _BINARY = 0x0, 0x1, 0x2


@final
class FrameReader:
    """Splits the bytes of an open client connection into messages.

    :meth:`feed` returns, in stream order, the payload (a ``bytearray``) of every
    plain text message and websockets' :class:`~websockets.frames.Frame` for every
    other frame.  Replies the protocol wants sent (pongs, the close echo) are in
    ``protocol.data_to_send()`` afterwards, as usual.
    """

    __slots__ = ("_buffer", "_fragmented", "_max_size", "_owed", "_passthrough", "protocol")

    def __init__(self, protocol: ClientProtocol, max_size: int) -> None:
        self.protocol = protocol
        self._max_size = max_size
        self._buffer = bytearray()
        self._owed = 0  # bytes of the current frame that still go to the protocol
        self._fragmented = False  # inside a fragmented message (the protocol's)
        self._passthrough = False  # closing or failed: the protocol takes everything

    def feed(self, data: bytes | bytearray) -> list[bytearray | Frame]:
        """Take received bytes; return every message or frame they complete."""
        out: list[bytearray | Frame] = []
        if self._passthrough:
            self._give(data, out)
            return out
        buf = self._buffer
        buf += data
        pos = 0
        if self._owed:  # (a passthrough empties the buffer: the loop below ends at once)
            pos = self._to_protocol(buf, 0, self._owed, out)
        size = len(buf)
        max_size = self._max_size
        while size - pos >= 2:
            first = buf[pos]
            length = buf[pos + 1]
            if length < 126:
                head = 2
            elif length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            else:  # the mask bit is set: never from a server, and the protocol refuses it
                pos = self._to_protocol(buf, pos, size - pos, out)
                break
            end = pos + head + length
            if first == _PLAIN_TEXT and length <= max_size and not self._fragmented:
                if end > size:
                    break
                out.append(buf[pos + head : end])  # a copy
                pos = end
                continue
            opcode = first & _OPCODE
            if opcode in (_TEXT, _BINARY):
                self._fragmented = not first & _FIN
            elif opcode == _CONT and first & _FIN:
                self._fragmented = False
            pos = self._to_protocol(buf, pos, end - pos, out)
            if self._passthrough or self._owed:
                break
        del buf[:pos]
        return out

    def feed_eof(self) -> None:
        """The peer closed the stream: hand the protocol what is left, then the EOF."""
        protocol = self.protocol
        if self._buffer:
            protocol.receive_data(bytes(self._buffer))
            self._buffer.clear()
        protocol.receive_eof()

    def _to_protocol(
        self, buf: bytearray, pos: int, count: int, out: list[bytearray | Frame]
    ) -> int:
        """Give the protocol up to ``count`` bytes from ``pos``; return the new position."""
        available = min(count, len(buf) - pos)
        end = pos + available
        self._give(bytes(buf[pos:end]), out)
        self._owed = count - available
        if self.protocol.state is not State.OPEN:
            # Closing (or failed): from here on every byte is the protocol's.
            self._passthrough = True
            rest = bytes(buf[end:])
            buf.clear()
            self._owed = 0
            if rest:
                self._give(rest, out)
            return 0
        return end

    def _give(self, data: bytes | bytearray, out: list[bytearray | Frame]) -> None:
        """The protocol parses ``data``; what it completes joins ``out``."""
        self.protocol.receive_data(data)
        # After the handshake the protocol produces nothing but frames.
        out.extend(cast("list[Frame]", self.protocol.events_received()))
