"""Binance-shaped messages, pre-encoded as unmasked WebSocket text frames.

The server sends slices of one large byte blob per message mix, so that producing
the data costs it almost nothing.  Every payload carries an ``"E"`` field of exactly
19 digits: ``STAMP_BASE + time.monotonic_ns()``.  In latency runs the server
overwrites it in place just before sending each frame; clients subtract it from
their own ``time.monotonic_ns()`` (CLOCK_MONOTONIC is system-wide on Linux).

Per-stream ids (trade ``t``, bookTicker ``u``, depth ``U``/``u``) increase and are
contiguous where Binance's are, so a client that de-duplicates by id (trio_binance
does) sees a well-formed stream.
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MIXES",
    "STAMP_BASE",
    "Blob",
    "build_blob",
    "burst_frames",
    "close_frame",
    "memory_streams",
    "mix_streams",
    "ws_frame",
]

STAMP_BASE: Final = 10**18
"""``E`` = STAMP_BASE + monotonic_ns: always 19 digits, so it can be patched in place."""

SYMBOLS: Final = ("btcusdt", "ethusdt", "bnbusdt", "solusdt")
DEPTH_LEVELS: Final = 20
"""Price levels per side of a depthUpdate."""

MIXES: Final = {
    "mixed": "45% trade, 45% bookTicker, 10% 20-level depthUpdate (4 symbols, 12 streams)",
    "trade": "trade only (raw <symbol>@trade stream, 4 symbols)",
    "depth": "depthUpdate only (20 levels a side, <symbol>@depth@100ms, 4 symbols)",
}


def mix_streams(mix: str) -> list[str]:
    """The stream names a client subscribes to for ``mix``."""
    trade = [f"{s}@trade" for s in SYMBOLS]
    book = [f"{s}@bookTicker" for s in SYMBOLS]
    depth = [f"{s}@depth@100ms" for s in SYMBOLS]
    if mix == "mixed":
        return trade + book + depth
    if mix == "trade":
        return trade
    if mix == "depth":
        return depth
    raise ValueError(f"unknown mix {mix!r}; choose from {sorted(MIXES)}")


def memory_streams(count: int) -> list[str]:
    """``count`` distinct trade streams (synthetic symbols) for the memory scenario."""
    return [f"m{i:04d}usdt@trade" for i in range(count)]


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, final WebSocket frame (server to client)."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


def close_frame(code: int = 1000) -> bytes:
    return ws_frame(code.to_bytes(2, "big"), opcode=0x8)


@dataclass(frozen=True)
class Blob:
    """``count`` frames back to back; ``ends[i]`` is where frame ``i`` ends and
    ``stamps[i]`` where its 19-digit ``E`` value starts."""

    mix: str
    data: bytes
    ends: array[int]
    stamps: array[int]

    @property
    def count(self) -> int:
        return len(self.ends)

    def size(self, count: int) -> int:
        """Bytes taken by the first ``count`` frames."""
        return self.ends[count - 1] if count else 0

    def start(self, index: int) -> int:
        return self.ends[index - 1] if index else 0


class _Pools:
    """Pre-formatted numbers, so that building a million frames stays cheap."""

    def __init__(self, rng: random.Random) -> None:
        self.prices = [f"{rng.uniform(20000, 70000):.8f}".encode() for _ in range(997)]
        self.qtys = [f"{rng.uniform(0.0001, 5):.8f}".encode() for _ in range(991)]
        self.sides: list[bytes] = []
        for _ in range(61):
            mid = rng.uniform(20000, 70000)
            levels = b",".join(
                b'["%.8f","%.8f"]' % (mid - k * 0.01, rng.uniform(0.0001, 5))
                for k in range(DEPTH_LEVELS)
            )
            self.sides.append(b"[" + levels + b"]")


_TRADE = (
    b'{"stream":"%s@trade","data":{"e":"trade","E":%d,"s":"%s","t":%d,'
    b'"p":"%s","q":"%s","T":%d,"m":%s,"M":true}}'
)
_BOOK = (
    b'{"stream":"%s@bookTicker","data":{"u":%d,"E":%d,"s":"%s",'
    b'"b":"%s","B":"%s","a":"%s","A":"%s"}}'
)
_DEPTH = (
    b'{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":%d,"s":"%s",'
    b'"U":%d,"u":%d,"b":%s,"a":%s}}'
)


def _kinds(mix: str) -> tuple[str, ...]:
    if mix == "mixed":
        return ("trade",) * 9 + ("book",) * 9 + ("depth",) * 2
    if mix == "trade":
        return ("trade",)
    if mix == "depth":
        return ("depth",)
    raise ValueError(f"unknown mix {mix!r}; choose from {sorted(MIXES)}")


def build_blob(mix: str, count: int, seed: int = 20240601) -> Blob:
    """``count`` frames of ``mix``, deterministic for a given seed."""
    rng = random.Random(seed)
    pools = _Pools(rng)
    kinds = _kinds(mix)
    symbols = [s.encode() for s in SYMBOLS]
    upper = [s.upper().encode() for s in SYMBOLS]
    trade_id = [1_000_000_000] * len(SYMBOLS)
    book_id = [40_000_000_000] * len(SYMBOLS)
    depth_id = [70_000_000_000] * len(SYMBOLS)
    stamp = STAMP_BASE + time.monotonic_ns()
    event_ms = 1_767_225_600_000
    prices, qtys, sides = pools.prices, pools.qtys, pools.sides
    np_, nq, ns = len(prices), len(qtys), len(sides)
    frames: list[bytes] = []
    append = frames.append
    choice = rng.choice
    randrange = rng.randrange
    for i in range(count):
        kind = choice(kinds)
        k = randrange(len(SYMBOLS))
        sym, up = symbols[k], upper[k]
        if kind == "trade":
            trade_id[k] += 1
            body = _TRADE % (
                sym,
                stamp,
                up,
                trade_id[k],
                prices[i % np_],
                qtys[i % nq],
                event_ms + i,
                b"true" if i & 1 else b"false",
            )
        elif kind == "book":
            book_id[k] += 1
            body = _BOOK % (
                sym,
                book_id[k],
                stamp,
                up,
                prices[i % np_],
                qtys[i % nq],
                prices[(i + 1) % np_],
                qtys[(i + 7) % nq],
            )
        else:
            first = depth_id[k] + 1
            depth_id[k] = first + randrange(8)
            body = _DEPTH % (
                sym,
                stamp,
                up,
                first,
                depth_id[k],
                sides[i % ns],
                sides[(i + 5) % ns],
            )
        append(ws_frame(body))
    return _assemble(mix, frames)


def burst_frames(names: list[str]) -> Blob:
    """One trade message on each of ``names`` (memory scenario)."""
    stamp = STAMP_BASE + time.monotonic_ns()
    frames = []
    for i, name in enumerate(names):
        symbol = name.partition("@")[0].encode()
        body = _TRADE % (
            symbol,
            stamp,
            symbol.upper(),
            1000 + i,
            b"1.00000000",
            b"2.00000000",
            1_767_225_600_000,
            b"true",
        )
        frames.append(ws_frame(body))
    return _assemble("burst", frames)


def _assemble(mix: str, frames: list[bytes]) -> Blob:
    ends = array("Q")
    stamps = array("Q")
    position = 0
    for frame in frames:
        stamps.append(position + frame.index(b'"E":') + 4)
        position += len(frame)
        ends.append(position)
    return Blob(mix=mix, data=b"".join(frames), ends=ends, stamps=stamps)


def mean_payload_size(mix: str, sample: int = 20000) -> float:
    """Mean JSON text size (the envelope, without the WebSocket header) of ``mix``."""
    blob = build_blob(mix, sample)
    header = sum(2 if n < 128 else 4 for n in _frame_sizes(blob))
    return (len(blob.data) - header) / blob.count


def _frame_sizes(blob: Blob) -> list[int]:
    sizes = []
    previous = 0
    for end in blob.ends:
        sizes.append(end - previous)
        previous = end
    return sizes
