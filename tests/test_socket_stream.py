"""The network transport's byte stream, plain and TLS, over real loopback sockets.

These tests use real sockets on 127.0.0.1 (no fake clock): every wait is on an
event or on data, and each test is bounded by ``fail_after``.  The TLS certificate
in ``tests/tls`` is issued for 127.0.0.1 and localhost by a throwaway test CA.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import orjson
import pytest
import trio
import trio.testing

from trio_binance import NetworkTransport, open_binance_streams
from trio_binance._socket_stream import SocketStream, open_socket_stream
from trio_binance._websocket import open_websocket
from trio_binance.testing import open_fake_binance

from ._loopback import client_context, server_context, tcp_server, tls_terminator

LIMIT = 10  # seconds: a bound on a hang, never waited out by a passing test


class Peer:
    """The server's end of one connection, handed to the test."""

    def __init__(self) -> None:
        self.stream: trio.abc.Stream | None = None
        self.raw: trio.SocketStream | None = None
        self.ready = trio.Event()
        self.done = trio.Event()

    async def handle(self, raw: trio.SocketStream, tls: bool) -> None:
        self.raw = raw
        if tls:
            stream: trio.abc.Stream = trio.SSLStream(raw, server_context(), server_side=True)
            try:
                await stream.do_handshake()  # type: ignore[attr-defined]
            except trio.BrokenResourceError:
                self.done.set()
                return
        else:
            stream = raw
        self.stream = stream
        self.ready.set()
        await self.done.wait()


@asynccontextmanager
async def connected(tls: bool) -> AsyncIterator[tuple[SocketStream, Peer]]:
    """A client :class:`SocketStream` to a loopback server, and the server's end."""
    peer = Peer()

    async def handler(raw: trio.SocketStream) -> None:
        await peer.handle(raw, tls)

    with trio.fail_after(LIMIT):
        async with tcp_server(handler) as port:
            context = client_context() if tls else None
            client = await open_socket_stream("127.0.0.1", port, ssl_context=context)
            async with client:
                await peer.ready.wait()
                yield client, peer
            peer.done.set()


async def receive_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        data = await stream.receive_some()
        assert data, f"end of stream after {len(chunks)} of {size} bytes"
        chunks += data
    return bytes(chunks)


both = pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])


@both
async def test_round_trip(tls: bool) -> None:
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        await client.send_all(b"hello")
        assert await receive_exactly(peer.stream, 5) == b"hello"
        payload = bytes(range(256)) * 4096  # 1 MiB
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.stream.send_all, payload)
            assert await receive_exactly(client, len(payload)) == payload


@both
async def test_many_small_writes_all_arrive(tls: bool) -> None:
    # Many short reads (and, with TLS, many small records): the "drained" shortcut
    # must never wait while bytes are already there.
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        server = peer.stream
        pieces = [b"%05d;" % i for i in range(2000)]

        async def write() -> None:
            for piece in pieces:
                await server.send_all(piece)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            assert await receive_exactly(client, 12000) == b"".join(pieces)


async def test_one_tls_read_takes_every_record_already_received() -> None:
    # A server may send one small TLS record per message: one read must still take
    # all that has arrived, as a plain TCP read would, not one record.
    async with connected(True) as (client, peer):
        assert peer.stream is not None
        for i in range(50):
            await peer.stream.send_all(b"%04d" % i)  # one record each
        await trio.testing.wait_all_tasks_blocked()
        first = await client.receive_some(16384)
        assert len(first) > 4
        rest = await receive_exactly(client, 200 - len(first))
        assert first + rest == b"".join(b"%04d" % i for i in range(50))


@both
async def test_large_transfer_read_in_every_size(tls: bool) -> None:
    # With TLS, records of 16 KiB arrive split across reads and reads end inside
    # records: what is left of a record, or of a read, is served by the next call.
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        server = peer.stream
        payload = bytes(range(256)) * 4096  # 1 MiB
        got = bytearray()

        async def write() -> None:
            await server.send_all(payload)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            sizes = [1, 7, 100, 5000, 16384, 16385, 65536]
            turn = 0
            while len(got) < len(payload):
                size = sizes[turn % len(sizes)]
                turn += 1
                if turn % 3 == 0:
                    try:
                        data = client.receive_some_nowait(size)
                    except trio.WouldBlock:
                        continue
                else:
                    data = await client.receive_some(size)
                assert 0 < len(data) <= size
                got += data
        assert got == payload


