"""Tests of the fake exchange, driven by trio-websocket's client (not trio_binance's).

Everything runs in memory under ``autojump_clock`` except the listen-mode test,
which uses real loopback sockets and the real clock.  A client helper keeps a
large trio-websocket message queue so that its reader always runs and answers
pings, unless a test wants a client that stops reading.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from typing import Any, cast

import httpx
import orjson
import pytest
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    open_websocket_url,
    wrap_client_stream,
)

from trio_binance._endpoints import Product
from trio_binance.testing import (
    FakeBinance,
    FakeSettings,
    RestResponse,
    open_fake_binance,
)

from ._fake_client import assert_silent, call, connect, receive, rejected

if sys.version_info < (3, 11):
    pass


def close_code(error: pytest.ExceptionInfo[ConnectionClosed]) -> int:
    assert error.value.reason is not None
    return error.value.reason.code


def invalid_stream(request_id: object) -> dict[str, Any]:
    return {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": request_id}


# ------------------------------------------------------------ subscription protocol


async def test_subscribe_list_unsubscribe(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream") as ws:
        sub = {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@depth"], "id": 1}
        assert await call(ws, sub) == {"result": None, "id": 1}
        (conn,) = fake.connections
        assert conn.subscriptions == {"btcusdt@trade", "ethusdt@depth"}
        assert conn.requests[0].method == "SUBSCRIBE" and conn.requests[0].id == 1
        assert await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2}) == {
            "result": ["btcusdt@trade", "ethusdt@depth"],
            "id": 2,
        }
        assert fake.subscribers("btcusdt@trade") == [conn]

        assert fake.publish("btcusdt@trade", {"e": "trade", "t": 7}) == 1
        assert await receive(ws) == {"stream": "btcusdt@trade", "data": {"e": "trade", "t": 7}}

        unsub = {"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}
        assert await call(ws, unsub) == {"result": None, "id": 3}
        assert fake.publish("btcusdt@trade", {"e": "trade"}) == 0
        assert await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 4}) == {
            "result": ["ethusdt@depth"],
            "id": 4,
        }


async def test_combined_property(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/ws") as ws:
        assert await call(ws, {"method": "GET_PROPERTY", "params": ["combined"], "id": 1}) == {
            "result": False,
            "id": 1,
        }
        await call(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 2})
        fake.publish("btcusdt@trade", {"t": 1})
        assert await receive(ws) == {"t": 1}
        set_it = {"method": "SET_PROPERTY", "params": ["combined", True], "id": 3}
        assert await call(ws, set_it) == {"result": None, "id": 3}
        fake.publish("btcusdt@trade", {"t": 2})
        assert await receive(ws) == {"stream": "btcusdt@trade", "data": {"t": 2}}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"method": "SUBSCRIBE", "params": ["BTCUSDT@trade"], "id": 1}, invalid_stream(1)),
        ({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 1}, invalid_stream(1)),
        ({"method": "SUBSCRIBE", "params": ["!ticker@arr"], "id": 1}, invalid_stream(1)),
        ({"method": "SUBSCRIBE", "params": ["!bookTicker"], "id": 1}, invalid_stream(1)),
        ({"method": "SUBSCRIBE", "params": "btcusdt@trade", "id": 1}, invalid_stream(1)),
        ({"method": "SET_PROPERTY", "params": ["combined", 1], "id": 5}, (1, 5)),
        ({"method": "SET_PROPERTY", "params": ["speed", True], "id": 5}, (0, 5)),
        ({"method": "GET_PROPERTY", "params": [7], "id": 5}, (2, 5)),
        ({"method": "FLY", "id": 6}, (2, 6)),
        ({"params": [], "id": 6}, (2, 6)),
        ({"method": "LIST_SUBSCRIPTIONS", "id": 6, "extra": 1}, (2, 6)),
        ({"method": "LIST_SUBSCRIPTIONS", "id": "x" * 37}, (2, None)),
        ({"method": "LIST_SUBSCRIPTIONS", "id": "not-alnum"}, (2, None)),
        ({"method": "LIST_SUBSCRIPTIONS", "id": True}, (2, None)),
        ([1, 2], (2, None)),
    ],
)
async def test_request_errors(
    autojump_clock: trio.testing.MockClock, request_: Any, expected: Any
) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream") as ws:
        reply = await call(ws, request_)
        if isinstance(expected, dict):
            assert reply == expected
        else:
            code, request_id = expected
            assert reply["error"]["code"] == code and reply["id"] == request_id
        assert fake.connections[0].subscriptions == frozenset()


async def test_error_messages_and_spot_ids(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream") as ws:
        await ws.send_message("{nope")
        assert await receive(ws) == {
            "error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
            "id": None,
        }
        reply = await call(ws, {"method": "FLY", "id": 1})
        assert reply["error"]["msg"].startswith("Invalid request: unknown variant `FLY`")
        reply = await call(ws, {"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 2})
        assert reply["error"] == {"code": 1, "msg": "Invalid value type: expected Boolean"}
        # Spot accepts short alphanumeric string ids and null.
        for request_id in ("abc123", None, -5):
            reply = await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": request_id})
            assert reply == {"result": [], "id": request_id}
        assert fake.connections[0].requests[0].message is None


@pytest.mark.parametrize("request_id", ["c174a2b1", -1, None, 1.5])
async def test_futures_reject_non_integer_ids(
    autojump_clock: trio.testing.MockClock, request_id: object
) -> None:
    async with open_fake_binance() as fake, connect(fake, "/options/public/stream") as ws:
        reply = await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": request_id})
        assert reply == {
            "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
            "id": None,
        }
        assert await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2**63}) == {
            "result": [],
            "id": 2**63,
        }


# ------------------------------------------------------------------ URL forms


async def test_raw_path_with_streams(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        connect(fake, "/spot/ws/btcusdt@trade/ethusdt@trade") as ws,
    ):
        (conn,) = fake.connections
        assert not conn.combined
        assert conn.subscriptions == {"btcusdt@trade", "ethusdt@trade"}
        assert fake.publish("ethusdt@trade", {"s": "ETHUSDT"}) == 1
        assert await receive(ws) == {"s": "ETHUSDT"}


async def test_combined_query_path(autojump_clock: trio.testing.MockClock) -> None:
    path = "/spot/stream?streams=btcusdt@trade/btcusdt%40depth@100ms"
    async with open_fake_binance() as fake, connect(fake, path) as ws:
        (conn,) = fake.connections
        assert conn.combined and conn.path == path
        assert conn.subscriptions == {"btcusdt@trade", "btcusdt@depth@100ms"}
        fake.publish("btcusdt@depth@100ms", {"u": 1})
        assert await receive(ws) == {"stream": "btcusdt@depth@100ms", "data": {"u": 1}}
        assert fake.handshakes[0].status == 101 and fake.handshakes[0].product is Product.SPOT


async def test_bad_paths_are_rejected(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        assert (await rejected(fake, "/spot/ws/BTCUSDT@trade")).status_code == 400
        assert (await rejected(fake, "/spot/stream?streams=!ticker@arr")).status_code == 400
        assert (await rejected(fake, "/elsewhere/ws")).status_code == 404
        assert (await rejected(fake, "/spot/public/ws")).status_code == 404
        assert (await rejected(fake, "/pm/ws/listenkey")).status_code == 404  # not modelled yet
        assert [h.status for h in fake.handshakes] == [400, 400, 404, 404, 404]
        assert fake.connections == []


# --------------------------------------------------------------------- routes


async def test_usdm_routes_and_silent_misrouting(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        connect(fake, "/usdm/public/stream") as public,
        connect(fake, "/usdm/market/stream") as market,
        connect(fake, "/usdm/stream") as legacy,
    ):
        sub = {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 1}
        for ws in (public, market, legacy):
            assert await call(ws, sub) == {"result": None, "id": 1}
        conn_public, conn_market, conn_legacy = fake.connections
        assert [c.route for c in fake.connections] == ["public", "market", ""]
        assert fake.open_connections(Product.USDM, route="market") == [conn_market]
        assert conn_public.misrouted == {"btcusdt@aggTrade"}
        assert conn_market.misrouted == {"btcusdt@depth"}
        assert conn_legacy.misrouted == {"btcusdt@aggTrade"}
        # Acknowledged and listed, but never delivered.
        listed = await call(public, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert listed["result"] == ["btcusdt@aggTrade", "btcusdt@depth"]

        assert fake.publish("btcusdt@aggTrade", {"a": 1}) == 1
        assert fake.publish("btcusdt@depth", {"u": 1}) == 2
        assert await receive(market) == {"stream": "btcusdt@aggTrade", "data": {"a": 1}}
        assert await receive(public) == {"stream": "btcusdt@depth", "data": {"u": 1}}
        assert await receive(legacy) == {"stream": "btcusdt@depth", "data": {"u": 1}}
        for ws in (public, market, legacy):
            await assert_silent(ws)


async def test_options_routes(autojump_clock: trio.testing.MockClock) -> None:
    trade, kline = "btc-261225-100000-c@optionTrade", "btc-261225-100000-c@kline_1m"
    async with (
        open_fake_binance() as fake,
        connect(fake, f"/options/public/ws/{trade}/{kline}") as ws,
    ):
        (conn,) = fake.connections
        assert conn.product is Product.OPTIONS and conn.misrouted == {kline}
        assert fake.publish(kline, {"k": 1}) == 0
        assert fake.publish(trade, {"t": 1}) == 1
        assert await receive(ws) == {"t": 1}


async def test_publish_product_filter(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        connect(fake, "/spot/ws/btcusdt@aggTrade") as spot,
        connect(fake, "/coinm/ws/btcusdt@aggTrade"),
    ):
        assert fake.publish("btcusdt@aggTrade", {"a": 1}, product=Product.SPOT) == 1
        assert await receive(spot) == {"a": 1}
        assert fake.publish("btcusdt@aggTrade", {"a": 2}) == 2
        assert len(await fake.wait_for_subscribers("btcusdt@aggTrade", 2)) == 2
        assert len(await fake.wait_for_connections(1, Product.COINM)) == 1


# ------------------------------------------------------------ keepalive and limits


async def test_ping_cadence_answered(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream"):
        (conn,) = fake.connections
        await trio.sleep(19.9)
        assert conn.pings_sent == 0
        await trio.sleep(100.2)  # t = 120.1: pings at 20, 40, ..., 120
        assert conn.pings_sent == 6 and conn.pings_answered == 6
        assert conn.is_open


async def test_pong_deadline_closes_and_unsolicited_pongs_do_not_count(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/ws/btcusdt@trade", queue=1) as ws:
        (conn,) = fake.connections
        # Two undelivered messages fill the client's one-message queue: its
        # reader stops, so server pings go unanswered.
        fake.publish("btcusdt@trade", {"t": 1})
        fake.publish("btcusdt@trade", {"t": 2})
        with trio.move_on_after(200):
            while conn.is_open:
                await ws.pong(b"")  # unsolicited: does not keep the connection alive
                await trio.sleep(5)
        await conn.wait_closed()
        assert (conn.close_code, conn.close_reason, conn.closed_by) == (
            1008,
            "pong timeout",
            "server",
        )
        assert conn.closed_at == pytest.approx(80.0)  # first ping at 20 s, 60 s to answer
        assert conn.pings_answered == 0
        assert await receive(ws) == {"t": 1}
        assert await receive(ws) == {"t": 2}
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
        assert close_code(info) == 1008


async def test_futures_ping_cadence(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/options/market/stream"):
        (conn,) = fake.connections
        await trio.sleep(299)
        assert conn.pings_sent == 0
        await trio.sleep(2)
        assert conn.pings_sent == 1


async def test_incoming_rate_limit(autojump_clock: trio.testing.MockClock) -> None:
    list_subs = orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}).decode()
    async with open_fake_binance() as fake:
        async with connect(fake, "/spot/stream") as paced:
            for _ in range(20):  # exactly 5 per second is allowed
                await paced.send_message(list_subs)
                assert (await receive(paced))["id"] == 1
                await trio.sleep(0.2)
            assert fake.connections[0].is_open

        async with connect(fake, "/spot/stream") as burst:
            for _ in range(6):
                await burst.send_message(list_subs)
            for _ in range(5):
                assert (await receive(burst))["id"] == 1
            with pytest.raises(ConnectionClosed) as info:
                await burst.get_message()
            assert close_code(info) == 1008
        conn = fake.connections[1]
        await conn.wait_closed()
        assert (conn.close_code, conn.close_reason, conn.closed_by) == (
            1008,
            "Too many requests",
            "server",
        )
        assert len(conn.requests) == 6

        async with connect(fake, "/usdm/market/stream") as futures:  # 10 per second
            for _ in range(10):
                await futures.send_message(list_subs)
            for _ in range(10):
                await receive(futures)
        await fake.connections[2].wait_closed()
        assert fake.connections[2].closed_by == "client"


async def test_stream_limit(autojump_clock: trio.testing.MockClock) -> None:
    names = [f"s{i}usdt@trade" for i in range(1025)]
    async with open_fake_binance() as fake:
        async with connect(fake, "/spot/stream") as ws:
            sub = {"method": "SUBSCRIBE", "params": names[:1024], "id": 1}
            assert await call(ws, sub) == {"result": None, "id": 1}
            sub = {"method": "SUBSCRIBE", "params": names[1024:], "id": 2}
            await ws.send_message(orjson.dumps(sub).decode())
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
            assert close_code(info) == 1008
        await fake.connections[0].wait_closed()
        assert fake.connections[0].close_reason == "Too many streams"
        assert len(fake.connections[0].subscriptions) == 1024

        path = "/coinm/stream?streams=" + "/".join(f"s{i}usd_perp@aggTrade" for i in range(201))
        assert (await rejected(fake, path)).status_code == 400


async def test_lifetime_cut(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/usdm/market/stream") as ws:
        (conn,) = fake.connections
        await trio.sleep(24 * 3600 - 1)
        assert conn.is_open
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
        assert close_code(info) == 1001
        await conn.wait_closed()
        assert conn.closed_at == pytest.approx(24 * 3600)
        assert (conn.close_code, conn.closed_by) == (1001, "server")
        assert conn.pings_answered == conn.pings_sent == 479


async def test_server_shutdown_event(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        connect(fake, "/spot/stream") as combined,
        connect(fake, "/spot/ws") as raw,
    ):
        await trio.sleep(1.5)
        assert fake.server_shutdown(Product.SPOT) == 2
        shutdown = {"e": "serverShutdown", "E": fake.now_ms()}
        assert await receive(combined) == {"stream": "!serverShutdown", "data": shutdown}
        assert await receive(raw) == shutdown
        assert shutdown["E"] == 1_767_225_601_500
        assert len(fake.open_connections()) == 2


# ------------------------------------------------------- scripted misbehaviour


async def test_drop(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/ws/btcusdt@trade") as ws:
        (conn,) = fake.connections
        fake.publish("btcusdt@trade", {"t": 1})
        assert await receive(ws) == {"t": 1}
        fake.publish("btcusdt@trade", {"t": 2})
        conn.drop()  # abrupt: what is still queued is lost, like unsent TCP data
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
        assert close_code(info) == 1006
        await conn.wait_closed()
        assert (conn.close_code, conn.closed_by) == (1006, "drop")
        assert fake.subscribers("btcusdt@trade") == []


async def test_close_with_code(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream") as ws:
        (conn,) = fake.connections
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conn.close, 4000, "bye")
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
        assert info.value.reason is not None
        assert (info.value.reason.code, info.value.reason.reason) == (4000, "bye")
        assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "server")
        assert fake.open_connections() == []


async def test_client_close_is_recorded(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        async with connect(fake, "/spot/stream") as ws:
            await ws.aclose(4001, "leaving")
        (conn,) = fake.connections
        await conn.wait_closed()
        assert (conn.close_code, conn.close_reason, conn.closed_by) == (4001, "leaving", "client")


async def test_stall(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/spot/stream") as ws:
        (conn,) = fake.connections
        fake.stall_all()
        assert conn.stalled
        await ws.send_message(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}).decode()
        )
        await fake.wait_until(lambda: conn.subscriptions == {"btcusdt@trade"})
        fake.publish("btcusdt@trade", {"t": 1})
        await assert_silent(ws, 90)  # no data, no response, no pings
        assert conn.pings_sent == 0 and conn.messages_discarded == 2 and conn.is_open
        conn.stall(False)
        fake.publish("btcusdt@trade", {"t": 2})
        assert await receive(ws) == {"stream": "btcusdt@trade", "data": {"t": 2}}
        await trio.sleep(15)  # pings resume on the original 20 s grid: t = 100
        assert conn.pings_sent == conn.pings_answered == 1


async def test_garbage_binary_and_oversized_frames(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        async with connect(fake, "/spot/ws") as ws:
            (conn,) = fake.connections
            conn.send_garbage()
            conn.send_raw(b"\x00\x01binary")
            conn.send_raw("plain text")
            conn.send_json({"anything": [1, 2]})
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(await ws.get_message())
            assert await ws.get_message() == b"\x00\x01binary"
            assert await ws.get_message() == "plain text"
            assert await receive(ws) == {"anything": [1, 2]}
            conn.send_oversized(2_000_000)  # over trio-websocket's 1 MiB default
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
            assert close_code(info) == 1009
        await conn.wait_closed()
        assert (conn.close_code, conn.closed_by) == (1009, "client")

        async with connect(fake, "/spot/ws", queue=1) as ws:
            fake.connections[1].send_oversized(1000)
            assert len(await ws.get_message()) == 1000
            await ws.send_message("x" * ((1 << 20) + 1))  # over the server's limit
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
            assert close_code(info) == 1009
        await fake.connections[1].wait_closed()
        assert (fake.connections[1].close_code, fake.connections[1].closed_by) == (1009, "server")


async def test_slow_consumer_is_dropped(autojump_clock: trio.testing.MockClock) -> None:
    settings = FakeSettings(send_queue_size=10, pipe_buffer_size=1024)
    async with (
        open_fake_binance(settings=settings) as fake,
        connect(fake, "/spot/ws/btcusdt@trade", queue=1) as ws,
    ):
        (conn,) = fake.connections
        payload = {"pad": "x" * 200}
        sent = 0
        while fake.publish("btcusdt@trade", payload):
            sent += 1
            await trio.sleep(0.01)
        assert 10 < sent < 40
        await conn.wait_closed()
        assert (conn.close_code, conn.closed_by) == (1006, "drop")
        assert conn.close_reason == "send queue overflow (slow consumer)"
        received = 0
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.get_message()
                received += 1
        assert received < sent


# ------------------------------------------------------------------- handshakes


async def test_scripted_handshake_rejects(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        fake.reject_handshakes(429, headers={"Retry-After": "30"})
        fake.reject_handshakes(418, count=2, body="banned", product=Product.USDM)
        error = await rejected(fake, "/spot/stream")
        assert error.status_code == 429
        assert (b"retry-after", b"30") in [(k.lower(), v) for k, v in error.headers or []]
        assert (await rejected(fake, "/usdm/public/stream")).body == b"banned"
        async with connect(fake, "/spot/stream"):
            pass
        assert (await rejected(fake, "/usdm/market/stream")).status_code == 418
        async with connect(fake, "/usdm/market/stream"):
            pass
        assert [h.status for h in fake.handshakes] == [429, 418, 101, 418, 101]
        assert fake.handshakes[1].product is Product.USDM
        assert fake.handshakes[1].route == "public"


async def test_connection_attempt_limit(autojump_clock: trio.testing.MockClock) -> None:
    settings = FakeSettings(connection_attempts=3, connection_window=300)
    async with open_fake_binance(settings=settings) as fake:
        for _ in range(3):
            async with connect(fake, "/spot/stream"):
                await trio.sleep(10)
        error = await rejected(fake, "/spot/stream")
        assert error.status_code == 429
        # Rejected attempts count too: the one at t=10 must age out first.
        assert (b"retry-after", b"280") in [(k.lower(), v) for k, v in error.headers or []]
        assert fake.handshakes[-1].reason == "too many connection attempts"
        await trio.sleep(279)
        assert (await rejected(fake, "/spot/stream")).status_code == 429
        await trio.sleep(300)
        async with connect(fake, "/spot/stream"):
            pass
        assert [h.status for h in fake.handshakes] == [101, 101, 101, 429, 429, 101]


async def test_default_connection_attempt_limit(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        for _ in range(300):
            async with connect(fake, "/spot/ws"):
                pass
        assert (await rejected(fake, "/spot/ws")).status_code == 429


# --------------------------------------------------------------- synthetic market


async def test_market_ids_are_continuous(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        market = fake.start_market(["BTCUSDT", "ethusdt"])
        await trio.sleep(10.5)  # nobody listens: ids still advance
        first_trade = market.last_trade_id("BTCUSDT") + 1
        assert first_trade == 100_011
        names = ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@depth@100ms", "btcusdt@bookTicker"]
        events: dict[str, list[Any]] = {name: [] for name in names}
        async with connect(fake, "/spot/stream?streams=" + "/".join(names)) as ws:
            with trio.move_on_after(30):
                while True:
                    message = await receive(ws)
                    events[message["stream"]].append(message["data"])
        trades = [e["t"] for e in events["btcusdt@trade"]]
        assert trades == list(range(first_trade, first_trade + 30))
        aggs = [e["a"] for e in events["btcusdt@aggTrade"]]
        assert aggs == list(range(aggs[0], aggs[0] + 30))
        depth = events["btcusdt@depth@100ms"]
        assert len(depth) >= 25
        for previous, event in itertools.pairwise(depth):
            assert event["U"] == previous["u"] + 1 and event["u"] >= event["U"]
        book_ids = [e["u"] for e in events["btcusdt@bookTicker"]]
        assert len(book_ids) > 30 and book_ids == sorted(set(book_ids))
        assert set(events["btcusdt@bookTicker"][0]) == {"u", "s", "b", "B", "a", "A"}
        trade = events["btcusdt@trade"][0]
        assert trade["e"] == "trade" and trade["s"] == "BTCUSDT" and isinstance(trade["p"], str)
        assert float(trade["p"]) > 0 and trade["E"] == trade["T"]


async def test_market_klines_and_tickers(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        fake.start_market(["BTCUSDT"])
        names = ["btcusdt@kline_1m", "btcusdt@miniTicker", "btcusdt@ticker"]
        seen: dict[str, list[Any]] = {name: [] for name in names}
        async with connect(fake, "/spot/stream?streams=" + "/".join(names)) as ws:
            with trio.move_on_after(125):
                while True:
                    message = await receive(ws)
                    seen[message["stream"]].append(message["data"])
        klines = [e["k"] for e in seen["btcusdt@kline_1m"]]
        final = [k for k in klines if k["x"]]
        assert [k["t"] for k in final] == [1_767_225_600_000, 1_767_225_660_000]
        assert final[0]["n"] == 59 and final[0]["T"] == final[0]["t"] + 59_999
        assert final[1]["f"] == final[0]["L"] + 1
        ticker = seen["btcusdt@ticker"][-1]
        assert ticker["e"] == "24hrTicker" and ticker["n"] == 124 and {"b", "a", "x"} <= set(ticker)
        assert seen["btcusdt@miniTicker"][-1]["c"] == ticker["c"]


@pytest.mark.parametrize(
    ("product", "symbol", "path", "rest_path"),
    [
        (Product.SPOT, "BNBBTC", "/spot/ws/bnbbtc@depth", "/api/v3/depth"),
        (Product.USDM, "BTCUSDT", "/usdm/public/ws/btcusdt@depth@100ms", "/fapi/v1/depth"),
        (Product.COINM, "BTCUSD_PERP", "/coinm/ws/btcusd_perp@depth@500ms", "/dapi/v1/depth"),
        (
            Product.OPTIONS,
            "BTC-261225-1-C",
            "/options/public/ws/btc-261225-1-c@depth@100ms",
            "/eapi/v1/depth",
        ),
    ],
)
async def test_rest_snapshot_matches_diff_stream(
    autojump_clock: trio.testing.MockClock, product: Product, symbol: str, path: str, rest_path: str
) -> None:
    """Binance's local-order-book recipe (facts §6) works against the fake, exactly."""
    spot = product is Product.SPOT
    async with open_fake_binance() as fake:
        market = fake.start_market([symbol], product)
        rest = httpx.AsyncClient(
            transport=fake.transport.http_transport(), base_url=fake.endpoints.spot_rest
        )
        async with rest, connect(fake, path) as ws:
            first = await receive(ws)
            await trio.sleep(0.6)  # between depth events: the snapshot is ahead of the stream
            response = await rest.get(rest_path, params={"symbol": symbol, "limit": 1000})
            snapshot = response.json()
            assert ({"E", "T"} <= set(snapshot)) is not spot
            last_id = snapshot["lastUpdateId"]
            assert last_id > first["u"]
            book = {"b": dict(snapshot["bids"]), "a": dict(snapshot["asks"])}
            applied = 0
            while applied < 10:
                event = await receive(ws)
                if event["u"] <= last_id if spot else event["u"] < last_id:
                    continue
                if applied == 0:
                    if spot:
                        assert event["U"] <= last_id + 1 <= event["u"]
                    else:
                        assert event["U"] <= last_id <= event["u"]
                elif spot:
                    assert event["U"] == last_id + 1
                else:
                    assert event["pu"] == last_id
                for side in ("b", "a"):
                    for price, qty in event[side]:
                        if float(qty) == 0:
                            book[side].pop(price, None)
                        else:
                            book[side][price] = qty
                last_id = event["u"]
                applied += 1
                # Right after a depth event nothing is pending: a fresh snapshot
                # must equal the locally maintained book.
                current = market.depth_snapshot(symbol, 5000)
                assert current["lastUpdateId"] == last_id
                assert dict(current["bids"]) == book["b"] and dict(current["asks"]) == book["a"]
            limited = (
                await rest.get(rest_path, params={"symbol": symbol.lower(), "limit": 10})
            ).json()
        assert len(limited["bids"]) == len(limited["asks"]) == 10
        prices = [float(p) for p, _ in limited["bids"]]
        assert prices == sorted(prices, reverse=True)


