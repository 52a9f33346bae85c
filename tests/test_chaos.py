"""Chaos: hours of virtual time, every fault the fake can script, and the invariant.

For each seed (1.5 hours of faults, then quiet) the fake exchange publishes
id-carrying streams (trades and aggTrades, whose ids follow one another;
bookTicker, whose ids only increase) and a stream without ids (klines), steadily
and in bursts, while a seeded schedule scripts every fault the fake knows: abrupt
drops, closes 1000/1001/1011, garbage, binary and oversized frames, congested and
dead-path stalls, ``serverShutdown`` (sometimes with the old connection going
silent as its replacement comes up), handshakes rejected with 503 and 429 (with
``Retry-After``) or left hanging, and a 24-hour cut shortened to one hour (which the
client sometimes rotates before, sometimes not).  Several handles with different
overflow policies read the streams, one of them slowly.

For every handle and stream, every published message must be delivered once, in
order, or lie inside a gap that reached the consumer before the next message and
names the last id delivered; and every message the client received must be
accounted for in the connection's counters.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing

from trio_binance import Gap, QueueOverflow, Settings, StreamHandle
from trio_binance.testing import FakeBinance, FakeSettings, open_fake_binance

from ._ledger import check_stream
from ._support import client

HOUR = 3600.0
STREAMS = {
    "btcusdt@trade": "t",
    "ethusdt@aggTrade": "a",
    "btcusdt@bookTicker": "u",
    "btcusdt@kline_1m": "n",  # no id the library knows: it matches by content
}


def message(stream: str, n: int) -> dict[str, Any]:
    key = STREAMS[stream]
    if key == "t":
        return {"e": "trade", "E": n, "s": "BTCUSDT", "t": n, "p": "1", "q": "1"}
    if key == "a":
        return {"e": "aggTrade", "E": n, "s": "ETHUSDT", "a": n, "p": "1", "q": "1"}
    if key == "u":
        return {"u": n * 3, "s": "BTCUSDT", "b": "1", "B": "1", "a": "2", "A": "1"}
    return {"e": "kline", "E": n, "s": "BTCUSDT", "k": {"t": n, "c": str(n)}, "n": n}


def id_of(stream: str) -> Callable[[Any], int]:
    key = STREAMS[stream]
    if key == "u":
        return lambda m: int(m["u"]) // 3
    return lambda m: int(m[key])


class Market:
    """The exchange side: publishes every stream, remembering every id it made."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake
        self.published: dict[str, list[int]] = {name: [] for name in STREAMS}
        self.n = 0

    def tick(self) -> None:
        self.n += 1
        for stream in STREAMS:
            self.published[stream].append(self.n)
            self.fake.publish(stream, message(stream, self.n))

    def burst(self) -> None:
        for _ in range(20):
            self.tick()

    async def run(self, rng: random.Random) -> None:
        while True:
            self.tick()
            if rng.random() < 0.05:  # a burst: frames queued back to back
                for _ in range(rng.randint(5, 40)):
                    self.tick()
            await trio.sleep(rng.choice((1.0, 4.0, 10.0)))


async def faults(
    fake: FakeBinance, rng: random.Random, until: float, burst: Callable[[], None]
) -> list[str]:
    done: list[str] = []
    while trio.current_time() < until:
        await trio.sleep(rng.uniform(45, 300))
        conns = fake.open_connections()
        kind = rng.choice(
            [
                "drop", "close1000", "close1001", "close1011", "garbage", "binary",
                "oversized", "short_stall", "long_stall", "shutdown", "shutdown_silent",
                "reject503", "reject429", "hang",
            ]
        )  # fmt: skip
        done.append(kind)
        if kind.startswith("reject"):
            status = int(kind[-3:])
            headers = {"Retry-After": "7"} if status == 429 else None
            fake.reject_handshakes(status, rng.randint(1, 3), headers=headers)
            kind = "drop"  # and make the client reconnect now
        elif kind == "hang":
            fake.hang_handshakes(rng.randint(1, 2))
            kind = "drop"
        if not conns:
            continue
        conn = rng.choice(conns)
        if kind == "drop":
            conn.drop()
        elif kind.startswith("close"):
            await conn.close(int(kind[5:]), "chaos")
        elif kind == "garbage":
            conn.send_garbage()
        elif kind == "binary":
            conn.send_raw(b"\x00\x01binary")
        elif kind == "oversized":
            conn.send_oversized(64 * 1024)
        elif kind == "short_stall":  # congestion: late, but nothing lost (TCP)
            conn.stall(discard=False)
            await trio.sleep(rng.uniform(1, 20))
            conn.stall(False, discard=False)
        elif kind == "long_stall":  # a dead path, past the liveness deadline
            conn.stall()
            await trio.sleep(120)
            conn.stall(False)
        elif kind == "shutdown":
            conn.server_shutdown()
        elif kind == "shutdown_silent":
            before = len(fake.connections)
            conn.server_shutdown()
            with trio.move_on_after(5):
                await fake.wait_until(lambda n=before: len(fake.connections) > n)
            conn.stall()  # the old connection goes silent as its replacement comes up
        if rng.random() < 0.7:
            burst()  # messages in flight right as the fault happens
    return done


