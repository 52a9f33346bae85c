"""Before and after a change to the hot path: ``python -m benchmarks.ab REV``.

Runs trio_binance's two throughput clients (``async for`` and ``receive_batch``,
:mod:`benchmarks.clients.trio_binance_client`) against the suite's server, on this
tree ("after") and on ``trio_binance`` as of revision ``REV`` ("before", exported
with ``git archive`` and loaded from ``BENCH_TRIO_BINANCE``), repetitions
interleaved and the order alternating, each run a fresh process pinned to CPU 1
(the server on CPU 0).  Reports medians with the spread (min-max) and the ratio
after/before of the medians, and writes ``benchmarks/results/ab.md``.

Every run is checked: a run that lost messages, failed, or did not load the
revision it was meant to is reported, not averaged.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/ab.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    __package__ = "benchmarks"

from benchmarks.book import export_revision, median_spread
from benchmarks.frames import mix_streams
from benchmarks.machine import machine_info
from benchmarks.plan import Job
from benchmarks.registry import CLIENTS
from benchmarks.report import Record
from benchmarks.run import CLIENT_CPU, ROOT, SERVER_CPU, _env, _pin, run_job
from benchmarks.server_control import ServerProcess
from benchmarks.spec import RunSpec

RESULTS = ROOT / "benchmarks" / "results"
KEYS = ("tb-iter", "tb-batch")


def _ratio(after: list[float], before: list[float]) -> str:
    if not after or not before:
        return "n/a"
    return f"{statistics.median(after) / statistics.median(before):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__)
    parser.add_argument("revision", help="the 'before' revision (any git revision)")
    parser.add_argument("--reps", type=int, default=5, help="runs per client, side and mix")
    parser.add_argument("--count", type=int, default=200_000, help="messages per run")
    parser.add_argument("--mixes", default="mixed,trade", help="comma-separated mixes")
    parser.add_argument("--output", default=str(RESULTS / "ab.md"))
    args = parser.parse_args()
    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    clients = [c for c in CLIENTS if c.key in KEYS]

    with tempfile.TemporaryDirectory(prefix="trio-binance-before-") as before_dir:
        export_revision(args.revision, before_dir)
        sides = {"after": "", "before": before_dir}
        records: dict[tuple[str, str, str], list[Record]] = {}
        problems: list[str] = []
        server = ServerProcess(str(ROOT), _env(), _pin(SERVER_CPU))
        started = time.perf_counter()
        try:
            for mix in mixes:
                server.prepare(mix, args.count)
            order = [(c, s) for c in clients for s in sides]
            total = args.reps * len(mixes) * len(order)
            done = 0
            for rep in range(args.reps):
                for mix in mixes:
                    turn = order[rep % len(order) :] + order[: rep % len(order)]
                    for client, side in turn:
                        spec = RunSpec(
                            mode="throughput",
                            mix=mix,
                            count=args.count,
                            streams=mix_streams(mix),
                            variant=client.variant,
                        )
                        job = Job(client, spec, rep, len(spec.streams))
                        record = run_job(job, server, _pin(CLIENT_CPU), sides[side])
                        done += 1
                        result = record.result
                        loaded = str(result.extra.get("package", ""))
                        expected_dir = sides[side] or str(ROOT)
                        if result.error or result.lost or not loaded.startswith(expected_dir):
                            problems.append(
                                f"{client.key} {side} {mix} rep {rep + 1}: lost {result.lost},"
                                f" error {result.error or '-'}, package {loaded or '?'}"
                            )
                        else:
                            records.setdefault((client.key, side, mix), []).append(record)
                        print(
                            f"[{done:>3}/{total}] {mix:<6} {client.key:<9} {side:<6}"
                            f" {result.rate:>10,.0f} msgs/s {result.cpu_us_per_msg:5.2f} µs/msg",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            server.close()
        elapsed = time.perf_counter() - started

    lines = [
        "# trio_binance before/after",
        "",
        f"`python -m benchmarks.ab {args.revision} --reps {args.reps} --count {args.count}"
        f" --mixes {','.join(mixes)}`; before = `{args.revision}`, after ="
        f" {machine_info(str(ROOT))['trio_binance revision']}; {elapsed:.0f} s.",
        "Medians (min-max) over the runs; ratio = after / before of the medians"
        " (throughput: higher is better; CPU: lower is better).",
        "",
        "| mix | client | msgs/s before | msgs/s after | ratio | CPU µs/msg before"
        " | CPU µs/msg after | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mix in mixes:
        for client in clients:
            before = records.get((client.key, "before", mix), [])
            after = records.get((client.key, "after", mix), [])
            rate_b = [r.result.rate for r in before]
            rate_a = [r.result.rate for r in after]
            cpu_b = [r.result.cpu_us_per_msg for r in before]
            cpu_a = [r.result.cpu_us_per_msg for r in after]
            cells = [
                mix,
                client.label,
                median_spread(rate_b, ",.0f"),
                median_spread(rate_a, ",.0f"),
                _ratio(rate_a, rate_b),
                median_spread(cpu_b, ".2f"),
                median_spread(cpu_a, ".2f"),
                _ratio(cpu_a, cpu_b),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- excluded: {p}" for p in problems)
    if not problems:
        lines.append("Every run delivered every message, on the revision it was meant to run.")
    machine = machine_info(str(ROOT))
    lines.append("")
    lines.append("Machine: " + ", ".join(f"{k}: {v}" for k, v in machine.items()))
    text = "\n".join(lines) + "\n"
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
