"""What every benchmark client shares: the tally, memory readings, the result line.

A client module is run as ``python -m benchmarks.clients.<name> '<RunSpec JSON>'``
and defines ``run(spec, tally)``, which connects, subscribes to ``spec.streams``,
hands every decoded message to a consumer task and updates the :class:`Tally`.
:func:`main` measures the baseline memory before ``run`` and prints one
:data:`~benchmarks.spec.RESULT_PREFIX` line, then exits at once (``os._exit``) so
that no library's teardown can hang the suite.
"""

from __future__ import annotations

import cProfile
import gc
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..frames import STAMP_BASE
from ..spec import RESULT_PREFIX, ClientResult, RunSpec

__all__ = ["MEMORY_TIMEOUT", "POLL", "Tally", "main", "memory_kb"]

POLL = 0.5
"""How often a client's watchdog checks progress (seconds)."""

START_TIMEOUT = 30.0
"""Longest wait for the first message before a run counts as failed."""

MEMORY_TIMEOUT = 60.0
"""Memory mode: longest wait for the one message of every stream."""

TEARDOWN_GRACE = 3.0
"""How long a client library may take to shut down once the run is over."""


def memory_kb() -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of this process in KiB (Linux)."""
    rss = hwm = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class Tally:
    """Progress shared by a client's consumer and its watchdog.

    The consumer calls :meth:`begin` on the first message (or batch), increments
    ``count`` for every message after it, calls :meth:`note` for every message in
    latency mode, and :meth:`finish` when ``count`` reaches ``expected``.  The
    watchdog calls :meth:`idle` every :data:`POLL` seconds; it ends a run that
    stopped short (lost messages) after ``spec.idle_timeout`` without progress,
    timing it to the last progress seen.
    """

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.expected = spec.count
        self.latency = spec.mode == "latency"
        self.count = 0
        self.first = 0
        self.started = False
        self.done = False
        self.t0 = self.cpu0 = 0.0
        self.t_end = self.cpu_end = 0.0
        self.latencies_ns: list[int] = []
        self.memory: tuple[int, int] | None = None
        self.errors: list[str] = []
        self.extra: dict[str, Any] = {}
        self._seen = 0
        self._seen_t = time.perf_counter()
        self._seen_cpu = time.process_time()
        self._times0 = os.times()

    def begin(self, first: int = 1) -> None:
        """The first ``first`` messages arrived: the timed window starts now."""
        self.t0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self._times0 = os.times()
        self.started = True
        self.first = first
        self.count = first

    def finish(self) -> None:
        """Every expected message arrived (or the client gave up): stop the clock."""
        if not self.done:
            self.t_end = time.perf_counter()
            self.cpu_end = time.process_time()
            if self.started:
                end = os.times()
                self.extra["cpu_user_s"] = end.user - self._times0.user
                self.extra["cpu_system_s"] = end.system - self._times0.system
            self.done = True

    def note(self, envelope: dict[str, Any]) -> None:
        """Latency mode: record one message's age (its ``E`` was stamped at send)."""
        self.latencies_ns.append(time.monotonic_ns() + STAMP_BASE - envelope["data"]["E"])

    def error(self, text: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(text)

    def idle(self) -> bool:
        """Watchdog check: True once the run is over (done, or stalled for too long)."""
        if self.done:
            return True
        now = time.perf_counter()
        if self.count != self._seen:
            self._seen = self.count
            self._seen_t = now
            self._seen_cpu = time.process_time()
            return False
        limit = self.spec.idle_timeout if self.started else START_TIMEOUT
        if now - self._seen_t < limit:
            return False
        self.t_end, self.cpu_end = self._seen_t, self._seen_cpu
        self.done = True
        return True

    def snapshot_memory(self) -> None:
        """Memory mode: read RSS now, while still connected and subscribed."""
        self.memory = memory_kb()


def _percentiles(samples_ns: list[int], window: int) -> dict[str, float]:
    """Latency percentiles in µs; ``p99w`` is the median of per-window p99s.

    A window is one second of messages (``window`` of them).  The median over
    windows keeps one scheduling hiccup of the (virtual) machine from deciding the
    p99 of a whole run.
    """
    if not samples_ns:
        return {}
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(data: list[int], q: float) -> float:
        return data[min(len(data) - 1, int(q * len(data)))] / 1000.0

    windows = [
        sorted(samples_ns[i : i + window])
        for i in range(0, n, window)
        if n - i >= window // 2 or i == 0
    ]
    per_window = sorted(at(w, 0.99) for w in windows)
    return {
        "p50": at(ordered, 0.50),
        "p90": at(ordered, 0.90),
        "p99": at(ordered, 0.99),
        "p99w": per_window[len(per_window) // 2],
        "p999": at(ordered, 0.999),
        "max": ordered[-1] / 1000.0,
        "n": float(n),
    }


class _Reporter:
    """Prints the result line once (from the main thread or the teardown guard)."""

    def __init__(self, result: ClientResult, tally: Tally) -> None:
        self.result = result
        self.tally = tally
        self.lock = threading.Lock()

    def emit(self, note: str = "") -> None:
        with self.lock:
            result, tally = self.result, self.tally
            tally.finish()
            rss, hwm = tally.memory or memory_kb()
            result.received = tally.count
            if tally.started:
                result.timed = tally.count - tally.first
                result.seconds = tally.t_end - tally.t0
                result.cpu_seconds = tally.cpu_end - tally.cpu0
            result.latency_us = _percentiles(tally.latencies_ns, max(1, int(tally.spec.rate)))
            result.rss_end_kb = rss
            result.rss_peak_kb = hwm
            if tally.errors and not result.error:
                result.error = "; ".join(tally.errors)
            result.extra = dict(tally.extra)
            if note:
                result.extra["teardown"] = note
            sys.stdout.write(RESULT_PREFIX + result.to_json() + "\n")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def _track_gc(tally: Tally) -> None:
    """Record garbage collections per generation: count, total and longest seconds."""
    stats = {generation: [0, 0.0, 0.0] for generation in range(3)}
    started = 0.0

    def callback(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        took = time.perf_counter() - started
        entry = stats[info["generation"]]
        entry[0] += 1
        entry[1] += took
        entry[2] = max(entry[2], took)

    gc.callbacks.append(callback)
    tally.extra["gc"] = stats


def _teardown_guard(tally: Tally, reporter: _Reporter) -> None:
    """Report anyway if the library does not shut down within TEARDOWN_GRACE."""
    while not (tally.done and (tally.spec.mode != "memory" or tally.memory is not None)):
        time.sleep(0.25)
    time.sleep(TEARDOWN_GRACE)
    reporter.emit(f"the client did not shut down within {TEARDOWN_GRACE} s")


def main(client: str, run: Callable[[RunSpec, Tally], None]) -> None:
    """Entry point of a client module: run one spec, print one result line, exit."""
    spec = RunSpec.from_json(sys.argv[1])
    tally = Tally(spec)
    result = ClientResult(
        client=client, variant=spec.variant, mode=spec.mode, mix=spec.mix, expected=spec.count
    )
    result.rss_baseline_kb = memory_kb()[0]
    reporter = _Reporter(result, tally)
    threading.Thread(target=_teardown_guard, args=(tally, reporter), daemon=True).start()
    _track_gc(tally)
    profile_path = os.environ.get("BENCH_PROFILE")  # set by benchmarks.profiling
    profiler = cProfile.Profile() if profile_path else None
    if profiler is not None:
        profiler.enable()
    try:
        run(spec, tally)
    except BaseException as exc:  # report whatever happened, then exit
        result.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
    reporter.emit()
