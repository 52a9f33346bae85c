"""Replaying a recording through the fake exchange: :func:`replay_recording`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Literal, final

import trio

from .._endpoints import Product
from ..recording import RecordedGap, RecordingError, read_header, read_recording, recording_files
from ._exchange import FakeBinance

__all__ = ["ReplayStats", "replay_recording"]

_PathLike = str | os.PathLike[str]


@final
@dataclasses.dataclass
class ReplayStats:
    """What :func:`replay_recording` did.

    Attributes:
        messages: Recorded messages published.
        undelivered: Of those, messages no connection was subscribed to.
        gaps: Recorded gaps met.
        drops: Connections closed to reproduce those gaps (``gaps="reconnect"``).
    """

    messages: int = 0
    undelivered: int = 0
    gaps: int = 0
    drops: int = 0


async def replay_recording(
    fake: FakeBinance,
    paths: _PathLike | Iterable[_PathLike],
    *,
    speed: float | None = 1.0,
    wait_for: Iterable[str] | None = None,
    gaps: Literal["reconnect", "skip"] = "reconnect",
) -> ReplayStats:
    """Publish a recording (``trio-binance record``) through the fake exchange.

    The application under test does not change: it connects to the fake
    (``open_binance_streams(endpoints=fake.endpoints, transport=fake.transport)``,
    or the fake's endpoints over 127.0.0.1) and subscribes as usual; this function
    plays the recorded messages to it in recorded order::

        async def test_my_bot_on_yesterdays_incident(fake_binance, autojump_clock):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(my_bot, fake_binance.endpoints, fake_binance.transport)
                stats = await replay_recording(fake_binance, "recordings/incident")
            ...

    Under a fake clock (``autojump_clock``) the recorded pace costs no real time
    and is deterministic.

    Args:
        fake: The fake exchange to publish through.
        paths: A recording directory, or files of it, or several.
        speed: ``1.0`` replays at the recorded pace, ``2.0`` twice as fast, ``None``
            as fast as the client reads (the fake's send queues are never overrun).
            Pauses between separate recording sessions are skipped.
        wait_for: Streams the replay waits for before it starts, until a client has
            subscribed to each; every recorded stream by default, ``[]`` for none.
        gaps: ``"reconnect"`` reproduces each recorded gap by closing the
            connections that carry its stream, after sending what they hold (the
            client reconnects and reports a gap of its own), then waits for the
            stream to be subscribed again;
            ``"skip"`` ignores recorded gaps.

    Returns:
        Counts of what was replayed.

    Raises:
        RecordingError: The recording is missing or unreadable.
        ValueError: A bad ``speed`` or ``gaps``, or files of different markets.
    """
    if speed is not None and not speed > 0:
        raise ValueError(
            f"speed must be a positive number or None (as fast as possible), got {speed!r}"
        )
    if gaps not in ("reconnect", "skip"):
        raise ValueError(f"gaps must be 'reconnect' or 'skip', got {gaps!r}")
    files = recording_files([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    headers = [read_header(path) for path in files]
    markets = {str(header.get("market")) for header in headers}
    if len(markets) != 1:
        raise ValueError(f"the files mix markets {sorted(markets)}; replay one market at a time")
    try:
        product = Product(markets.pop())
    except ValueError:
        raise RecordingError(f"{files[0]}: unknown market {headers[0].get('market')!r}") from None
    if wait_for is None:
        wanted = list(dict.fromkeys(s for header in headers for s in header.get("streams", [])))
    else:
        wanted = list(wait_for)
    await fake.wait_until(lambda: all(fake.has_subscribers(s, product) for s in wanted))
    high_water = max(1, fake.settings.send_queue_size // 2)
    stats = ReplayStats()
    session: object = None
    start = t0 = 0.0
    dropped: set[tuple[int, str]] = set()
    for path, header in zip(files, headers, strict=True):
        for record in read_recording([path]):
            if header.get("session") != session:  # a new recording session: no pause
                session = header.get("session")
                start, t0 = trio.current_time(), record.time_ns / 1e9
            if speed is not None:
                await trio.sleep_until(start + (record.time_ns / 1e9 - t0) / speed)
            if isinstance(record, RecordedGap):
                stats.gaps += 1
                key = (record.time_ns, record.connection)
                if gaps == "reconnect" and key not in dropped:
                    dropped.add(key)
                    stats.drops += await _reconnect(fake, record.stream, product)
                continue
            conns = fake.subscribers(record.stream, product=product)
            for conn in conns:
                if conn.queued >= high_water:
                    await conn.wait_queue_below(high_water)
            stats.messages += 1
            if not fake.publish(record.stream, record.data, product=product):
                stats.undelivered += 1
            if speed is None:
                await trio.lowlevel.checkpoint()
    return stats


async def _reconnect(fake: FakeBinance, stream: str, product: Product) -> int:
    """Close the connections carrying ``stream``; wait until it is subscribed again.

    Each is closed as a server going away (1001) after what is queued has been
    sent, so the client loses nothing recorded before the gap; it reconnects and
    reports a gap of its own.
    """
    conns = fake.subscribers(stream, product=product)
    for conn in conns:
        await conn.close(1001, "replaying a recorded gap")
    if conns:
        await fake.wait_until(
            lambda: any(c not in conns for c in fake.subscribers(stream, product=product))
        )
    return len(conns)
