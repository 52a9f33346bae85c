"""What the order-book benchmark's clients share: the spec, CPU and memory readings.

A client runs as ``python -m benchmarks.clients.book_<name> '<spec JSON>'`` and
prints one ``BENCH-RESULT {...}`` line.  Spec keys: ``scenario`` (``cpu``,
``memory`` or ``resync``), ``host`` (``127.0.0.1:<port>``), ``symbols``, ``limit``
(snapshot levels), ``last_id`` (the update id the cpu run ends at).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ..spec import RESULT_PREFIX
from .common import memory_kb

__all__ = ["Clock", "emit", "memory_kb", "spec"]


def spec() -> dict[str, Any]:
    return dict(json.loads(sys.argv[1]))


class Clock:
    """CPU and wall time of a window (the whole process's CPU, all threads)."""

    def start(self) -> None:
        self.cpu0, self.t0 = time.process_time(), time.perf_counter()

    def stop(self) -> tuple[float, float]:
        return time.process_time() - self.cpu0, time.perf_counter() - self.t0


def emit(result: dict[str, Any]) -> None:
    """Print the result line and leave at once (no library teardown is timed)."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)
