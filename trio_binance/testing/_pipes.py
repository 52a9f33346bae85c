"""Byte streams of the fake exchange: bounded in-memory pipes and the server's view.

:func:`pipe_pair` is the fake network cable.  Unlike
:func:`trio.testing.memory_stream_pair` its buffers are bounded, like TCP
buffers: a client that stops reading makes the server's ``send_all`` wait, so
slow-consumer behaviour is the same in memory as on a socket.  Everything runs
inside Trio, so ``MockClock(autojump_threshold=0)`` stays deterministic.

:class:`ServerSideStream` wraps whatever stream the server got (a pipe end or a
TCP socket) to replay bytes already read while sniffing the request, and to
*stall*: swallow everything the server would send, which is how a dead network
path looks from the client.
"""

from __future__ import annotations

import trio

__all__ = ["PipeStream", "ServerSideStream", "pipe_pair"]


class _OneWay:
    """One direction of a pipe: a bounded byte buffer and who has hung up."""

    __slots__ = ("buffer", "limit", "lot", "receiver_closed", "sender_closed")

    def __init__(self, limit: int) -> None:
        self.buffer = bytearray()
        self.limit = limit
        self.sender_closed = False
        self.receiver_closed = False
        # Readers and writers of this direction both park here and recheck.
        self.lot = trio.lowlevel.ParkingLot()


class PipeStream(trio.abc.Stream):
    """One end of an in-memory, bounded, bidirectional byte pipe.

    Closing an end is like closing a TCP socket: the peer reads what was already
    buffered and then end-of-file (``b""``).  Bytes the peer sends after that
    vanish without an error, as the first writes to a closed TCP peer do; the
    peer learns of the close by reading.  (Raising at once, as trio's memory
    streams do, would make a client that answers a ping while a close frame is
    still unread see 1006 instead of the server's close code.)
    """

    def __init__(self, incoming: _OneWay, outgoing: _OneWay, name: str) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self._name = name
        self._closed = False

    def __repr__(self) -> str:
        return f"<PipeStream {self._name}{' closed' if self._closed else ''}>"

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(data).cast("B")
        out = self._outgoing
        while True:
            if self._closed:
                raise trio.ClosedResourceError("this end of the pipe is closed")
            if out.receiver_closed or not view:
                break  # a closed peer: the bytes vanish
            room = out.limit - len(out.buffer)
            if room > 0:
                out.buffer += view[:room]
                view = view[room:]
                out.lot.unpark_all()
            else:
                await out.lot.park()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        out = self._outgoing
        while not (self._closed or out.receiver_closed) and len(out.buffer) >= out.limit:
            await out.lot.park()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        await trio.lowlevel.checkpoint_if_cancelled()
        inc = self._incoming
        while True:
            if self._closed:
                raise trio.ClosedResourceError("this end of the pipe is closed")
            if inc.buffer:
                size = len(inc.buffer) if max_bytes is None else min(max_bytes, len(inc.buffer))
                chunk = bytes(inc.buffer[:size])
                del inc.buffer[:size]
                inc.lot.unpark_all()
                break
            if inc.sender_closed:
                chunk = b""
                break
            await inc.lot.park()
        await trio.lowlevel.cancel_shielded_checkpoint()
        return chunk

    def close(self) -> None:
        """Close this end at once (the synchronous twin of :meth:`aclose`)."""
        if self._closed:
            return
        self._closed = True
        self._incoming.receiver_closed = True
        self._incoming.buffer.clear()
        self._incoming.lot.unpark_all()
        self._outgoing.sender_closed = True
        self._outgoing.lot.unpark_all()

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()


def pipe_pair(buffer_size: int) -> tuple[PipeStream, PipeStream]:
    """A connected ``(client_end, server_end)`` pair, ``buffer_size`` bytes each way."""
    to_server = _OneWay(buffer_size)
    to_client = _OneWay(buffer_size)
    return (
        PipeStream(incoming=to_client, outgoing=to_server, name="client"),
        PipeStream(incoming=to_server, outgoing=to_client, name="server"),
    )


class ServerSideStream(trio.abc.Stream):
    """The server's view of a client stream: replays a prefix, and can stall.

    Args:
        inner: The transport stream (pipe end or TCP socket).
        prefix: Bytes already read from ``inner`` (the sniffed request head),
            returned first by :meth:`receive_some`.
    """

    def __init__(self, inner: trio.abc.Stream, prefix: bytes = b"") -> None:
        self.inner = inner
        self._prefix = prefix
        self.stalled = False
        self.discarded_bytes = 0
        self._resume: trio.Event | None = None  # set while held (see hold())
        # True while a send_all is under way: if it is cancelled then, part of
        # a frame may be on the wire and the stream can only be dropped.
        self.send_incomplete = False

    @property
    def held(self) -> bool:
        """Whether sends wait (see :meth:`hold`)."""
        return self._resume is not None

    def hold(self, held: bool) -> None:
        """Make sends wait until released: a congested path, whose bytes arrive late."""
        if held and self._resume is None:
            self._resume = trio.Event()
        elif not held and self._resume is not None:
            self._resume.set()
            self._resume = None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        while self._resume is not None:
            await self._resume.wait()
        if self.stalled:
            # A dead path: bytes vanish, the sender never notices.
            self.discarded_bytes += len(data)
            await trio.lowlevel.checkpoint()
            return
        # No schedule point between this check and the inner send's own one,
        # so a cancellation that lands here has written nothing.
        await trio.lowlevel.checkpoint_if_cancelled()
        self.send_incomplete = True
        await self.inner.send_all(data)
        self.send_incomplete = False

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            await trio.lowlevel.checkpoint()
            size = len(self._prefix) if max_bytes is None else max_bytes
            chunk, self._prefix = self._prefix[:size], self._prefix[size:]
            return chunk
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()