@both
async def test_send_all_waits_for_a_slow_reader(tls: bool) -> None:
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        server = peer.stream
        payload = b"x" * (16 << 20)  # far beyond both socket buffers
        sent = trio.Event()

        async def send() -> None:
            await client.send_all(payload)
            sent.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            await trio.testing.wait_all_tasks_blocked()
            assert not sent.is_set()  # the buffers are full: the sender waits
            assert await receive_exactly(server, len(payload)) == payload
        assert sent.is_set()


@both
async def test_end_of_stream(tls: bool) -> None:
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        await peer.stream.send_all(b"last")
        await peer.stream.aclose()  # with TLS, sends close_notify
        assert await receive_exactly(client, 4) == b"last"
        assert await client.receive_some() == b""
        assert await client.receive_some() == b""


@both
async def test_end_of_stream_without_goodbye(tls: bool) -> None:
    async with connected(tls) as (client, peer):
        assert peer.raw is not None
        await peer.raw.aclose()  # TCP FIN with no TLS close_notify
        assert await client.receive_some() == b""


@both
async def test_receive_some_nowait_takes_only_what_has_arrived(tls: bool) -> None:
    async with connected(tls) as (client, peer):
        assert peer.stream is not None
        with pytest.raises(trio.WouldBlock):
            client.receive_some_nowait(1024)
        payload = bytes(range(256)) * 256  # 64 KiB: more than one read
        await peer.stream.send_all(payload)
        await trio.testing.wait_all_tasks_blocked()
        got = bytearray()
        with trio.testing.assert_no_checkpoints():
            while True:
                try:
                    chunk = client.receive_some_nowait(16384)
                except trio.WouldBlock:
                    break
                assert 0 < len(chunk) <= 16384
                got += chunk
        # Everything not taken yet is still there for the waiting call.
        got += await receive_exactly(client, len(payload) - len(got))
        assert got == payload
        await peer.stream.aclose()  # on loopback the goodbye is there when this returns
        assert client.receive_some_nowait(16) == b""


async def test_receive_some_nowait_refuses_what_receive_some_refuses() -> None:
    async with connected(False) as (client, _peer):
        with pytest.raises(ValueError, match="at least 1"):
            client.receive_some_nowait(0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.receive_some, 10)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                client.receive_some_nowait(10)
            nursery.cancel_scope.cancel()
        await client.aclose()
        with pytest.raises(trio.ClosedResourceError):
            client.receive_some_nowait(10)


async def test_reset_connection_is_broken() -> None:
    # (Over TLS a reset reads as an end of stream, as with trio.SSLStream's
    # https_compatible mode: the WebSocket layer reports both as code 1006.)
    async with connected(False) as (client, peer):
        assert peer.raw is not None
        await client.send_all(b"unread")  # unread data makes close() send a RST
        await trio.testing.wait_all_tasks_blocked()
        peer.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await peer.raw.aclose()
        with pytest.raises(trio.BrokenResourceError):
            while await client.receive_some():
                pass


async def test_aclose_wakes_a_waiting_receiver_and_later_calls_fail() -> None:
    async with connected(False) as (client, _peer):
        failed: list[BaseException] = []

        async def receive() -> None:
            try:
                await client.receive_some()
            except trio.ClosedResourceError as exc:
                failed.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            await client.aclose()
        assert len(failed) == 1
        with pytest.raises(trio.ClosedResourceError):
            await client.receive_some()
        with pytest.raises(trio.ClosedResourceError):
            await client.send_all(b"x")
        with pytest.raises(trio.ClosedResourceError):
            await client.wait_send_all_might_not_block()
        await client.aclose()  # twice is fine


async def test_concurrent_receives_and_sends_are_refused() -> None:
    async with connected(False) as (client, peer):
        assert peer.stream is not None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.receive_some)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await client.receive_some()
            await peer.stream.send_all(b"x")
        # A sender blocked on full buffers makes a second sender fail, not interleave.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.send_all, b"y" * (16 << 20))
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await client.send_all(b"z")
            nursery.cancel_scope.cancel()


async def test_cancelled_receive_consumes_nothing() -> None:
    async with connected(False) as (client, peer):
        assert peer.stream is not None
        await peer.stream.send_all(b"xyz")
        assert await client.receive_some(1) == b"x"  # "yz" is now in the buffer
        with trio.CancelScope() as scope:
            scope.cancel()
            await client.receive_some()
        assert scope.cancelled_caught
        assert await client.receive_some() == b"yz"  # a short read: next one waits first
        with trio.CancelScope() as scope:
            scope.cancel()
            await client.receive_some()
        assert scope.cancelled_caught
        await peer.stream.send_all(b"after")
        assert await receive_exactly(client, 5) == b"after"


