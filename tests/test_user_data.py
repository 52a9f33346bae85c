"""User-data streams end to end on the fake exchange, under a fake clock."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
import trio
import trio.testing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from trio_binance import Gap, StreamHandle, UserStreamError
from trio_binance.testing import FakeBinance

from ._support import all_closed, client, library_tasks

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
HOUR = 3600.0
DAY = 24 * HOUR


def order_event(n: int) -> dict[str, Any]:
    return {"e": "ORDER_TRADE_UPDATE", "E": 1_700_000_000_000 + n, "o": {"i": n, "X": "NEW"}}


async def push_when_connected(fake: FakeBinance, kind: str, event: dict[str, Any]) -> None:
    """Push ``event`` once a connection of ``kind`` can carry it (as Binance would)."""
    # The predicate pushes; it is re-evaluated on every change until one connection took it.
    await fake.wait_until(lambda: fake.push_user_event(API_KEY, kind, event) > 0)


async def drain(handle: StreamHandle, into: list[Any], until: float) -> None:
    with trio.move_on_at(until):
        async for msg in handle:
            into.append(msg)


async def test_three_days_of_usdm_user_data_with_expiry_1125_and_drop(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    received: list[Any] = []
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        handle = bsm.futures_user_socket()
        await handle.wait_live()
        end = 3 * DAY
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, handle, received, end + 60)
            n = 0
            while trio.current_time() < end:
                n += 1
                await push_when_connected(fake_binance, "usdm", order_event(n))
                await trio.sleep(600)
                now = trio.current_time()
                if n == 100:  # ~day 0.7: the key expires mid-stream
                    fake_binance.expire_listen_key(API_KEY, "usdm")
                if n == 200:  # ~day 1.4: the next keepalive says -1125
                    fake_binance.fail_listen_key_keepalive(API_KEY, "usdm", code=-1125)
                if n == 300:  # ~day 2.1: the connection drops
                    for conn in fake_binance.open_connections():
                        conn.drop()
                assert now < end + 3600
    events = [m for m in received if not isinstance(m, Gap)]
    assert [e["o"]["i"] for e in events] == list(range(1, n + 1))
    puts = [r.time for r in fake_binance.rest_requests if r.method == "PUT"]
    assert len(puts) >= 3 * 48 - 6
    gaps = [b - a for a, b in itertools.pairwise(puts)]
    assert max(gaps) <= 1800 + 60
    assert all(c.path.startswith("/usdm/private/ws/") for c in fake_binance.connections)
    assert library_tasks() == []


async def test_spot_user_socket_resubscribes_after_a_drop(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        async with bsm.user_socket() as events:
            await push_when_connected(fake_binance, "spot", {"e": "balanceUpdate", "a": "BTC"})
            assert (await events.receive())["e"] == "balanceUpdate"
            [conn] = fake_binance.open_connections()
            conn.drop()
            await trio.sleep(5)
            await push_when_connected(fake_binance, "spot", {"e": "executionReport", "i": 7})
            assert (await events.receive())["i"] == 7
    first, second = fake_binance.connections
    for conn in (first, second):
        assert any(r.method == "userDataStream.subscribe.signature" for r in conn.requests)
    [active] = fake_binance.user_subscriptions(API_KEY, "spot")
    assert active.connection is second


async def test_clock_skew_is_recovered_by_syncing_with_the_server(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    # The fake's clock starts on 2026-01-01 while ours reads today's date: Binance
    # answers -1021 and the client must learn the server's time, then succeed.
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        async with bsm.user_socket() as events:
            await push_when_connected(fake_binance, "spot", {"e": "balanceUpdate"})
            assert (await events.receive())["e"] == "balanceUpdate"
    [conn] = fake_binance.connections
    attempts = [r for r in conn.requests if r.method == "userDataStream.subscribe.signature"]
    assert len(attempts) == 2
    assert any(r.path == "/api/v3/time" for r in fake_binance.rest_requests)


async def test_wrong_secret_fails_the_handle_clearly(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret="not-the-secret") as bsm:
        with pytest.raises(UserStreamError, match="-1022") as info:
            async with bsm.user_socket():
                pass
        assert "not-the-secret" not in str(info.value)
        assert trio.current_time() < 30
        # The manager and other streams are fine.
        trades = bsm.trade_socket("BTCUSDT")
        await trades.wait_live()


async def test_unknown_api_key_fails_listen_key_streams(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    async with client(fake_binance, api_key="nobody", api_secret=SECRET) as bsm:
        handle = bsm.futures_user_socket()
        with pytest.raises(UserStreamError, match="-2015"):
            await handle.receive()


async def test_ed25519_key_end_to_end(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    fake_binance.add_account(API_KEY, pem)
    async with client(fake_binance, api_key=API_KEY, api_secret=pem) as bsm:
        async with bsm.user_socket() as events:
            await push_when_connected(fake_binance, "spot", {"e": "outboundAccountPosition"})
            assert (await events.receive())["e"] == "outboundAccountPosition"


async def test_margin_token_is_renewed_before_expiry_for_three_days(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    received: list[Any] = []
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        handle = bsm.margin_socket()
        await handle.wait_live()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, handle, received, 3 * DAY + 60)
            n = 0
            while trio.current_time() < 3 * DAY:
                n += 1
                await push_when_connected(fake_binance, "margin", {"e": "balanceUpdate", "n": n})
                await trio.sleep(900)
    assert [m["n"] for m in received] == list(range(1, n + 1))
    token_subs = [
        r
        for c in fake_binance.connections
        for r in c.requests
        if r.method == "userDataStream.subscribe.listenToken"
    ]
    assert len(token_subs) >= 3


async def test_isolated_margin_uses_its_symbol(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        async with bsm.isolated_margin_socket("btcusdt") as events:
            await push_when_connected(fake_binance, "isolated:BTCUSDT", {"e": "balanceUpdate"})
            assert (await events.receive())["e"] == "balanceUpdate"


async def test_event_stream_terminated_subscribes_again(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        async with bsm.user_socket() as events:
            fake_binance.terminate_user_streams(API_KEY, "spot")
            await trio.sleep(2)
            await push_when_connected(fake_binance, "spot", {"e": "balanceUpdate", "x": 1})
            assert (await events.receive())["x"] == 1


@pytest.mark.parametrize(
    ("method", "kind", "prefix"),
    [
        ("coin_futures_user_socket", "coinm", "/coinm/ws/"),
        ("coin_futures_socket", "coinm", "/coinm/ws/"),
        ("portfolio_margin_socket", "pm", "/pm/ws/"),
        ("options_user_socket", "options", "/options/private/ws/"),
        ("futures_socket", "usdm", "/usdm/private/ws/"),
    ],
)
async def test_every_listen_key_product(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    method: str,
    kind: str,
    prefix: str,
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        async with getattr(bsm, method)() as events:
            await push_when_connected(fake_binance, kind, {"e": "ACCOUNT_UPDATE", "k": kind})
            assert (await events.receive())["k"] == kind
    assert fake_binance.connections[0].path.startswith(prefix)


async def test_user_methods_need_credentials(fake_binance: FakeBinance) -> None:
    async with client(fake_binance) as bsm:
        with pytest.raises(ValueError, match="api_key"):
            bsm.futures_user_socket()
    async with client(fake_binance, api_key=API_KEY) as bsm:
        with pytest.raises(ValueError, match="api_secret"):
            bsm.user_socket()
    with pytest.raises(ValueError, match="PEM"):
        async with client(fake_binance, api_key=API_KEY, api_secret="-----BEGIN junk"):
            pass


async def test_secrets_never_reach_logs_reprs_or_errors(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_binance")
    fake_binance.add_account(API_KEY, SECRET)
    shown: list[str] = []
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET, verbose=True) as bsm:
        futures = bsm.futures_user_socket()
        spot = bsm.user_socket()
        margin = bsm.margin_socket()
        for handle in (futures, spot, margin):
            await handle.wait_live()
        fake_binance.expire_listen_key(API_KEY, "usdm")
        await trio.sleep(60)
        fake_binance.fail_listen_key_keepalive(API_KEY, "usdm", code=-1125)
        await trio.sleep(HOUR)
        for conn in fake_binance.open_connections():
            conn.drop()
        await trio.sleep(60)
        fake_binance.terminate_user_streams(API_KEY, "margin")
        await trio.sleep(60)
        shown += [repr(bsm), repr(futures), repr(spot), repr(margin), futures.name, spot.name]
        shown += [repr(s) for s in bsm.connection_stats()]
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET + "x") as bsm:
        with pytest.raises(UserStreamError) as info:
            await bsm.user_socket().wait_live()
        shown.append(str(info.value))
        shown.append(repr(info.value))
    secrets = {SECRET, SECRET + "x"}
    for conn in fake_binance.connections:
        if "/private/ws/" in conn.path:
            secrets.add(conn.path.rsplit("/", 1)[-1])
        for request in conn.requests:
            params = request.params if isinstance(request.params, dict) else {}
            if "listenToken" in params:
                secrets.add(params["listenToken"])
            if "signature" in params:
                secrets.add(params["signature"])
    assert len(secrets) >= 6  # keys, tokens and signatures were really used
    text = "\n".join([r.getMessage() for r in caplog.records] + shown)
    assert caplog.records
    for secret in secrets:
        assert secret not in text


async def test_leaving_the_manager_ends_user_streams_and_renewals(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with client(fake_binance, api_key=API_KEY, api_secret=SECRET) as bsm:
        for handle in (bsm.futures_user_socket(), bsm.user_socket(), bsm.margin_socket()):
            await handle.wait_live()
        await trio.sleep(2 * HOUR)
    assert library_tasks() == []
    await all_closed(fake_binance)
    puts_before = len([r for r in fake_binance.rest_requests if r.method == "PUT"])
    await trio.sleep(5 * HOUR)
    assert len([r for r in fake_binance.rest_requests if r.method == "PUT"]) == puts_before
