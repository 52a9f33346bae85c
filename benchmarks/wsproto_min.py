"""The few WebSocket pieces the benchmark server needs: handshake and client frames.

Hand-written on purpose: the server must cost next to nothing per message, and only
ever parses the handful of small frames a client sends (SUBSCRIBE, ping, close).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

__all__ = ["ClientFrame", "FrameReader", "Request", "handshake_response", "parse_request"]

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA


@dataclass(frozen=True)
class Request:
    """The opening handshake of one client."""

    path: str
    key: str
    streams: tuple[str, ...]  # named in the URL (``/stream?streams=a/b``), if any


def parse_request(head: bytes) -> Request:
    """Parse the HTTP request head (up to, not including, the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    if method != "GET":
        raise ValueError(f"not a WebSocket request: {lines[0]!r}")
    key = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    split = urlsplit(target)
    streams: list[str] = []
    for value in parse_qs(split.query).get("streams", []):
        streams.extend(name for name in value.split("/") if name)
    if not streams and "/ws/" in split.path:
        streams = [name for name in split.path.split("/ws/", 1)[1].split("/") if name]
    return Request(path=split.path, key=key, streams=tuple(streams))


def handshake_response(key: str) -> bytes:
    accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


@dataclass(frozen=True)
class ClientFrame:
    opcode: int
    fin: bool
    payload: bytes


def _unmask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if not n:
        return payload
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class FrameReader:
    """Incremental parser of (masked) client frames."""

    def __init__(self, initial: bytes = b"") -> None:
        self._buffer = bytearray(initial)

    def feed(self, data: bytes) -> list[ClientFrame]:
        self._buffer += data
        frames: list[ClientFrame] = []
        buf = self._buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if len(buf) < 4:
                    break
                length = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length = int.from_bytes(buf[2:10], "big")
                pos = 10
            masked = bool(b1 & 0x80)
            mask = b""
            if masked:
                if len(buf) < pos + 4:
                    break
                mask = bytes(buf[pos : pos + 4])
                pos += 4
            if len(buf) < pos + length:
                break
            payload = bytes(buf[pos : pos + length])
            del buf[: pos + length]
            if masked:
                payload = _unmask(payload, mask)
            frames.append(ClientFrame(opcode=b0 & 0x0F, fin=bool(b0 & 0x80), payload=payload))
        return frames
