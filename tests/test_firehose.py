"""A firehose: a server that has far more data ready than one read takes.

The fake exchange sends one frame per scheduler step, so its reads are small.  Here
an in-memory server built on websockets' Sans-I/O server protocol answers the
handshake and the SUBSCRIBE, then has the whole burst ready at once, as a socket
buffer full of data would: every read of the client is full until it is drained.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import trio
import trio.testing
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from trio_binance import Endpoints, Settings, open_binance_streams

from ._support import library_tasks

READ_SIZE = 16384


class BurstStream(trio.abc.Stream):
    """The client's end of one connection to a server with ``burst`` ready."""

    def __init__(self, burst: list[bytes]) -> None:
        self._proto = ServerProtocol()
        self._burst = burst
        self._out = bytearray()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self.reads: list[int] = []
        self.pongs: list[bytes] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise trio.ClosedResourceError
        proto = self._proto
        proto.receive_data(bytes(data))
        for event in proto.events_received():
            if isinstance(event, Request):
                proto.send_response(proto.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                request = orjson.loads(event.data)
                if request.get("method") == "SUBSCRIBE":
                    answer = {"result": None, "id": request["id"]}
                    proto.send_text(orjson.dumps(answer))
                    self.send_burst(proto)
            elif isinstance(event, Frame) and event.opcode is Opcode.PONG:
                self.pongs.append(bytes(event.data))
        self._out += b"".join(proto.data_to_send())
        self._lot.unpark_all()

    def send_burst(self, proto: ServerProtocol) -> None:
        for payload in self._burst:
            proto.send_text(payload)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self._out and not self._closed:
            await self._lot.park()
        data = self._take(max_bytes or READ_SIZE)
        await trio.lowlevel.cancel_shielded_checkpoint()
        return data

    def _take(self, size: int) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError
        data = bytes(self._out[:size])
        del self._out[:size]
        self.reads.append(len(data))
        return data

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._closed = True
        self._lot.unpark_all()
        await trio.lowlevel.checkpoint()


class BurstStreamNowait(BurstStream):
    """The same, with the no-checkpoint read of the library's own socket stream."""

    def receive_some_nowait(self, max_bytes: int) -> bytes:
        if not self._out:
            raise trio.WouldBlock
        return self._take(max_bytes)


class BurstTransport:
    def __init__(self, stream_type: type[BurstStream], burst: list[bytes]) -> None:
        self._stream_type = stream_type
        self._burst = burst
        self.streams: list[BurstStream] = []

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        await trio.lowlevel.checkpoint()
        stream = self._stream_type(self._burst)
        self.streams.append(stream)
        return stream

    def http_transport(self) -> None:
        return None


def trades(count: int, size: int) -> list[bytes]:
    """``count`` combined-stream trades of about ``size`` bytes, ids 1..count."""
    pad = "x" * size
    return [
        orjson.dumps({"stream": "btcusdt@trade", "data": {"e": "trade", "t": i, "pad": pad}})
        for i in range(1, count + 1)
    ]


@pytest.mark.parametrize("stream_type", [BurstStream, BurstStreamNowait])
async def test_each_full_read_reaches_the_consumer_before_the_next_read(
    stream_type: type[BurstStream],
) -> None:
    # A consumer that keeps up is handed every read before the reader takes the
    # next: what is decoded but not yet consumed stays within one read, so a
    # firehose of large messages does not pile up young objects for Python's
    # garbage collector (Trio would otherwise run the reader first half the time).
    burst = trades(600, 1000)
    per_read = READ_SIZE // len(burst[0]) + 1
    transport = BurstTransport(stream_type, burst)
    batches: list[list[Any]] = []
    with trio.fail_after(10):
        async with open_binance_streams(
            endpoints=Endpoints.production(),
            transport=transport,
            settings=Settings(read_size=READ_SIZE),
        ) as bsm:
            async with bsm.multiplex_socket(["btcusdt@trade"]) as handle:
                received = 0
                while received < len(burst):
                    batch = await handle.receive_batch()
                    batches.append(batch)
                    received += len(batch)
    ids = [msg["data"]["t"] for batch in batches for msg in batch]
    assert ids == list(range(1, len(burst) + 1))  # nothing lost, nothing reordered
    # (The first batch holds whatever arrived before the consumer first waited.)
    assert max(len(batch) for batch in batches[1:]) <= per_read
    (stream,) = transport.streams
    assert sum(1 for size in stream.reads if size == READ_SIZE) >= 30  # a real firehose
    assert library_tasks() == []


async def test_a_consumer_that_stops_reading_does_not_stall_the_reader() -> None:
    # The hand-over waits only for consumers that were woken; one that stopped
    # reading is never waited for, and the data keeps flowing to the others.
    burst = trades(600, 1000)
    transport = BurstTransport(BurstStreamNowait, burst)
    with trio.fail_after(10):
        async with open_binance_streams(
            endpoints=Endpoints.production(), transport=transport, max_queue_size=1000
        ) as bsm:
            idle = bsm.multiplex_socket(["btcusdt@trade"])
            busy = bsm.multiplex_socket(["btcusdt@trade"])
            async with idle, busy:
                first = await idle.receive()  # then never again
                received = 0
                while received < len(burst):
                    received += len(await busy.receive_batch())
                assert first["data"]["t"] == 1
                assert idle.stats.backlog == len(burst) - 1


class EveryKindStream(BurstStreamNowait):
    """The burst with every other kind of frame a server may send woven in."""

    def send_burst(self, proto: ServerProtocol) -> None:
        first, second, third, *rest = self._burst
        proto.send_text(first)
        proto.send_text(second[:100], fin=False)  # one message in three fragments,
        proto.send_ping(b"mid-message")  # with a ping between them
        proto.send_continuation(second[100:200], fin=False)
        proto.send_continuation(second[200:], fin=True)
        proto.send_binary(b"\x00\x01 not for us")
        proto.send_pong(b"unsolicited")
        proto.send_text(b"not json")
        proto.send_text(third)
        for payload in rest:
            proto.send_text(payload)


async def test_every_kind_of_frame_in_a_firehose() -> None:
    burst = trades(300, 500)
    transport = BurstTransport(EveryKindStream, burst)
    with trio.fail_after(10):
        async with open_binance_streams(
            endpoints=Endpoints.production(), transport=transport
        ) as bsm:
            async with bsm.multiplex_socket(["btcusdt@trade"]) as handle:
                received: list[Any] = []
                while len(received) < len(burst):
                    received += await handle.receive_batch()
                (stats,) = bsm.connection_stats()
    assert [msg["data"]["t"] for msg in received] == list(range(1, len(burst) + 1))
    assert received[1] == orjson.loads(burst[1])  # the fragmented one, whole
    assert stats.malformed == 2  # the binary message and the one that is not JSON
    (stream,) = transport.streams
    assert stream.pongs == [b"mid-message"]
