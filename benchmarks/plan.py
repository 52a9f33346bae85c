"""Which runs the suite makes, in which order (repetitions interleaved)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .frames import memory_streams, mix_streams
from .registry import Client
from .spec import RunSpec

__all__ = ["LATENCY_RATE", "Job", "Profile", "build_jobs"]

LATENCY_RATE = 2000.0
"""Messages per second of the latency scenario."""


@dataclass(frozen=True)
class Profile:
    """Sizes and repetitions of one suite mode (``--quick`` or full).

    Every client gets the same message count per mix, so the loss check is the same
    for everyone; slow clients just take longer.
    """

    name: str
    counts: dict[str, int]
    throughput_reps: dict[str, int]
    latency_count: int
    latency_reps: int
    memory_sizes: tuple[int, ...] = (1, 100, 1000)
    memory_reps: int = 1
    tls_reps: int = 1
    slow_start_everywhere: bool = True
    idle_timeout: float = 1.5


QUICK = Profile(
    name="quick",
    counts={"mixed": 100_000, "trade": 100_000, "depth": 20_000},
    throughput_reps={"mixed": 3, "trade": 1, "depth": 1},
    latency_count=5_000,
    latency_reps=1,
    memory_reps=1,
    tls_reps=1,
    slow_start_everywhere=False,
)
FULL = Profile(
    name="full",
    counts={"mixed": 300_000, "trade": 300_000, "depth": 60_000},
    throughput_reps={"mixed": 5, "trade": 3, "depth": 3},
    latency_count=20_000,
    latency_reps=5,
    memory_reps=3,
    tls_reps=3,
)


@dataclass
class Job:
    client: Client
    spec: RunSpec
    rep: int
    streams: int = field(default=0)


def _rotate(clients: list[Client], by: int) -> list[Client]:
    if not clients:
        return clients
    by %= len(clients)
    return clients[by:] + clients[:by]


def build_jobs(
    profile: Profile,
    clients: list[Client],
    *,
    throughput: bool = True,
    latency: bool = True,
    memory: bool = True,
    tls: bool = True,
) -> list[Job]:
    """Every run of the suite; within each repetition the client order rotates."""
    jobs: list[Job] = []

    def spec_for(
        client: Client, mode: str, mix: str, count: int, streams: list[str], over_tls: bool = False
    ) -> RunSpec:
        return RunSpec(
            mode=mode,
            mix=mix,
            count=count,
            streams=streams,
            variant=client.variant,
            rate=LATENCY_RATE if mode == "latency" else 0.0,
            idle_timeout=profile.idle_timeout,
            gate="gobench@trade" if client.gated else "",
            tls=over_tls,
        )

    def runs_here(client: Client, mode: str, mix: str) -> bool:
        if not client.slow_start or profile.slow_start_everywhere:
            return True
        return mode == "throughput" and mix == "mixed"

    if throughput:
        for rep in range(max(profile.throughput_reps.values())):
            for mix, reps in profile.throughput_reps.items():
                if rep >= reps:
                    continue
                for client in _rotate(clients, rep):
                    if rep > 0 and client.slow_start and not profile.slow_start_everywhere:
                        continue
                    if runs_here(client, "throughput", mix):
                        spec = spec_for(
                            client, "throughput", mix, profile.counts[mix], mix_streams(mix)
                        )
                        jobs.append(Job(client, spec, rep, len(spec.streams)))
    if latency:
        for rep in range(profile.latency_reps):
            for client in _rotate(clients, rep):
                if runs_here(client, "latency", "mixed"):
                    spec = spec_for(
                        client, "latency", "mixed", profile.latency_count, mix_streams("mixed")
                    )
                    jobs.append(Job(client, spec, rep, len(spec.streams)))
    if tls:
        tls_modes = [("throughput", profile.counts["mixed"])] if throughput else []
        if latency:
            tls_modes.append(("latency", profile.latency_count))
        for rep in range(profile.tls_reps):
            for client in _rotate([c for c in clients if c.tls], rep):
                for mode, count in tls_modes:
                    spec = spec_for(client, mode, "mixed", count, mix_streams("mixed"), True)
                    jobs.append(Job(client, spec, rep, len(spec.streams)))
    if memory:
        for rep in range(profile.memory_reps):
            for size in profile.memory_sizes:
                for client in _rotate(clients, rep):
                    if runs_here(client, "memory", "burst"):
                        names = memory_streams(size)
                        jobs.append(
                            Job(client, spec_for(client, "memory", "burst", size, names), rep, size)
                        )
    return jobs