async def test_futures_depth_and_shapes(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        httpx.AsyncClient(
            transport=fake.transport.http_transport(), base_url=fake.endpoints.usdm_rest
        ) as rest,
    ):
        fake.start_market(["BTCUSDT"], Product.USDM)
        public = "/usdm/public/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@depth5"
        async with (
            connect(fake, public) as ws,
            connect(fake, "/usdm/market/ws/btcusdt@aggTrade") as agg,
        ):
            events: dict[str, list[Any]] = {}
            with trio.move_on_after(10.5):
                while True:
                    message = await receive(ws)
                    events.setdefault(message["stream"], []).append(message["data"])
            snapshot = (
                await rest.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
            ).json()
            aggregate = await receive(agg)
        depth = events["btcusdt@depth@100ms"]
        for previous, event in itertools.pairwise(depth):
            assert event["pu"] == previous["u"] and event["U"] == previous["u"] + 1
        assert snapshot["lastUpdateId"] >= depth[-1]["u"] and {"E", "T"} <= set(snapshot)
        book_ticker = events["btcusdt@bookTicker"][0]
        assert list(book_ticker)[:4] == ["e", "u", "E", "T"] and book_ticker["e"] == "bookTicker"
        partial = events["btcusdt@depth5"][0]
        assert partial["e"] == "depthUpdate" and len(partial["b"]) == 5 and "pu" in partial
        assert "nq" in aggregate and "M" not in aggregate

        bad = await rest.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 7})
        assert bad.status_code == 400
        unknown = await rest.get("/fapi/v1/depth", params={"symbol": "DOGEUSDT"})
        assert (unknown.status_code, unknown.json()["code"]) == (400, -1121)
        assert (await rest.get("/fapi/v1/time")).json() == {"serverTime": fake.now_ms()}


