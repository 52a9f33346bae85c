"""Profile one client's throughput run: ``python -m benchmarks.profiling --client tb-iter``.

Two tools, same scenario as the suite (server process on CPU 0, client on CPU 1):

* ``--tool py-spy`` (default; ``pip install py-spy``): samples the unmodified client
  without pausing it and prints, per function, the share of samples spent in it
  (self) and under it (inclusive), converted to µs per message with the run's
  measured CPU µs/msg.
* ``--tool cprofile``: the client enables :mod:`cProfile` (``BENCH_PROFILE``); exact
  call counts per message, but cProfile's own overhead inflates small functions.

Output files go to ``benchmarks/results/profiles/``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repo, not benchmarks/
    __package__ = "benchmarks"

from benchmarks.frames import MIXES, mix_streams
from benchmarks.plan import LATENCY_RATE
from benchmarks.registry import CLIENTS
from benchmarks.run import CLIENT_CPU, ROOT, SERVER_CPU, _env, _pin
from benchmarks.server_control import ServerProcess
from benchmarks.spec import RESULT_PREFIX, ClientResult, RunSpec

OUT = ROOT / "benchmarks" / "results" / "profiles"
LOOP_FRAMES = ("unrolled_run ", "_run_once ", "run_forever ")
"""Frames of the Trio / asyncio run loops: stacks without one are start-up."""


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    for anchor in ("trio_binance", "trio", "websockets", "benchmarks", "orjson", "trio_websocket"):
        if anchor in parts:
            path = "/".join(parts[parts.index(anchor) :])
            break
    else:
        path = Path(path).name
    return f"{name} ({path})"


def summarize_pyspy(raw: Path, rate: int, messages: int, top: int) -> list[str]:
    """Self and inclusive time per function; µs/msg = samples / rate / messages.

    Only stacks under the client's event loop count (not imports or start-up).
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        if not any(f.startswith(LOOP_FRAMES) for f in frames):
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total or not messages:
        return ["no samples"]

    def us(count: int) -> float:
        return 1e6 * count / rate / messages

    lines = [
        f"{total:,} samples in the event loop = {us(total):.2f} µs per message "
        f"({messages:,} messages)",
        "",
        f"{'self %':>7} {'µs/msg':>7}  function (self time)",
    ]
    for frame, count in own.most_common(top):
        lines.append(f"{100 * count / total:6.1f}% {us(count):7.2f}  {frame}")
    lines += ["", f"{'incl %':>7} {'µs/msg':>7}  function (inclusive)"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:6.1f}% {us(count):7.2f}  {frame}")
    return lines


def summarize_cprofile(path: Path, messages: int, top: int) -> list[str]:
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, _short(f"{name} ({filename}:{line})")))
    rows.sort(reverse=True)
    lines = [f"cProfile, per message (over {messages:,} messages; includes cProfile overhead)", ""]
    lines.append(f"{'calls/msg':>9} {'self µs':>8} {'cum µs':>8}  function")
    for tottime, cumtime, calls, name in rows[:top]:
        lines.append(
            f"{calls / messages:9.2f} {1e6 * tottime / messages:8.2f} "
            f"{1e6 * cumtime / messages:8.2f}  {name}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    parser.add_argument("--client", default="tb-iter", choices=[c.key for c in CLIENTS])
    parser.add_argument("--mix", default="mixed", choices=list(MIXES))
    parser.add_argument(
        "--count", type=int, default=None, help="default: 400,000 (latency: 20,000)"
    )
    parser.add_argument(
        "--latency",
        action="store_true",
        help=f"paced at {LATENCY_RATE:,.0f} msgs/s, as the latency scenario: the cost per wake-up",
    )
    parser.add_argument("--tool", default="py-spy", choices=["py-spy", "cprofile"])
    parser.add_argument("--rate", type=int, default=2000, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    client = next(c for c in CLIENTS if c.key == args.client)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"{client.key}-{args.mix}{'-latency' if args.latency else ''}-{args.tool}"
    count = args.count or (20_000 if args.latency else 400_000)
    spec = RunSpec(
        mode="latency" if args.latency else "throughput",
        rate=float(LATENCY_RATE) if args.latency else 0.0,
        mix=args.mix,
        count=count,
        streams=mix_streams(args.mix),
        variant=client.variant,
        gate="gobench@trade" if client.gated else "",
    )
    server_pin = _pin(SERVER_CPU)
    if server_pin is not None:
        server_pin()
    server = ServerProcess(str(ROOT), _env(), server_pin)
    try:
        server.prepare(args.mix, count)
        spec = dataclasses.replace(spec, url=server.url)
        server.arm(spec)
        command = [sys.executable, "-m", f"benchmarks.clients.{client.module}", spec.to_json()]
        env = _env()
        if args.tool == "py-spy":
            pyspy = shutil.which("py-spy")
            if pyspy is None:
                sys.exit("py-spy is not installed: pip install py-spy")
            raw = stem.with_suffix(".txt")
            command = [
                pyspy, "record", "--nonblocking", "--rate", str(args.rate), "--format", "raw",
                "-o", str(raw), "--", "taskset", "-c", str(CLIENT_CPU), *command,
            ]  # fmt: skip
            pin = None
        else:
            env["BENCH_PROFILE"] = str(stem.with_suffix(".prof"))
            pin = _pin(CLIENT_CPU)
        proc = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, env=env, preexec_fn=pin
        )
        server.wait(5.0)
    finally:
        server.close()
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = ClientResult.from_json(line[len(RESULT_PREFIX) :])
    if result is None:
        sys.exit(f"no result from the client:\n{proc.stderr[-3000:]}")
    print(
        f"{client.label}, {args.mix}: {result.rate:,.0f} msgs/s, {result.cpu_us_per_msg:.2f} "
        f"µs CPU/msg under {args.tool}, received {result.received:,}/{result.expected:,}"
        + (f", error: {result.error}" if result.error else "")
    )
    if args.tool == "py-spy":
        lines = summarize_pyspy(stem.with_suffix(".txt"), args.rate, result.received, args.top)
    else:
        lines = summarize_cprofile(stem.with_suffix(".prof"), result.received, args.top)
    text = "\n".join(lines)
    stem.with_suffix(".summary.txt").write_text(text + "\n")
    print(text)
    print(f"\nraw profile and summary in {OUT.relative_to(ROOT)}/", file=sys.stderr)


if __name__ == "__main__":
    main()
