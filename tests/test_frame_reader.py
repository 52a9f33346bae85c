"""FrameReader against websockets' own parser: same messages, replies and failures.

The reader cuts plain text frames out of the byte stream and hands every other frame
to websockets' protocol.  These tests feed one random server byte stream, cut at
random places, to a bare ``ClientProtocol`` and to a ``FrameReader`` in front of
another one, and require the two to agree on everything a connection shows: the
messages and frames received, the frames sent back (pongs, close), the protocol's
state, its close frames and its failure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from trio_binance._frame_reader import FrameReader

MAX_SIZE = 70_000
SEEDS = range(400)


def raw_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = False,
    length_form: int | None = None,
) -> bytes:
    """A frame as a server could send it, well-formed or not."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    mask_bit = 0x80 if mask else 0
    n = len(payload)
    form = length_form if length_form is not None else (0 if n < 126 else 126 if n < 65536 else 127)
    if form == 0:
        head = bytes([first, mask_bit | n])
    elif form == 126:
        head = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
    if mask:
        key = b"\x0f\x1e\x2d\x3c"
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


def text(rng: random.Random) -> bytes:
    size = rng.choice([0, 1, 50, 125, 126, 127, 300, 1000, 65535, 65536, rng.randrange(2000)])
    return bytes(rng.randrange(32, 127) for _ in range(min(size, 64))) * (size // 64) + b"x" * (
        size % 64
    )


def valid_pieces(rng: random.Random) -> Iterator[bytes]:
    """Frames a real server may send, in a legal order (up to a close)."""
    for _ in range(rng.randrange(1, 40)):
        kind = rng.random()
        if kind < 0.55:
            yield raw_frame(0x1, text(rng))
        elif kind < 0.6:
            # non-minimal length encodings are legal on the wire
            yield raw_frame(0x1, b'{"a":1}', length_form=rng.choice([126, 127]))
        elif kind < 0.62:
            yield raw_frame(0x2, text(rng))
        elif kind < 0.65:
            # not UTF-8: the protocol passes text on as bytes (JSON decoding refuses it)
            yield raw_frame(0x1, b'\xff\xfe{"a":1}')
        elif kind < 0.8:
            opening = rng.choice([0x1, 0x2])
            yield raw_frame(opening, text(rng), fin=False)
            for _ in range(rng.randrange(3)):
                if rng.random() < 0.5:
                    yield raw_frame(0x9, b"mid-message ping")
                yield raw_frame(0x0, text(rng), fin=False)
            yield raw_frame(0x0, text(rng))
        elif kind < 0.9:
            yield raw_frame(0x9, bytes(rng.randrange(126)))
        else:
            yield raw_frame(0xA, b"unsolicited pong")
    if rng.random() < 0.3:
        yield raw_frame(0x8, (1001).to_bytes(2, "big") + b"going away")
        yield raw_frame(0x1, b'{"after":"close"}')


INVALID = [
    ("masked text", raw_frame(0x1, b'{"a":1}', mask=True)),
    ("reserved bit", raw_frame(0x1, b'{"a":1}', rsv=4)),
    ("reserved opcode", raw_frame(0x3, b"?")),
    ("continuation first", raw_frame(0x0, b"orphan")),
    ("text inside a message", raw_frame(0x1, b"a", fin=False) + raw_frame(0x1, b"b")),
    ("long ping", raw_frame(0x9, bytes(126))),
    ("fragmented ping", raw_frame(0x9, b"p", fin=False)),
    ("text over max_size", raw_frame(0x1, b"y" * (MAX_SIZE + 1))),
    ("huge length", bytes([0x81, 127]) + (1 << 62).to_bytes(8, "big") + b"abc"),
    ("bad close code", raw_frame(0x8, (999).to_bytes(2, "big"))),
    (
        "fragments over max_size",
        raw_frame(0x1, b"z" * 40_000, fin=False) + raw_frame(0x0, b"z" * 40_000),
    ),
]


def server_bytes(seed: int) -> bytes:
    rng = random.Random(seed)
    pieces = list(valid_pieces(rng))
    if rng.random() < 0.4:
        at = rng.randrange(len(pieces) + 1)
        pieces.insert(at, rng.choice(INVALID)[1])
        pieces.append(raw_frame(0x1, b'{"after":"failure"}'))
    return b"".join(pieces)


def cuts(data: bytes, rng: random.Random) -> list[bytes]:
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.choice([1, 2, 3, 7, 100, 4096, 16384, rng.randrange(1, 70_000)])
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def open_protocol() -> ClientProtocol:
    return ClientProtocol(parse_uri("wss://stream.example/ws"), state=State.OPEN, max_size=MAX_SIZE)


def received(item: bytearray | Frame) -> tuple[Opcode, bool, bytes]:
    if isinstance(item, bytearray):
        return (Opcode.TEXT, True, bytes(item))
    return (item.opcode, item.fin, bytes(item.data))


def sent(protocol: ClientProtocol) -> list[tuple[Opcode, bool, bytes]]:
    """The frames the client wants to send (masked on the wire), decoded."""
    reader = StreamReader()
    for chunk in protocol.data_to_send():
        reader.feed_data(chunk)
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=True)
        try:
            next(parser)
        except StopIteration as done:
            frame = done.value
            frames.append((frame.opcode, frame.fin, bytes(frame.data)))
        else:  # pragma: no cover - the protocol only writes whole frames
            raise AssertionError("incomplete frame in data_to_send")
    return frames