async def read(handle: StreamHandle, items: list[Any], slow: random.Random | None) -> None:
    try:
        async for item in handle:
            items.append(item)
            if slow is not None and slow.random() < 0.01:
                await trio.sleep(slow.uniform(1, 30))  # a consumer that stalls now and then
    except QueueOverflow as exc:
        items.append(exc)


def per_stream(items: list[Any], stream: str, multiplex: bool) -> list[Any]:
    """One stream's messages and gaps, out of a handle's items."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, Gap):
            if item.stream == stream or (multiplex and item.reason == "overflow"):
                out.append(item)
        elif isinstance(item, QueueOverflow):
            break
        elif not multiplex:
            out.append(item)
        elif item["stream"] == stream:
            out.append(item["data"])
    return out


async def one_seed(seed: int) -> None:
    rng = random.Random(seed)
    fake_settings = FakeSettings(max_lifetime=HOUR, send_queue_size=2_000)
    settings = Settings(max_lifetime=HOUR, rotation_margin=120, rotation_jitter=600)
    async with open_fake_binance(settings=fake_settings) as fake:
        market = Market(fake)
        handles: list[tuple[str, StreamHandle, bool, list[Any]]] = []
        async with client(fake, settings=settings, gap_notices=True, rng=rng) as bsm:
            names = list(STREAMS)
            handles.append(("multiplex", bsm.multiplex_socket(names), True, []))
            handles.append(("trade", bsm.trade_socket("BTCUSDT"), False, []))
            handles.append(("kline", bsm.kline_socket("BTCUSDT", "1m"), False, []))
            small = bsm.with_options(overflow="drop_oldest", max_queue_size=5)
            handles.append(("ticker", small.symbol_book_ticker_socket("BTCUSDT"), False, []))
            raising = bsm.with_options(overflow="raise", max_queue_size=2_000)
            handles.append(("agg", raising.aggtrade_socket("ETHUSDT"), False, []))
            for _, handle, _, _ in handles:
                await handle.wait_live()
            async with trio.open_nursery() as nursery:
                for label, handle, _, items in handles:
                    slow = random.Random(seed) if label == "ticker" else None
                    nursery.start_soon(read, handle, items, slow)
                nursery.start_soon(market.run, random.Random(seed + 1))
                kinds = await faults(fake, rng, 1.5 * HOUR, market.burst)
                await trio.sleep(300)  # quiet: everything recovers and delivers again
                nursery.cancel_scope.cancel()
            stats = bsm.connection_stats()
    assert len(set(kinds)) >= 5, kinds
    for label, _, multiplex, items in handles:
        for stream in STREAMS if multiplex else [handle_stream(label)]:
            verdict = check_stream(
                market.published[stream],
                per_stream(items, stream, multiplex),
                id_of(stream),
                check_last_id=STREAMS[stream] != "n" and not multiplex_overflow(items, multiplex),
                raw_id_of=lambda m, key=STREAMS[stream]: int(m[key]),
            )
            assert verdict.ok, f"seed {seed}, {label} {stream}: {verdict}"
            assert verdict.delivered > 50, f"seed {seed}, {label} {stream}: {verdict}"
    assert any(s.reconnects for s in stats)


def handle_stream(label: str) -> str:
    return {
        "trade": "btcusdt@trade",
        "kline": "btcusdt@kline_1m",
        "ticker": "btcusdt@bookTicker",
        "agg": "ethusdt@aggTrade",
    }[label]


def multiplex_overflow(items: list[Any], multiplex: bool) -> bool:
    return multiplex and any(isinstance(i, Gap) and i.reason == "overflow" for i in items)


@pytest.mark.parametrize("seed", range(24))
def test_chaos(seed: int) -> None:
    trio.run(one_seed, seed, clock=trio.testing.MockClock(autojump_threshold=0))
