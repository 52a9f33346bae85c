"""How fast ``trio-binance record`` writes, and how big its files are, per compression.

The recorder's write path is :class:`trio_binance.recording.RecordingWriter`: every
message becomes one JSON line (``{"t", "c", "s", "d"}``, orjson), lines are
compressed in 256 KiB chunks and a complete block is flushed every
``--flush-interval``.  This benchmark feeds it the firehose's mixed mix
(``benchmarks/frames.py``: 45% trade, 45% bookTicker, 10% 20-level depth, decoded
to the envelopes a multiplex handle yields, each with its own event time), in
batches of 100 as ``receive_batch()`` hands them over, with a flush every 50,000
messages (one second at 50,000 msgs/s), and writes to a temporary directory.

Variants, run interleaved (repetition *k* of each before *k + 1* of any), medians
with min-max:

* ``none``: plain JSON lines, no compression (the baseline);
* ``zstd-1``, ``zstd-3`` (the recorder's default): Zstandard;
* ``gzip-1``, ``gzip-6`` (gzip's default level).

    python -m benchmarks.record                 # 300,000 messages x 5 repetitions
    python -m benchmarks.record --messages 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from trio_binance.recording import RecordedMessage, RecordingWriter, read_recording

from .frames import build_blob

VARIANTS = {
    "none": ("none", None),
    "zstd-1": ("zstd", 1),
    "zstd-3": ("zstd", 3),
    "gzip-1": ("gzip", 1),
    "gzip-6": ("gzip", 6),
}
BATCH = 100
FLUSH_EVERY = 50_000
T0 = 1_767_225_600_000_000_000


def envelopes(count: int) -> list[dict[str, Any]]:
    """``count`` decoded envelopes of the mixed mix, event times 1 ms apart."""
    blob = build_blob("mixed", count)
    data = memoryview(blob.data)
    out: list[dict[str, Any]] = []
    start = 0
    for i, end in enumerate(blob.ends):
        length = data[start + 1] & 0x7F
        header = 2 if length < 126 else 4 if length == 126 else 10
        env = orjson.loads(data[start + header : end])
        env["data"]["E"] = 1_767_225_600_000 + i
        out.append(env)
        start = end
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(variant: str, messages: list[dict[str, Any]], directory: Path) -> dict[str, float]:
    compression, level = VARIANTS[variant]
    writer = RecordingWriter(
        directory,
        market="spot",
        streams=sorted({m["stream"] for m in messages[:1000]}),
        start_ns=T0,
        compression=compression,
        level=level,
        max_file_bytes=1 << 40,
        max_file_seconds=1e9,
    )
    cpu0, wall0 = _cpu(), time.perf_counter()
    t = T0
    for i in range(0, len(messages), BATCH):
        t += 2_000_000  # 2 ms between batches: 50,000 msgs/s of receive times
        writer.write_messages(t, "spot:#1", messages[i : i + BATCH])
        if (i + BATCH) % FLUSH_EVERY < BATCH:
            writer.flush()
    writer.close(t)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    size = sum(path.stat().st_size for path in writer.files)
    return {
        "msgs_per_s": len(messages) / wall,
        "cpu_us_per_msg": cpu / len(messages) * 1e6,
        "mb_per_million": size / len(messages) * 1e6 / 1e6,
    }


def check(directory: Path, expected: int) -> None:
    """Every message is read back."""
    read = sum(isinstance(r, RecordedMessage) for r in read_recording([directory]))
    assert read == expected, (read, expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    messages = envelopes(args.messages)
    plain = sum(len(orjson.dumps(m)) for m in messages[:20_000]) / min(20_000, len(messages))
    results: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    order = list(VARIANTS)
    for k in range(args.repeat):
        for variant in order[k % len(order) :] + order[: k % len(order)]:
            with tempfile.TemporaryDirectory() as tmp:
                results[variant].append(run_once(variant, messages, Path(tmp)))
                if k == 0:
                    check(Path(tmp), len(messages))
    print(
        f"recorder write path, mixed mix, {args.messages:,} messages x {args.repeat} "
        f"(interleaved), mean envelope {plain:.0f} bytes; Python {platform.python_version()}"
    )
    print()
    print("| compression | msgs/s (median, min-max) | CPU µs/msg | MB per million msgs | ratio |")
    print("|---|---:|---:|---:|---:|")
    base = statistics.median(r["mb_per_million"] for r in results["none"])
    for variant, runs in results.items():
        rates = sorted(r["msgs_per_s"] for r in runs)
        cpu = statistics.median(r["cpu_us_per_msg"] for r in runs)
        size = statistics.median(r["mb_per_million"] for r in runs)
        print(
            f"| {variant} | {statistics.median(rates):,.0f} ({rates[0]:,.0f}-{rates[-1]:,.0f}) "
            f"| {cpu:.2f} | {size:,.1f} | {base / size:.1f}x |"
        )


if __name__ == "__main__":
    main()
