"""The opening handshake hands the frame reader a frame boundary, however bytes arrive.

A scripted server answers the client's request with bytes cut at chosen places: the
101 response and the first frames in one read, the response's blank line split
across reads, a refusal whose body comes later.  The client must see every message
that followed the response, in order, and the status of every refusal.
"""

from __future__ import annotations

import httpx
import orjson
import pytest
import trio
from websockets.http11 import Request
from websockets.server import ServerProtocol

from trio_binance._websocket import HandshakeRejected, WebSocketClosed, open_websocket

from .test_frame_reader import raw_frame

LIMIT = 5.0


class ScriptedStream(trio.abc.Stream):
    """Answers the request with ``answer(request_bytes)``, delivered in ``sizes`` pieces."""

    def __init__(self, answer: bytes | None, sizes: list[int], *, accept: bool) -> None:
        self._answer = answer
        self._accept = accept
        self._sizes = list(sizes)
        self._out = bytearray()
        self._got_request = trio.Event()
        self._eof = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        if self._got_request.is_set():
            return  # frames from the client (close): not looked at
        server = ServerProtocol()
        server.receive_data(bytes(data))
        (request,) = server.events_received()
        assert isinstance(request, Request)
        if self._accept:
            server.send_response(server.accept(request))
            self._out += b"".join(server.data_to_send())
        if self._answer is not None:
            self._out += self._answer
        self._got_request.set()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await self._got_request.wait()
        if not self._out:
            self._eof = True
            return b""
        size = self._sizes.pop(0) if self._sizes else len(self._out)
        size = min(size, max_bytes or size)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class ScriptedTransport:
    def __init__(self, stream: ScriptedStream) -> None:
        self.stream = stream

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        await trio.lowlevel.checkpoint()
        return self.stream

    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        return None


MESSAGES = [orjson.dumps({"t": i, "pad": "x" * (i * 37 % 300)}) for i in range(40)]
FRAMES = b"".join(raw_frame(0x1, m) for m in MESSAGES) + raw_frame(0x8, (1000).to_bytes(2, "big"))


async def read_all(stream: ScriptedStream) -> list[bytes]:
    with trio.fail_after(LIMIT):
        ws = await open_websocket(
            ScriptedTransport(stream), "ws://127.0.0.1:9/ws", max_message_size=1 << 20
        )
        got: list[bytes] = []
        with pytest.raises(WebSocketClosed) as closed:
            while True:
                for item in await ws.read_frames():
                    if isinstance(item, bytearray):
                        got.append(bytes(item))
        assert closed.value.code == 1000
        await ws.aclose()
        return got


@pytest.mark.parametrize(
    "sizes",
    [
        [],  # response and every frame in one read
        [1] * 300,  # a byte at a time: the blank line spans reads
        [129, 2, 1, 400],  # the response ends inside the first frame's header
        [100, 31, 3000],
        [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 50_000],
    ],
    ids=["one-read", "bytewise", "mid-header", "mid-payload", "sevens"],
)
async def test_frames_sent_with_the_response_all_arrive_in_order(sizes: list[int]) -> None:
    assert await read_all(ScriptedStream(FRAMES, sizes, accept=True)) == MESSAGES


@pytest.mark.parametrize("sizes", [[], [1] * 400, [60, 3]])
async def test_a_refusal_with_a_body_reports_its_status(sizes: list[int]) -> None:
    body = b'{"code":-1003,"msg":"Way too many requests."}'
    answer = (
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\n"
        b"Content-Length: %d\r\nContent-Type: application/json\r\n\r\n%s" % (len(body), body)
    )
    with trio.fail_after(LIMIT), pytest.raises(HandshakeRejected) as rejected:
        await open_websocket(
            ScriptedTransport(ScriptedStream(answer, sizes, accept=False)),
            "ws://127.0.0.1:9/ws",
            max_message_size=1 << 20,
        )
    assert (rejected.value.status, rejected.value.retry_after) == (429, 12.0)


async def test_a_response_head_without_end_is_refused() -> None:
    answer = b"HTTP/1.1 101 Switching Protocols\r\nX-Filler: " + b"y" * 100_000
    with trio.fail_after(LIMIT), pytest.raises(WebSocketClosed, match="too large"):
        await open_websocket(
            ScriptedTransport(ScriptedStream(answer, [4096] * 30, accept=False)),
            "ws://127.0.0.1:9/ws",
            max_message_size=1 << 20,
        )


async def test_a_connection_dropped_inside_the_response_head() -> None:
    answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs"
    with trio.fail_after(LIMIT), pytest.raises(WebSocketClosed, match="dropped during handshake"):
        await open_websocket(
            ScriptedTransport(ScriptedStream(answer, [10, 10], accept=False)),
            "ws://127.0.0.1:9/ws",
            max_message_size=1 << 20,
        )
