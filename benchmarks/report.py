"""Turn the runs into the markdown report (medians over repetitions, targets)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .plan import LATENCY_RATE
from .spec import ClientResult, ServerStats

__all__ = ["Record", "render"]


@dataclass
class Record:
    """One client run and the server's side of it."""

    client: str
    mode: str
    mix: str
    streams: int
    rep: int
    result: ClientResult
    server: ServerStats
    wall: float
    stderr_tail: str = ""
    tls: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _median(values: Iterable[float]) -> float | None:
    data = [v for v in values if v]
    return statistics.median(data) if data else None


def _fmt(value: float | None, spec: str = ",.0f", suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    align = ["---"] * left + ["---:"] * (len(header) - left)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


class _Index:
    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def select(
        self,
        client: str,
        mode: str,
        mix: str | None = None,
        streams: int | None = None,
        tls: bool = False,
    ) -> list[Record]:
        return [
            r
            for r in self.records
            if r.client == client
            and r.mode == mode
            and r.tls == tls
            and (mix is None or r.mix == mix)
            and (streams is None or r.streams == streams)
        ]

    def median(
        self,
        client: str,
        mode: str,
        mix: str | None,
        key: Callable[[Record], float],
        streams: int | None = None,
        tls: bool = False,
    ) -> float | None:
        return _median(key(r) for r in self.select(client, mode, mix, streams, tls))

    def rate(self, client: str, mix: str = "mixed", tls: bool = False) -> float | None:
        return self.median(client, "throughput", mix, lambda r: r.result.rate, tls=tls)

    def cpu(self, client: str, mix: str = "mixed", tls: bool = False) -> float | None:
        return self.median(client, "throughput", mix, lambda r: r.result.cpu_us_per_msg, tls=tls)

    def latency(self, client: str, q: str, tls: bool = False) -> float | None:
        return self.median(
            client, "latency", "mixed", lambda r: r.result.latency_us.get(q, 0), tls=tls
        )

    def wake_cpu(self, client: str, tls: bool = False) -> float | None:
        """CPU µs per message at the latency scenario's rate (wake-ups included)."""
        return self.median(
            client,
            "latency",
            "mixed",
            lambda r: 1e6 * r.result.cpu_seconds / max(1, r.result.timed),
            tls=tls,
        )

    def memory_mb(self, client: str, streams: int, idle: bool = False) -> float | None:
        def over(r: Record) -> float:
            res = r.result
            if res.error or res.lost:
                return 0.0
            top = res.rss_end_kb if idle else res.rss_peak_kb
            return max(0.001, (top - res.rss_baseline_kb) / 1024)

        return self.median(client, "memory", "burst", over, streams)

    def lost(
        self, client: str, mode: str | None = None, tls: bool | None = None
    ) -> tuple[int, int, int]:
        """(messages lost, runs with a loss or error, runs); ``tls=None``: all runs."""
        runs = [
            r
            for r in self.records
            if r.client == client
            and (mode is None or r.mode == mode)
            and (tls is None or r.tls == tls)
        ]
        lost = sum(r.result.lost for r in runs)
        bad = sum(1 for r in runs if r.result.lost or r.result.error)
        return lost, bad, len(runs)


def _lost_cell(lost: int, bad: int, runs: int) -> str:
    if not runs:
        return "—"
    if not bad:
        return "0"
    return f"**{lost:,}** ({bad}/{runs} runs)"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "—"
    return f"{numerator / denominator:.2f}x"


def render(records: list[Record], meta: dict[str, Any]) -> str:
    idx = _Index(records)
    labels: dict[str, str] = meta["labels"]
    present = list(dict.fromkeys(r.client for r in records))
    profile = meta["profile"]
    out: list[str] = ["# trio_binance stream benchmark", ""]
    out.append(
        f"`{meta['command']}` — {meta['machine']['date']}, suite took {meta['elapsed_s']:.0f} s; "
        + ("server pinned to CPU 0, clients to CPU 1." if meta["pinned"] else "no CPU pinning.")
    )
    out += ["", "## Machine", ""]
    machine_rows = [[k, v] for k, v in meta["machine"].items() if k != "date"]
    machine_rows.append(["packages", ", ".join(f"{k} {v}" for k, v in meta["packages"].items())])
    out += _table(["", ""], machine_rows, left=2)

    out += ["", "## Message mixes", ""]
    out += _table(
        ["mix", "what", "mean JSON bytes", "messages per run"],
        [
            [m, d["what"], f"{d['mean_bytes']:.0f}", f"{profile['counts'][m]:,}"]
            for m, d in meta["mixes"].items()
        ],
        left=2,
    )

    # -- throughput ------------------------------------------------------------
    tb_batch, tb_iter = idx.rate("tb-batch"), idx.rate("tb-iter")
    reps = profile["throughput_reps"]
    out += [
        "",
        "## Throughput",
        "",
        "The server floods pre-encoded frames, then closes; every message is decoded to a "
        "dict and handed to a consumer task.  Medians of interleaved runs "
        f"(mixed x{reps['mixed']}, trade x{reps['trade']}, depth x{reps['depth']}).  "
        "`÷` columns: trio_binance's msgs/s divided by this client's (mixed mix).",
        "",
    ]
    rows = []
    for c in present:
        if not idx.select(c, "throughput"):
            continue
        server_busy = idx.median(c, "throughput", "mixed", lambda r: r.server.busy * 100)
        rows.append(
            [
                labels.get(c, c),
                _fmt(idx.rate(c)),
                _fmt(idx.cpu(c), ".2f"),
                _fmt(idx.rate(c, "trade")),
                _fmt(idx.cpu(c, "trade"), ".2f"),
                _fmt(idx.rate(c, "depth")),
                _fmt(idx.cpu(c, "depth"), ".2f"),
                _lost_cell(*idx.lost(c, "throughput", tls=False)),
                _ratio(tb_batch, idx.rate(c)),
                _ratio(tb_iter, idx.rate(c)),
                _fmt(server_busy, ".1f", "%"),
            ]
        )
    out += _table(
        [
            "client",
            "mixed msgs/s",
            "CPU µs/msg",
            "trade msgs/s",
            "CPU µs/msg",
            "depth msgs/s",
            "CPU µs/msg",
            "lost",
            "tb-batch ÷",
            "tb-iter ÷",
            "server CPU",
        ],
        rows,
    )

    # -- throughput over TLS -----------------------------------------------------
    tls_present = [c for c in present if idx.select(c, "throughput", "mixed", tls=True)]
    if tls_present:
        tls_batch, tls_iter = idx.rate("tb-batch", tls=True), idx.rate("tb-iter", tls=True)
        out += [
            "",
            "## Throughput over TLS",
            "",
            "The mixed mix again, over `wss://127.0.0.1` (TLS 1.3, the server's certificate "
            "issued by the test CA in `tests/tls`, which clients trust through "
            "`SSL_CERT_FILE`).  Each client uses its library's default TLS setup.  "
            f"Medians of {profile.get('tls_reps', 1)} run(s).  `TLS ÷ plain`: msgs/s over "
            "TLS divided by msgs/s in plain text (mixed mix).  unicorn-binance-websocket-api "
            "is not run over TLS.",
            "",
        ]
        rows = []
        for c in tls_present:
            rate = idx.rate(c, tls=True)
            rows.append(
                [
                    labels.get(c, c),
                    _fmt(rate),
                    _fmt(idx.cpu(c, tls=True), ".2f"),
                    _ratio(rate, idx.rate(c)),
                    _lost_cell(*idx.lost(c, "throughput", tls=True)),
                    _ratio(tls_batch, rate),
                    _ratio(tls_iter, rate),
                ]
            )
        out += _table(
            ["client", "msgs/s", "CPU µs/msg", "TLS ÷ plain", "lost", "tb-batch ÷", "tb-iter ÷"],
            rows,
        )

    # -- latency -----------------------------------------------------------------
    out += [
        "",
        f"## Latency at {LATENCY_RATE:,.0f} msgs/s",
        "",
        "Mixed mix, paced; the server stamps `time.monotonic_ns()` into each payload just "
        "before writing it, the consumer task subtracts it from its own clock on receipt.  "
        f"{profile['latency_count']:,} messages per run, medians of "
        f"{profile['latency_reps']} run(s); max is the worst of all runs.  "
        "`p99 (1 s windows)` is the median of the p99s of each second of a run: one "
        "scheduling hiccup of the machine moves `p99 (all)` by milliseconds, not it.  "
        "CPU µs/msg here includes the cost of waking up for every message.",
        "",
    ]
    rows = []
    for c in present:
        if not idx.select(c, "latency"):
            continue
        worst = max(
            (r.result.latency_us.get("max", 0) for r in idx.select(c, "latency")), default=None
        )
        rows.append(
            [
                labels.get(c, c),
                _fmt(idx.latency(c, "p50")),
                _fmt(idx.latency(c, "p90")),
                _fmt(idx.latency(c, "p99w")),
                _fmt(idx.latency(c, "p99")),
                _fmt(idx.latency(c, "p999")),
                _fmt(worst),
                _fmt(idx.wake_cpu(c), ".1f"),
                _lost_cell(*idx.lost(c, "latency", tls=False)),
            ]
        )
    out += _table(
        [
            "client",
            "p50 µs",
            "p90 µs",
            "p99 µs (1 s windows)",
            "p99 µs (all)",
            "p99.9 µs",
            "max µs",
            "CPU µs/msg",
            "lost",
        ],
        rows,
    )

    tls_latency = [c for c in present if idx.select(c, "latency", "mixed", tls=True)]
    if tls_latency:
        out += [
            "",
            f"## Latency over TLS at {LATENCY_RATE:,.0f} msgs/s",
            "",
            "The latency scenario again, over `wss://` (see Throughput over TLS).  "
            f"Medians of {profile.get('tls_reps', 1)} run(s).",
            "",
        ]
        rows = [
            [
                labels.get(c, c),
                _fmt(idx.latency(c, "p50", tls=True)),
                _fmt(idx.latency(c, "p90", tls=True)),
                _fmt(idx.latency(c, "p99w", tls=True)),
                _fmt(idx.wake_cpu(c, tls=True), ".1f"),
                _lost_cell(*idx.lost(c, "latency", tls=True)),
            ]
            for c in tls_latency
        ]
        out += _table(
            ["client", "p50 µs", "p90 µs", "p99 µs (1 s windows)", "CPU µs/msg", "lost"], rows
        )

    # -- memory ------------------------------------------------------------------
    sizes: list[int] = profile["memory_sizes"]
    out += [
        "",
        "## Memory",
        "",
        "Peak RSS (VmHWM) over the client's baseline (its RSS after imports, before "
        "connecting), with N streams subscribed, one message received on each, then "
        f"{0.5:.1f} s idle; medians of {profile['memory_reps']} run(s).  trio_binance "
        "(async for) opens one `trade_socket` handle per stream, each drained by its own "
        "task; trio_binance (receive_batch) one multiplex handle; the others one connection.",
        "",
    ]
    rows = []
    for c in present:
        if not idx.select(c, "memory"):
            continue
        base = idx.median(c, "memory", "burst", lambda r: r.result.rss_baseline_kb / 1024)
        row = [labels.get(c, c), _fmt(base, ".1f")]
        row += [_fmt(idx.memory_mb(c, n), ".1f") for n in sizes]
        row += [
            _fmt(idx.memory_mb(c, sizes[-1], idle=True), ".1f"),
            _lost_cell(*idx.lost(c, "memory")),
        ]
        rows.append(row)
    out += _table(
        ["client", "baseline MB"]
        + [f"{n:,} stream{'s' if n > 1 else ''} MB" for n in sizes]
        + [f"{sizes[-1]:,} idle (RSS now) MB", "lost"],
        rows,
    )

    out += ["", "## Targets", ""]
    out += _table(["target", "measured", "verdict"], _targets(idx, sizes[-1]), left=3)
    out += ["", "## Notes", ""]
    out += _notes(idx, records, meta)
    return "\n".join(out) + "\n"


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**pass**" if ok else "**FAIL**")


def _targets(idx: _Index, big: int) -> list[list[str]]:
    rows = []
    tb_batch, tb_iter = idx.rate("tb-batch"), idx.rate("tb-iter")
    unicorn = [r for r in (idx.rate("unicorn"), idx.rate("unicorn-picows")) if r]
    best_unicorn = max(unicorn) if unicorn else None
    pyb = idx.rate("python-binance")

    def ratio_row(name: str, num: float | None, den: float | None, want: float) -> list[str]:
        if not num or not den:
            return [name, "—", _verdict(None)]
        value = num / den
        return [name, f"{value:.2f}x ({num:,.0f} vs {den:,.0f} msgs/s)", _verdict(value >= want)]

    rows.append(ratio_row("receive_batch ≥ 1.5x unicorn's best", tb_batch, best_unicorn, 1.5))
    rows.append(ratio_row("receive_batch ≥ 7x python-binance", tb_batch, pyb, 7))
    rows.append(ratio_row("async for ≥ 4x python-binance", tb_iter, pyb, 4))
    ref = idx.latency("asyncio-websockets", "p99w")
    for key, name in (("tb-iter", "async for"), ("tb-batch", "receive_batch")):
        mine = idx.latency(key, "p99w")
        if mine is None or ref is None:
            rows.append([f"p99 @2k/s ({name}) ≤ asyncio+websockets", "—", _verdict(None)])
        else:
            rows.append(
                [
                    f"p99 @2k/s ({name}) ≤ asyncio+websockets",
                    f"{mine:,.0f} µs vs {ref:,.0f} µs",
                    _verdict(mine <= ref),
                ]
            )
    for key, name in (("tb-iter", "per-stream handles"), ("tb-batch", "one multiplex handle")):
        mb = idx.memory_mb(key, big, idle=True)
        peak = idx.memory_mb(key, big)
        rows.append(
            [
                f"{big:,} idle streams < 50 MB over baseline ({name})",
                "—" if mb is None else f"{mb:.1f} MB idle, {peak or 0:.1f} MB peak",
                _verdict(None if mb is None else mb < 50 and (peak or 0) < 50),
            ]
        )
    for key, name in (("tb-iter", "async for"), ("tb-batch", "receive_batch")):
        lost, bad, runs = idx.lost(key)
        rows.append(
            [
                f"no message lost ({name}, every run)",
                f"{lost:,} lost, {bad} of {runs} runs lost or failed" if runs else "—",
                _verdict(None if not runs else bad == 0),
            ]
        )
    return rows


def _notes(idx: _Index, records: list[Record], meta: dict[str, Any]) -> list[str]:
    notes = []
    for tls, what in ((False, "Server"), (True, "Server over TLS")):
        flooding = [r for r in records if r.mode == "throughput" and r.tls == tls]
        busy = [r.server.busy for r in flooding if r.server.seconds > 0]
        per_msg = [1e6 * r.server.cpu_seconds / r.server.sent for r in flooding if r.server.sent]
        if busy and per_msg:
            verdict = "not the bottleneck" if max(busy) < 0.9 else "it may limit the fastest"
            notes.append(
                f"- {what}: at most {max(busy) * 100:.1f}% of a core while flooding "
                f"(median {statistics.median(per_msg):.3f} µs CPU per message): {verdict}."
            )
    for key in ("tb-iter", "tb-batch"):
        peaks: list[int] = [
            int(r.result.extra["peak_backlog"])
            for r in idx.select(key, "throughput")
            if r.result.extra.get("peak_backlog") is not None
        ]
        if peaks:
            notes.append(
                f"- {meta['labels'][key]}: largest handle backlog in throughput runs "
                f"{max(peaks):,} messages (the `block` policy's hard limit is 100,000; "
                "beyond it the handle fails with QueueOverflow)."
            )
    failures: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if r.result.lost or r.result.error:
            failures.setdefault((r.client, r.mode), []).append(r)
    for (client, mode), runs in failures.items():
        lost = sum(r.result.lost for r in runs)
        errors = sorted({r.result.error[:160] for r in runs if r.result.error})
        what = f"- {meta['labels'].get(client, client)}, {mode}: {len(runs)} run(s) "
        what += f"lost {lost:,} message(s)"
        if errors:
            what += "; errors: " + " | ".join(f"`{e}`" for e in errors)
        notes.append(what)
    if meta["missing"]:
        notes.append(f"- Not installed, skipped: {', '.join(meta['missing'])}.")
    if meta["profile"]["name"] == "quick":
        notes.append(
            "- `--quick`: unicorn-binance-websocket-api only runs the mixed throughput "
            "scenario once per variant (it waits about 5 s before connecting, every run); "
            "the full suite runs it everywhere."
        )
    notes.append(
        "- CPU µs/msg: the client process's CPU time (all threads, user + system) over "
        "the messages received after the first one (or the first batch), during that window."
    )
    return notes
