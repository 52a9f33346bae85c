"""The accounting invariant over real loopback sockets, on a compressed schedule.

The in-memory chaos test (test_chaos.py) covers hours of virtual time.  This one
runs the real network stack (non-blocking sockets, the frame reader, TCP's own
buffering and coalescing of frames into reads) against the fake exchange listening
on 127.0.0.1, with its keepalive deadlines and the client's shrunk so that a few
seconds hold drops, closes, garbage, stalls, ``serverShutdown`` with a silent old
connection, and rejected or hanging handshakes.  Timing is real, so which frames
share a read differs from run to run; the invariant must hold whatever it is.
"""

from __future__ import annotations

import random
from typing import Any

import trio

from trio_binance import Gap, ProductLimits, Settings, open_binance_streams
from trio_binance.testing import FakeSettings, open_fake_binance
from trio_binance.testing._settings import ProductLimits as FakeLimits

from ._ledger import check_stream

STREAMS = ("btcusdt@trade", "btcusdt@bookTicker")


async def test_no_silent_loss_over_loopback_sockets() -> None:
    fake_settings = FakeSettings(
        spot=FakeLimits(0.5, 2.0, 1024, 50), handshake_timeout=1.0, close_timeout=0.2
    )
    limits = Settings().limits | {
        # The fake's cadence: pings every 0.5 s; we may send 50 messages a second.
        p: ProductLimits(0.5, 2.0, 1024, 50.0, pongs_count=True)
        for p in Settings().limits
    }
    settings = Settings(
        limits=limits,
        idle_grace=0.3,
        pong_timeout=0.4,
        connect_timeout=0.5,
        request_timeout=1.0,
        rotation_overlap=0.5,
        backoff_initial=0.02,
        backoff_max=0.1,
        reject_backoff=0.1,
        ban_backoff=0.1,
        healthy_after=0.2,
        live_timeout=None,
    )
    rng = random.Random(12)
    published: dict[str, list[int]] = {name: [] for name in STREAMS}
    items: list[Any] = []
    async with open_fake_binance(listen=True, settings=fake_settings) as fake:
        async with open_binance_streams(
            endpoints=fake.endpoints, settings=settings, gap_notices=True
        ) as bsm:
            handle = bsm.multiplex_socket(list(STREAMS))
            await handle.wait_live()

            async def publish() -> None:
                n = 0
                while True:
                    for _ in range(rng.randint(1, 30)):
                        n += 1
                        published["btcusdt@trade"].append(n)
                        fake.publish("btcusdt@trade", {"e": "trade", "E": n, "t": n})
                        published["btcusdt@bookTicker"].append(n)
                        fake.publish("btcusdt@bookTicker", {"u": 5 * n, "s": "BTCUSDT"})
                    await trio.sleep(0.002)

            async def read() -> None:
                async for item in handle:
                    items.append(item)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(publish)
                nursery.start_soon(read)
                for kind in [
                    "drop", "garbage", "close1011", "binary", "shutdown", "shutdown_silent",
                    "reject503", "drop", "reject429", "hang", "stall", "close1001",
                ]:  # fmt: skip
                    await trio.sleep(0.15)
                    with trio.fail_after(5):
                        conns = await fake.wait_for_connections(1)
                    conn = conns[-1]
                    if kind == "drop":
                        conn.drop()
                    elif kind.startswith("close"):
                        await conn.close(int(kind[5:]), "chaos")
                    elif kind == "garbage":
                        conn.send_garbage()
                    elif kind == "binary":
                        conn.send_raw(b"\x00binary")
                    elif kind == "shutdown":
                        conn.server_shutdown()
                    elif kind == "shutdown_silent":
                        before = len(fake.connections)
                        conn.server_shutdown()
                        with trio.move_on_after(1):
                            await fake.wait_until(lambda n=before: len(fake.connections) > n)
                        conn.stall()
                    elif kind.startswith("reject"):
                        headers = {"Retry-After": "0"} if kind == "reject429" else None
                        fake.reject_handshakes(int(kind[-3:]), 2, headers=headers)
                        conn.drop()
                    elif kind == "hang":
                        fake.hang_handshakes(1)
                        conn.drop()
                    elif kind == "stall":
                        conn.stall()  # a dead path: replaced within the shrunk deadline
                await trio.sleep(1.5)  # quiet: recover and deliver again
                nursery.cancel_scope.cancel()
            [stats] = bsm.connection_stats()
    assert stats.reconnects >= 5
    for stream in STREAMS:
        key = "t" if stream.endswith("trade") else "u"
        mine = [i for i in items if isinstance(i, Gap) and i.stream == stream]
        mine_items = [
            i if isinstance(i, Gap) else i["data"]
            for i in items
            if (isinstance(i, Gap) and i.stream == stream)
            or (not isinstance(i, Gap) and i["stream"] == stream)
        ]
        verdict = check_stream(
            published[stream],
            mine_items,
            lambda m, key=key: int(m[key]) // (5 if key == "u" else 1),
            raw_id_of=lambda m, key=key: int(m[key]),
        )
        assert verdict.ok, f"{stream}: {verdict}"
        assert verdict.delivered > 1000 and mine, f"{stream}: {verdict}"
