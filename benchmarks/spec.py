"""What one benchmark run is, and what a client reports back (JSON on both ends)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RESULT_PREFIX", "ClientResult", "RunSpec", "ServerStats"]

RESULT_PREFIX = "BENCH-RESULT "
"""A client prints exactly one line starting with this, followed by JSON."""


@dataclass
class RunSpec:
    """One run: what the server sends and what the client subscribes to.

    Attributes:
        mode: ``throughput`` (flood ``count`` frames, then close), ``latency``
            (``count`` frames at ``rate`` per second, each stamped at send time, then
            close) or ``memory`` (one frame per stream, then stay open, idle).
        mix: Message mix (see :data:`benchmarks.frames.MIXES`); ``burst`` for memory.
        count: Frames the server sends.
        streams: Stream names the client subscribes to; the server starts once one
            connection has subscribed to all of them.
        url: ``ws://127.0.0.1:<port>`` of the benchmark server (no path).
        variant: Client variant (e.g. ``iter`` or ``batch`` for trio_binance).
        rate: Frames per second in latency mode.
        idle_timeout: The client stops after this long without a new message.
        hold: Memory mode: seconds to stay idle after the burst before measuring.
        gate: An extra stream name the client subscribes to once its consumer is
            running; when set, the server waits for it too (for clients that
            start reading before their consumer exists).
        tls: Over TLS: ``url`` is ``wss://127.0.0.1:<port>``, a certificate of the
            test CA in ``tests/tls`` (the suite sets ``SSL_CERT_FILE`` for clients).
    """

    mode: str
    mix: str
    count: int
    streams: list[str]
    url: str = ""
    variant: str = ""
    rate: float = 0.0
    idle_timeout: float = 1.5
    hold: float = 0.5
    gate: str = ""
    tls: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))


@dataclass
class ClientResult:
    """What a client process measured.

    ``timed``/``seconds``/``cpu_seconds`` cover the window from the first received
    message (or batch) to the last one; messages of that first delivery are not
    in ``timed``.
    """

    client: str
    variant: str
    mode: str
    mix: str
    expected: int
    received: int = 0
    timed: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latency_us: dict[str, float] = field(default_factory=dict)
    rss_baseline_kb: int = 0
    rss_peak_kb: int = 0
    rss_end_kb: int = 0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    @property
    def rate(self) -> float:
        return self.timed / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_msg(self) -> float:
        return 1e6 * self.cpu_seconds / self.timed if self.timed else 0.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ClientResult:
        return cls(**json.loads(text))


@dataclass
class ServerStats:
    """The server's side of one run: frames sent and the CPU it took to send them."""

    started: bool = False
    sent: int = 0
    bytes: int = 0
    cpu_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def busy(self) -> float:
        """CPU time over wall time while sending (1.0 = one core saturated)."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0
