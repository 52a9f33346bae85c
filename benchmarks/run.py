"""Run the whole benchmark suite: ``python -m benchmarks.run [--quick]``.

One server process (pinned to CPU 0) serves every run; each client runs in its own
process (pinned to CPU 1), one after another, repetitions interleaved.  Results go
to ``benchmarks/results/latest.md`` (and ``latest.json``, the raw runs) and the
tables are printed.  See ``benchmarks/README.md`` for what each column means.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repo, not benchmarks/
    __package__ = "benchmarks"

from benchmarks.frames import MIXES, mean_payload_size
from benchmarks.machine import machine_info, package_versions, source_digest
from benchmarks.plan import FULL, QUICK, Job, Profile, build_jobs
from benchmarks.registry import CLIENTS, Client, available
from benchmarks.report import Record, render
from benchmarks.server_control import ServerProcess
from benchmarks.spec import RESULT_PREFIX, ClientResult, ServerStats

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# The TLS scenario's certificate: issued for 127.0.0.1 by the tests' throwaway CA.
TLS_DIR = ROOT / "tests" / "tls"
SERVER_CPU, CLIENT_CPU = 0, 1


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    if cpu >= (os.cpu_count() or 1):
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


def _env(trio_binance: str | None = None) -> dict[str, str]:
    """The client's environment.

    ``trio_binance``: the package directory of another revision, ``""`` for this
    tree's, ``None`` to keep the caller's ``BENCH_TRIO_BINANCE`` (this tree if unset).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["SSL_CERT_FILE"] = str(TLS_DIR / "ca.pem")  # what default SSL contexts trust
    if trio_binance is not None:
        env["BENCH_TRIO_BINANCE"] = trio_binance
    return env


def _client_timeout(job: Job) -> float:
    spec = job.spec
    if spec.mode == "latency":
        budget = spec.count / spec.rate
    elif spec.mode == "memory":
        budget = 30.0
    else:
        budget = spec.count / 5_000  # the slowest client we expect, with margin
    return 60.0 + job.client.slow_start + budget


def run_job(
    job: Job,
    server: ServerProcess,
    pin: Callable[[], None] | None,
    trio_binance: str | None = None,
) -> Record:
    spec = dataclasses.replace(job.spec, url=server.tls_url if job.spec.tls else server.url)
    server.arm(spec)
    started = time.perf_counter()
    stdout, stderr = "", ""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"benchmarks.clients.{job.client.module}", spec.to_json()],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=_env(trio_binance),
            preexec_fn=pin,
            timeout=_client_timeout(job),
        )
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = (exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr) or ""
        stderr += f"\n[suite] client killed after {exc.timeout:.0f} s"
    wall = time.perf_counter() - started
    result = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = ClientResult.from_json(line[len(RESULT_PREFIX) :])
    if result is None:
        result = ClientResult(
            client=job.client.key,
            variant=spec.variant,
            mode=spec.mode,
            mix=spec.mix,
            expected=spec.count,
            error="no result: " + (stderr.strip().splitlines() or ["?"])[-1],
        )
    try:
        stats = server.wait(timeout=5.0)
    except RuntimeError:
        stats = ServerStats()
    tail = stderr[-1500:] if (result.error or result.lost) else ""
    return Record(
        client=job.client.key,
        mode=spec.mode,
        mix=spec.mix,
        streams=job.streams,
        rep=job.rep,
        tls=spec.tls,
        result=result,
        server=stats,
        wall=wall,
        stderr_tail=tail,
    )