def outcome(protocol: ClientProtocol) -> dict[str, Any]:
    exc = protocol.parser_exc
    return {
        "state": protocol.state,
        "close_rcvd": protocol.close_rcvd,
        "close_sent": protocol.close_sent,
        "failure": None if exc is None else (type(exc), str(exc)),
    }


def run_reference(chunks: list[bytes], eof: bool) -> tuple[list[Any], list[Any], dict[str, Any]]:
    protocol = open_protocol()
    got: list[Any] = []
    replies: list[Any] = []
    for chunk in chunks:
        protocol.receive_data(chunk)
        got += [received(e) for e in protocol.events_received()]  # type: ignore[arg-type]
        replies += sent(protocol)
    if eof:
        protocol.receive_eof()
        replies += sent(protocol)
    return got, replies, outcome(protocol)


def run_reader(chunks: list[bytes], eof: bool) -> tuple[list[Any], list[Any], dict[str, Any]]:
    protocol = open_protocol()
    reader = FrameReader(protocol, MAX_SIZE)
    got: list[Any] = []
    replies: list[Any] = []
    for chunk in chunks:
        got += [received(item) for item in reader.feed(chunk)]
        replies += sent(protocol)
    if eof:
        reader.feed_eof()
        replies += sent(protocol)
    return got, replies, outcome(protocol)


@pytest.mark.parametrize("seed", SEEDS)
def test_same_as_websockets_on_random_streams(seed: int) -> None:
    data = server_bytes(seed)
    rng = random.Random(seed * 7919)
    eof = rng.random() < 0.5
    if eof and rng.random() < 0.5:  # the connection drops inside a frame
        data = data[: rng.randrange(len(data))]
    ours_cut, theirs_cut = cuts(data, rng), cuts(data, rng)
    assert run_reader(ours_cut, eof) == run_reference(theirs_cut, eof)
    # cut at the same places, each feed gives the same frames as each receive_data
    assert run_reader(theirs_cut, eof) == run_reference(theirs_cut, eof)


@pytest.mark.parametrize(("what", "data"), INVALID, ids=[what for what, _ in INVALID])
def test_every_refusal_is_websockets_own(what: str, data: bytes) -> None:
    stream = raw_frame(0x1, b'{"before":1}') + data + raw_frame(0x1, b'{"after":1}')
    for size in (1, 5, len(stream)):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        ours = run_reader(chunks, eof=False)
        assert ours == run_reference(chunks, eof=False)
        assert ours[0][0] == (Opcode.TEXT, True, b'{"before":1}')
        assert (Opcode.TEXT, True, b'{"after":1}') not in ours[0]  # nothing after a failure
        assert ours[2]["state"] is not State.OPEN


def test_a_drop_inside_a_plain_frame_fails_as_websockets_does() -> None:
    frame = raw_frame(0x1, b'{"t":1}' * 50)
    for cut in (1, 3, 5, len(frame) - 1):
        ours = run_reader([frame, frame[:cut]], eof=True)
        assert ours == run_reference([frame, frame[:cut]], eof=True)
        assert ours[2]["failure"][0] is EOFError


def test_plain_text_frames_come_out_as_payloads() -> None:
    protocol = open_protocol()
    reader = FrameReader(protocol, MAX_SIZE)
    stream = b"".join(raw_frame(0x1, b'{"t":%d}' % i) for i in range(100))
    items = reader.feed(stream[:1000]) + reader.feed(stream[1000:])
    assert items == [b'{"t":%d}' % i for i in range(100)]
    assert all(type(item) is bytearray for item in items)


def test_a_ping_between_messages_is_answered_in_order() -> None:
    protocol = open_protocol()
    reader = FrameReader(protocol, MAX_SIZE)
    items = reader.feed(raw_frame(0x1, b"1") + raw_frame(0x9, b"hi") + raw_frame(0x1, b"2"))
    assert [received(item) for item in items] == [
        (Opcode.TEXT, True, b"1"),
        (Opcode.PING, True, b"hi"),
        (Opcode.TEXT, True, b"2"),
    ]
    assert sent(protocol) == [(Opcode.PONG, True, b"hi")]


def test_an_oversized_frame_fails_at_its_header_without_buffering_it() -> None:
    protocol = open_protocol()
    reader = FrameReader(protocol, MAX_SIZE)
    header = bytes([0x81, 127]) + (10 * MAX_SIZE).to_bytes(8, "big")
    assert reader.feed(header + b"y" * 100) == []
    assert protocol.state is State.CLOSING
    [(opcode, fin, payload)] = sent(protocol)
    assert (opcode, fin, payload[:2]) == (Opcode.CLOSE, True, (1009).to_bytes(2, "big"))
    # websockets words the reason differently across versions ("frame with 700000 bytes
    # exceeds limit of 70000 bytes" since 14, "over size limit (700000 > 70000 bytes)"
    # in 13): both sizes are what matters.
    assert b"700000" in payload and b"70000 " in payload
    reader.feed(b"y" * MAX_SIZE)  # the rest of it goes to the closing protocol, not a buffer
    assert not reader._buffer