async def test_depth_gap_injection(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        market = fake.start_market(["BTCUSD_PERP"], Product.COINM)
        async with connect(fake, "/coinm/ws/btcusd_perp@depth") as ws:
            first = await receive(ws)
            assert first["ps"] == "BTCUSD" and first["s"] == "BTCUSD_PERP"
            market.drop_depth_events("btcusd_perp")
            after_gap = await receive(ws)
            assert after_gap["pu"] != first["u"] and after_gap["U"] > first["u"] + 1
            following = await receive(ws)
            assert following["pu"] == after_gap["u"]


async def test_rest_router_scripting(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        client = httpx.AsyncClient(
            transport=fake.transport.http_transport(), base_url=fake.endpoints.spot_rest
        )
        async with client:
            fake.reject_rest(429, path="/api/v3/time", headers={"Retry-After": "7"})
            limited = await client.get("/api/v3/time")
            assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
            assert limited.json()["code"] == -1003
            await trio.sleep(2)
            assert (await client.get("/api/v3/time")).json() == {"serverTime": 1_767_225_602_000}
            assert (await client.get("/api/v3/nothing")).status_code == 404
            assert (await client.post("/api/v3/time")).status_code == 405
            assert (
                await client.get("/api/v3/depth", params={"symbol": "BTCUSDT"})
            ).status_code == 400

            fake.rest.add(
                "POST", "/fapi/v1/listenKey", lambda _: RestResponse(200, {"listenKey": "k"})
            )
            created = await client.post(
                fake.endpoints.usdm_rest + "/fapi/v1/listenKey", data={"a": "1"}
            )
            assert created.json() == {"listenKey": "k"}
        assert [r.path for r in fake.rest_requests][-1] == "/fapi/v1/listenKey"
        assert fake.rest_requests[-1].params == {"a": "1"}


# -------------------------------------------------------------------- lifecycle


async def test_exit_closes_connections_with_1001(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        async with open_fake_binance() as fake:
            stream = await fake.transport.open_stream("h", 1, tls=False)
            ws = await wrap_client_stream(
                nursery, cast(trio.SocketStream, stream), "127.0.0.1", "/spot/stream"
            )
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
        assert close_code(info) == 1001
        assert fake.connections[0].closed_by == "server"
        with pytest.raises(OSError):
            await fake.transport.open_stream("h", 1, tls=False)
        await stream.aclose()


async def test_transport_refuses_tls(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake:
        with pytest.raises(ValueError, match="TLS"):
            await fake.transport.open_stream("h", 1, tls=True)
        assert fake.endpoints.route_url(Product.USDM, "public") == "ws://127.0.0.1:1/usdm/public"


async def test_body_exception_is_not_wrapped() -> None:
    with pytest.raises(KeyError, match="mine"):
        async with open_fake_binance():
            raise KeyError("mine")


async def test_fixture_with_autojump(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    """The ``fake_binance`` fixture comes from the package's pytest11 entry point."""
    async with connect(fake_binance, "/spot/ws") as ws:
        await trio.sleep(3600)
        assert await call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1}) == {"result": [], "id": 1}
        assert fake_binance.connections[0].pings_answered == 180


@pytest.fixture
def slow_pings() -> FakeSettings:
    return FakeSettings().with_limits(Product.SPOT, ping_interval=1, pong_timeout=2)


async def test_settings(slow_pings: FakeSettings, autojump_clock: trio.testing.MockClock) -> None:
    assert slow_pings.spot.ping_interval == 1 and slow_pings.usdm.ping_interval == 180
    with pytest.raises(ValueError):
        FakeSettings(send_queue_size=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        slow_pings.seed = 3  # type: ignore[misc]
    async with open_fake_binance(settings=slow_pings) as fake, connect(fake, "/spot/ws"):
        await trio.sleep(10.5)
        assert fake.connections[0].pings_sent == 10


# ------------------------------------------------------------------ listen mode


async def test_listen_on_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        async with open_fake_binance(listen=True, host="0.0.0.0"):
            pass
    with pytest.raises(ValueError, match="loopback"):
        async with open_fake_binance(listen=True, host="example.com"):
            pass
    with trio.fail_after(10):
        async with open_fake_binance(listen=True, port=0) as fake:
            base = fake.endpoints.spot_stream
            assert base.startswith("ws://127.0.0.1:") and not base.endswith(":0/spot")
            async with open_websocket_url(f"{base}/ws/btcusdt@trade") as ws:
                await fake.wait_for_subscribers("btcusdt@trade")
                fake.publish("btcusdt@trade", {"t": 1})
                assert orjson.loads(await ws.get_message()) == {"t": 1}
            async with httpx.AsyncClient(base_url=fake.endpoints.spot_rest) as client:
                assert (await client.get("/api/v3/time")).json()["serverTime"] > 0
                assert (await client.get("/api/v3/ping")).json() == {}