def _progress(index: int, total: int, record: Record) -> str:
    r = record.result
    mode = f"{record.mode[:3]}+tls" if record.tls else record.mode
    what = f"{mode:<10} {record.mix if record.mode != 'memory' else record.streams!s:<6}"
    head = f"[{index:>3}/{total}] {what} rep {record.rep + 1} {record.client:<18}"
    if record.mode == "throughput":
        body = f"{r.rate:>11,.0f} msgs/s {r.cpu_us_per_msg:6.2f} µs/msg"
    elif record.mode == "latency":
        body = f"p50 {r.latency_us.get('p50', 0):8.0f} µs  p99 {r.latency_us.get('p99', 0):8.0f} µs"
    else:
        body = f"peak +{(r.rss_peak_kb - r.rss_baseline_kb) / 1024:6.1f} MB"
    lost = f" LOST {r.lost}" if r.lost else ""
    error = f" ERROR {r.error[:100]}" if r.error else ""
    return f"{head} {body}{lost}{error} ({record.wall:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller suite, about 2 minutes")
    parser.add_argument(
        "--clients", default="", help="comma-separated client keys (default: all installed)"
    )
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-tls", action="store_true", help="skip the runs over TLS")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/client to CPUs")
    parser.add_argument("--output", default=str(RESULTS / "latest.md"))
    args = parser.parse_args()

    profile: Profile = QUICK if args.quick else FULL
    wanted = [k.strip() for k in args.clients.split(",") if k.strip()]
    unknown = set(wanted) - {c.key for c in CLIENTS}
    if unknown:
        parser.error(f"unknown clients {sorted(unknown)}; choose from {[c.key for c in CLIENTS]}")
    chosen = [c for c in CLIENTS if not wanted or c.key in wanted]
    clients: list[Client] = [c for c in chosen if available(c)]
    missing = [c.key for c in chosen if not available(c)]

    server_pin = None if args.no_pin else _pin(SERVER_CPU)
    client_pin = None if args.no_pin else _pin(CLIENT_CPU)
    if server_pin is not None:
        server_pin()  # the orchestrator waits on CPU 0 beside the server, idle
    jobs = build_jobs(
        profile,
        clients,
        throughput=not args.no_throughput,
        latency=not args.no_latency,
        memory=not args.no_memory,
        tls=not args.no_tls,
    )
    print(
        f"benchmarks: {profile.name} suite, {len(jobs)} runs, clients: "
        + ", ".join(c.key for c in clients)
        + (f" (not installed: {', '.join(missing)})" if missing else ""),
        file=sys.stderr,
        flush=True,
    )
    machine_before = machine_info(str(ROOT))
    source_before = source_digest(str(ROOT))
    suite_start = time.perf_counter()
    tls_files = (str(TLS_DIR / "server.pem"), str(TLS_DIR / "server.key"))
    server = ServerProcess(str(ROOT), _env(), server_pin, tls=tls_files)
    records: list[Record] = []
    try:
        for mix in MIXES:
            server.prepare(mix, profile.counts[mix])
        for index, job in enumerate(jobs, 1):
            record = run_job(job, server, client_pin)
            records.append(record)
            print(_progress(index, len(jobs), record), file=sys.stderr, flush=True)
    finally:
        server.close()
    elapsed = time.perf_counter() - suite_start
    revision_after = machine_info(str(ROOT))["trio_binance revision"]
    if source_digest(str(ROOT)) != source_before:
        machine_before["trio_binance revision"] += (
            f" at the start, {revision_after} at the end: trio_binance's source changed during"
            " the run"
        )
    elif revision_after != machine_before["trio_binance revision"]:
        machine_before["trio_binance revision"] += (
            f" (trio_binance's source unchanged through {revision_after})"
        )

    packages = sorted({p for c in CLIENTS for p in c.packages} | {"trio-websocket", "wsproto"})
    meta = {
        "command": "python -m benchmarks.run" + (" --quick" if args.quick else ""),
        "profile": dataclasses.asdict(profile),
        "machine": machine_before,
        "packages": package_versions(packages),
        "pinned": not args.no_pin,
        "mixes": {
            m: {"what": d, "mean_bytes": round(mean_payload_size(m), 1)} for m, d in MIXES.items()
        },
        "missing": missing,
        "elapsed_s": round(elapsed, 1),
        "labels": {c.key: c.label for c in CLIENTS},
    }
    markdown = render(records, meta)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown)
    raw = {"meta": meta, "runs": [r.to_dict() for r in records]}
    output.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(markdown)
    print(f"written to {output} ({elapsed:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
