"""The order-book benchmark: ``python -m benchmarks.book [--quick] [--before REV]``.

Local order books side by side, each client in its own process (pinned to CPU 1)
against a local server (CPU 0, :mod:`benchmarks.book_server`), repetitions
interleaved:

* **cpu**: one spot book, 5,000 levels a side, a flood of diff events (10 levels
  each), the top 10 of each side read after every update.  Headline: the client
  process's CPU per update, from before subscribing to the last update.
* **memory**: 10 books of 5,000 levels a side, synced; RSS over the baseline, per book.
* **resync** (trio_binance only): 200 books (snapshot limit 100); the server drops
  the connection and skips 10 ids; seconds until all 200 are in sync again, within
  the weight budget.

Clients: ``trio_binance`` (this tree), ``trio_binance@REV`` (``--before``, default
``a3d1cf5``, the revision before the book rewrite, exported with ``git archive``),
``python-binance`` (``DepthCacheManager``, if installed).  Writes
``benchmarks/results/book.md`` and ``book.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/book.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    __package__ = "benchmarks"

from benchmarks.book_data import FIRST_ID, build_book
from benchmarks.machine import machine_info, package_versions
from benchmarks.spec import RESULT_PREFIX

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SERVER_CPU, CLIENT_CPU = 0, 1


def _pin(cpu: int) -> Any:
    if not hasattr(os, "sched_setaffinity") or cpu >= (os.cpu_count() or 1):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _env(trio_binance: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["BENCH_TRIO_BINANCE"] = trio_binance  # another revision's, for the "before"
    return env


def export_revision(revision: str, into: str) -> str:
    """``trio_binance`` of ``revision`` in a directory of its own; returns the path."""
    archive = subprocess.run(
        ["git", "archive", revision, "trio_binance"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def run_once(
    client: str, trio_binance: str, server_config: dict[str, Any], client_config: dict[str, Any]
) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.book_server", json.dumps(server_config)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
        preexec_fn=_pin(SERVER_CPU),
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("PORT "):
            return {"error": f"server did not start: {line!r}"}
        config = dict(client_config, host=f"127.0.0.1:{line.split()[1]}")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", f"benchmarks.clients.{client}", json.dumps(config)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=_env(trio_binance),
                preexec_fn=_pin(CLIENT_CPU),
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
        for out in proc.stdout.splitlines():
            if out.startswith(RESULT_PREFIX):
                return dict(json.loads(out[len(RESULT_PREFIX) :]))
        return {"error": (proc.stderr.strip().splitlines() or ["no result"])[-1]}
    finally:
        server.kill()
        server.wait()


def median_spread(values: list[float], spec: str = ",.1f") -> str:
    """``median (min-max)`` of ``values``, each formatted with ``spec``."""
    if not values:
        return "n/a"
    mid = statistics.median(values)
    return f"{mid:{spec}} ({min(values):{spec}}-{max(values):{spec}})"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.book", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events and repetitions")
    parser.add_argument("--before", default="a3d1cf5", help="revision for the 'before' column")
    parser.add_argument("--output", default=str(RESULTS / "book.md"))
    args = parser.parse_args()
    count = 3_000 if args.quick else 10_000
    reps = 3 if args.quick else 5
    levels = 5_000
    data = build_book(levels, count)
    last_id = data.events[-1]["u"] if data.events else FIRST_ID
    updates = len(data.events)
    per_event = sum(len(e["b"]) + len(e["a"]) for e in data.events) / max(1, updates)  # type: ignore[arg-type]

    tmp = tempfile.mkdtemp(prefix="book-before-")
    before_path = export_revision(args.before, tmp)
    clients = [
        ("trio_binance", "book_trio_binance", ""),
        (f"trio_binance@{args.before}", "book_trio_binance", before_path),
    ]
    try:
        import binance  # noqa: F401

        clients.append(("python-binance", "book_python_binance", ""))
        missing = []
    except ImportError:
        missing = ["python-binance"]

    cpu_server = {"levels": levels, "count": count, "symbols": ["BTCUSDT"]}
    cpu_client = {"scenario": "cpu", "symbols": ["BTCUSDT"], "limit": levels, "last_id": last_id}
    books = 10  # 10 x weight 250: within the minute's 3,000 the books may spend
    mem_symbols = [f"B{i:03d}USDT" for i in range(books)]
    # A few events: the old book asked for its snapshot only after a first event.
    mem_server = {"levels": levels, "count": 5, "symbols": mem_symbols}
    mem_client = {"scenario": "memory", "symbols": mem_symbols, "limit": levels}
    many = [f"R{i:03d}USDT" for i in range(200)]
    resync_server = {"levels": 100, "count": 0, "symbols": many}
    resync_client = {"scenario": "resync", "symbols": many, "limit": 100}

    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    for rep in range(reps):
        order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
        for label, module, path in order:
            for scenario, server_config, client_config in (
                ("cpu", cpu_server, cpu_client),
                ("memory", mem_server, mem_client),
            ):
                if scenario == "memory" and rep >= 2:
                    continue  # memory is steady: two runs each
                result = run_once(module, path, server_config, client_config)
                runs.append({"client": label, "scenario": scenario, "rep": rep, **result})
                print(f"[{scenario} rep {rep + 1}] {label}: {result}", file=sys.stderr)
        if rep < 3:
            result = run_once("book_trio_binance", "", resync_server, resync_client)
            runs.append({"client": "trio_binance", "scenario": "resync", "rep": rep, **result})
            print(f"[resync rep {rep + 1}] trio_binance: {result}", file=sys.stderr)

    def values(client: str, scenario: str, key: str, scale: float = 1.0) -> list[float]:
        return [
            r[key] * scale
            for r in runs
            if r["client"] == client and r["scenario"] == scenario and key in r
        ]

    def cpu_runs(label: str) -> list[dict[str, Any]]:
        return [
            r for r in runs if r["client"] == label and r["scenario"] == "cpu" and r.get("updates")
        ]

    # Per update once in sync (after the snapshot, and the events joined to it), and
    # over the whole run (connecting and the snapshot included) per event.
    cpu_us = {
        label: [1e6 * (r["cpu_s"] - r["sync_cpu_s"]) / r["updates"] for r in cpu_runs(label)]
        for label, _, _ in clients
    }
    total_us = {
        label: [1e6 * r["cpu_s"] / updates for r in cpu_runs(label)] for label, _, _ in clients
    }
    ours = statistics.median(cpu_us["trio_binance"]) if cpu_us["trio_binance"] else float("nan")
    lines = [
        "# Order-book benchmark",
        "",
        f"`python -m benchmarks.book{' --quick' if args.quick else ''}` "
        f"({time.perf_counter() - started:.0f} s).  A spot book of {levels:,} levels a side, "
        f"{updates:,} diff events of {per_event:.1f} levels each (20% removals), flooded; "
        "the top 10 of each side read after every update.  Medians over "
        f"{reps} interleaved runs, (min-max) in brackets.  CPU per update: the client "
        "process's CPU time from the synced book to the last update, over the updates "
        "applied in that window (the stream is read and decoded in it too); 'with connect "
        "+ snapshot': the whole run's CPU from before subscribing, over every event.  "
        "Memory: RSS over the client's baseline with 10 books synced, per book.",
        "",
        "| client | CPU µs per update | ÷ trio_binance | with connect + snapshot, µs "
        "| updates/s | resyncs | MB per book (10 books) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, _, _ in clients:
        us = cpu_us[label]
        ratio = [u / ours for u in us] if us else []
        rate = [r["updates"] / r["wall_s"] for r in cpu_runs(label) if r.get("wall_s")]
        resyncs = values(label, "cpu", "resyncs")
        mem = [
            r["rss_kb"] / 1024 / r["books"]
            for r in runs
            if r["client"] == label and r["scenario"] == "memory" and "rss_kb" in r
        ]
        errors = [r["error"] for r in runs if r["client"] == label and "error" in r]
        lines.append(
            f"| {label} | {median_spread(us)} | {median_spread(ratio)}x | "
            f"{median_spread(total_us[label])} | "
            f"{median_spread(rate)} | {int(max(resyncs)) if resyncs else 'n/a'} | "
            f"{median_spread(mem)} |" + (f" errors: {errors[:2]}" if errors else "")
        )
    resync = values("trio_binance", "resync", "seconds")
    left = values("trio_binance", "resync", "left")
    lines += [
        "",
        f"**200 books resync after a drop** (trio_binance, snapshot limit 100, weight 5 "
        f"each: 1,000 of the 3,000 a minute the books may use): "
        f"{median_spread(resync)} s from the drop to the last book in sync"
        f" (books left out of sync: {int(max(left)) if left else 'n/a'}).",
        "",
        "Not run: unicorn-binance-local-depth-cache builds its own websocket manager with "
        "Binance's URLs and has no option to point it at a local server (and its REST "
        "manager connects to Binance when built)."
        + (f"  Not installed: {', '.join(missing)}." if missing else ""),
    ]
    info = machine_info(str(ROOT))
    versions = package_versions(["python-binance", "trio", "orjson"])
    lines += ["", "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items())]
    lines += ["Packages: " + ", ".join(f"{k} {v}" for k, v in versions.items())]
    markdown = "\n".join(lines) + "\n"
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown)
    output.with_suffix(".json").write_text(json.dumps({"runs": runs}, indent=1))
    print(markdown)


if __name__ == "__main__":
    main()