async def test_every_call_is_a_checkpoint() -> None:
    async with connected(False) as (client, peer):
        assert peer.stream is not None
        await peer.stream.send_all(b"ready")
        await trio.testing.wait_all_tasks_blocked()
        with trio.testing.assert_checkpoints():
            assert await client.receive_some(1) == b"r"  # data there: no wait
        with trio.testing.assert_checkpoints():
            await client.send_all(b"x")


async def test_receive_size_is_checked() -> None:
    async with connected(False) as (client, _peer):
        with pytest.raises(ValueError, match="at least 1"):
            await client.receive_some(0)


async def test_untrusted_certificate_fails_and_closes_the_socket() -> None:
    peer = Peer()

    async def handler(raw: trio.SocketStream) -> None:
        await peer.handle(raw, tls=True)

    with trio.fail_after(LIMIT):
        async with tcp_server(handler) as port:
            with pytest.raises(ssl.SSLCertVerificationError):
                await open_socket_stream(
                    "127.0.0.1", port, ssl_context=ssl.create_default_context()
                )
            await peer.done.wait()  # the server saw the connection end


async def test_cancelled_handshake_closes_the_socket() -> None:
    accepted = trio.Event()
    closed = trio.Event()

    async def silent(raw: trio.SocketStream) -> None:  # accepts TCP, never speaks TLS
        accepted.set()
        assert await raw.receive_some() != b""  # the ClientHello
        assert await raw.receive_some() == b""  # then the client hangs up
        closed.set()

    with trio.fail_after(LIMIT):
        async with tcp_server(silent) as port:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    connect = partial(open_socket_stream, ssl_context=client_context())
                    nursery.start_soon(connect, "127.0.0.1", port)
                    await accepted.wait()
                    await trio.testing.wait_all_tasks_blocked()
                    scope.cancel()
            await closed.wait()


async def test_a_server_that_hangs_up_during_the_handshake() -> None:
    async def rude(raw: trio.SocketStream) -> None:  # reads the ClientHello, hangs up
        assert await raw.receive_some() != b""
        await raw.aclose()

    with trio.fail_after(LIMIT):
        async with tcp_server(rude) as port:
            with pytest.raises(ConnectionResetError, match="during the TLS handshake"):
                await open_socket_stream("127.0.0.1", port, ssl_context=client_context())


# --------------------------------------------------------------- end to end over wss


async def test_websocket_over_tls() -> None:
    with trio.fail_after(LIMIT):
        async with open_fake_binance(listen=True) as fake:
            plain_port = int(fake.endpoints.spot_stream.split(":")[2].split("/")[0])
            async with tls_terminator(plain_port) as port:
                ws = await open_websocket(
                    NetworkTransport(client_context()),
                    f"wss://127.0.0.1:{port}/spot/ws/btcusdt@trade",
                    max_message_size=1 << 20,
                )
                await fake.wait_for_subscribers("btcusdt@trade")
                for trade_id in range(500):
                    fake.publish("btcusdt@trade", {"e": "trade", "t": trade_id})
                got: list[int] = []
                while len(got) < 500:
                    for message in await ws.read_frames():
                        assert isinstance(message, bytearray)  # a plain text message
                        got.append(orjson.loads(message)["t"])
                assert got == list(range(500))
                await ws.aclose()


async def test_open_binance_streams_over_wss() -> None:
    with trio.fail_after(LIMIT):
        async with open_fake_binance(listen=True) as fake:
            plain = fake.endpoints.spot_stream  # ws://127.0.0.1:<port>/spot
            plain_port = int(plain.split(":")[2].split("/")[0])
            async with tls_terminator(plain_port) as port:
                endpoints = dataclasses.replace(
                    fake.endpoints,
                    spot_stream=plain.replace(
                        f"ws://127.0.0.1:{plain_port}", f"wss://127.0.0.1:{port}"
                    ),
                )
                transport = NetworkTransport(client_context())
                async with open_binance_streams(endpoints=endpoints, transport=transport) as bsm:
                    async with bsm.trade_socket("BTCUSDT") as trades:
                        await trades.wait_live()
                        for trade_id in range(1, 101):
                            fake.publish(
                                "btcusdt@trade", {"e": "trade", "s": "BTCUSDT", "t": trade_id}
                            )
                        got = [(await trades.receive())["t"] for _ in range(100)]
                assert got == list(range(1, 101))
