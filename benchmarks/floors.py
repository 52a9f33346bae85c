"""Per-message cost floors of the pieces a client is built from, in one process.

``python -m benchmarks.floors [--mix mixed]`` times, over the same pre-encoded frames
the server sends (fed in 16 KiB chunks, as trio_binance's socket reads return them):

* ``orjson.loads`` of every payload alone;
* websockets' Sans-I/O parser alone (``Protocol.receive_data`` + ``events_received``);
* trio_binance's ``FrameReader`` (``_frame_reader.py``): plain text frames cut out,
  every other frame left to websockets' protocol;
* the FrameReader followed by ``orjson.loads``: a floor for "bytes to dicts".

A library's µs/msg minus these floors is its own overhead (dispatch, buffering,
scheduling).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repo, not benchmarks/
    __package__ = "benchmarks"

from benchmarks.frames import MIXES, Blob, build_blob

__all__ = ["measure_floors"]

CHUNK = 16384


def _chunks(blob: Blob) -> list[bytes]:
    data = blob.data
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _payloads(blob: Blob) -> list[bytes]:
    out = []
    start = 0
    data = blob.data
    for end in blob.ends:
        header = 4 if data[start + 1] == 126 else 2
        out.append(data[start + header : end])
        start = end
    return out


def _websockets_parser(chunks: list[bytes]) -> int:
    from websockets.frames import Frame
    from websockets.protocol import Protocol, Side

    proto = Protocol(Side.CLIENT, max_size=None)
    count = 0
    for chunk in chunks:
        proto.receive_data(chunk)
        count += sum(1 for e in proto.events_received() if isinstance(e, Frame))
        proto.data_to_send()
    return count


def _frame_reader(chunks: list[bytes], decode: bool) -> int:
    """trio_binance's FrameReader: plain text frames cut out, the rest to websockets."""
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.uri import parse_uri

    from trio_binance._frame_reader import FrameReader

    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=1 << 20)
    reader = FrameReader(protocol, 1 << 20)
    loads = orjson.loads
    count = 0
    for chunk in chunks:
        messages = reader.feed(chunk)
        if decode:
            for message in messages:
                loads(message)  # type: ignore[arg-type]
        count += len(messages)
    return count


def _time(fn: Callable[[], int], repeat: int = 3) -> float:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / max(1, count)


def measure_floors(mix: str = "mixed", count: int = 100_000) -> dict[str, float]:
    """µs per message of each piece (best of three passes)."""
    blob = build_blob(mix, count)
    chunks = _chunks(blob)
    payloads = _payloads(blob)
    loads = orjson.loads

    def decode_only() -> int:
        for payload in payloads:
            loads(payload)
        return len(payloads)

    return {
        "orjson.loads": _time(decode_only),
        "websockets parser": _time(lambda: _websockets_parser(chunks)),
        "FrameReader": _time(lambda: _frame_reader(chunks, decode=False)),
        "FrameReader + orjson.loads": _time(lambda: _frame_reader(chunks, decode=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floors", description=__doc__)
    parser.add_argument("--mix", default="mixed", choices=list(MIXES))
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    for name, value in measure_floors(args.mix, args.count).items():
        print(f"{value:7.3f} µs/msg  {name}")


if __name__ == "__main__":
    main()
