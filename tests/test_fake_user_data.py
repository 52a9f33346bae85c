"""Tests of the fake exchange's user-data side, driven by plain httpx and trio-websocket.

Accounts, listen keys (REST and their streams), margin listen tokens and the spot
WebSocket API, all in memory under ``autojump_clock``.  Signatures here are made
with ``hmac`` and ``cryptography`` directly, not with trio_binance's signer, so
the fake's verification is checked independently of the client's signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import sys
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import trio
import trio.testing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from trio_binance._endpoints import Product
from trio_binance.testing import FakeBinance, FakeSettings, open_fake_binance

from ._fake_client import assert_silent, call, connect, receive, rejected

if sys.version_info < (3, 11):
    pass

# Binance's documented example key pair (HMAC).
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
OTHER_KEY = "K" * 64
OTHER_SECRET = "s" * 64
HEADERS = {"X-MBX-APIKEY": API_KEY}

Sign = Callable[[str], str]


def hmac_signer(secret: str) -> Sign:
    return lambda payload: hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed25519_signer(key: ed25519.Ed25519PrivateKey) -> Sign:
    return lambda payload: base64.b64encode(key.sign(payload.encode())).decode()


def pem(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


sign_hmac = hmac_signer(SECRET)


# ---------------------------------------------------------------------- helpers


@asynccontextmanager
async def rest(fake: FakeBinance) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport.http_transport(), base_url=fake.endpoints.usdm_rest
    ) as client:
        yield client


def signature_request(
    fake: FakeBinance,
    request_id: object = 1,
    *,
    api_key: str = API_KEY,
    sign: Sign = sign_hmac,
    skew_ms: int = 0,
    **extra: object,
) -> dict[str, Any]:
    """A ``userDataStream.subscribe.signature`` request, signed as Binance documents."""
    params: dict[str, object] = {"apiKey": api_key, "timestamp": fake.now_ms() + skew_ms, **extra}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = sign(payload)
    return {"id": request_id, "method": "userDataStream.subscribe.signature", "params": params}


async def post_listen_token(
    http: httpx.AsyncClient,
    fake: FakeBinance,
    *,
    sign: Sign = sign_hmac,
    api_key: str = API_KEY,
    skew_ms: int = 0,
    **params: str,
) -> httpx.Response:
    """``POST /sapi/v1/userListenToken``, signed over the query string as sent."""
    query = urllib.parse.urlencode(
        {**params, "timestamp": fake.now_ms() + skew_ms, "recvWindow": 5000}
    )
    query += "&signature=" + urllib.parse.quote(sign(query), safe="")
    return await http.post(
        f"{fake.endpoints.spot_rest}/sapi/v1/userListenToken?{query}",
        headers={"X-MBX-APIKEY": api_key},
    )


def error(request_id: object, status: int, code: int, msg: str) -> dict[str, Any]:
    return {"id": request_id, "status": status, "error": {"code": code, "msg": msg}}


def terminated(fake: FakeBinance, subscription_id: int) -> dict[str, Any]:
    return {
        "subscriptionId": subscription_id,
        "event": {"e": "eventStreamTerminated", "E": fake.now_ms()},
    }


# ------------------------------------------------------------------ listen keys


async def test_listen_key_lifecycle(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        response = await http.post("/fapi/v1/listenKey", headers=HEADERS)
        assert response.status_code == 200
        key = response.json()["listenKey"]
        assert len(key) == 60 and key.isalnum()
        assert fake.listen_key(API_KEY, "usdm") == key

        await trio.sleep(1800)
        # POST while a key is active: the same key, extended.
        assert (await http.post("/fapi/v1/listenKey", headers=HEADERS)).json() == {"listenKey": key}
        async with connect(fake, f"/usdm/private/ws/{key}") as ws:
            (conn,) = fake.user_connections(API_KEY, "usdm")
            assert (conn.service, conn.user_kind, conn.product, conn.route) == (
                "user_data",
                "usdm",
                Product.USDM,
                "private",
            )
            assert conn.path == f"/usdm/private/ws/{key}" and key not in repr(conn)
            event = {"e": "ORDER_TRADE_UPDATE", "E": fake.now_ms(), "o": {"s": "BTCUSDT"}}
            assert fake.push_user_event(API_KEY, "usdm", event) == 1
            assert await receive(ws) == event  # bare, no envelope

            await trio.sleep(3599)  # one second before the POST's hour is up
            assert fake.listen_key(API_KEY, "usdm") == key
            response = await http.put("/fapi/v1/listenKey", headers=HEADERS)
            assert (response.status_code, response.json()) == (200, {"listenKey": key})
            extended_at = trio.current_time()

            message = await receive(ws)  # nothing else comes until the key lapses
            assert trio.current_time() == pytest.approx(extended_at + 3600)
            assert message == {"e": "listenKeyExpired", "E": fake.now_ms(), "listenKey": key}
            assert fake.listen_key(API_KEY, "usdm") is None
            assert fake.push_user_event(API_KEY, "usdm", event) == 0
            assert conn.is_open  # open, but silent from now on
            await assert_silent(ws, 600)

            response = await http.put("/fapi/v1/listenKey", headers=HEADERS)
            assert (response.status_code, response.json()) == (
                400,
                {"code": -1125, "msg": "This listenKey does not exist."},
            )
            new_key = (await http.post("/fapi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
            assert new_key != key
            assert (await rejected(fake, f"/usdm/private/ws/{key}")).status_code == 400
            assert fake.handshakes[-1].reason == "invalid listen key"
            assert key not in repr(fake.handshakes[-1])


async def test_listen_key_kinds_paths_and_cadence(autojump_clock: trio.testing.MockClock) -> None:
    paths = {
        "usdm": ("/fapi/v1/listenKey", "/usdm/private/ws/{}", Product.USDM, 180),
        "coinm": ("/dapi/v1/listenKey", "/coinm/ws/{}", Product.COINM, 180),
        "pm": ("/papi/v1/listenKey", "/pm/ws/{}", Product.USDM, 180),
        "options": ("/eapi/v1/listenKey", "/options/private/ws/{}", Product.OPTIONS, 300),
    }
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        fake.add_account(OTHER_KEY, OTHER_SECRET)
        keys = {}
        for kind, (rest_path, _, _, _) in paths.items():
            body = (await http.post(rest_path, headers=HEADERS)).json()
            keys[kind] = body["listenKey"]
            if kind == "options":  # the options answer also says when it expires
                assert body["expiration"] == fake.now_ms() + 3600 * 1000
        other = (await http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": OTHER_KEY})).json()
        assert len(set(keys.values()) | {other["listenKey"]}) == 5

        # A key of another kind, or none at all, is refused.
        assert (await rejected(fake, f"/coinm/ws/{keys['usdm']}")).status_code == 400
        assert (await rejected(fake, "/pm/ws/" + "x" * 60)).status_code == 400

        async with (
            connect(fake, paths["usdm"][1].format(keys["usdm"])) as usdm,
            connect(fake, f"/usdm/private/ws?listenKey={keys['usdm']}") as usdm_query,
            connect(fake, paths["coinm"][1].format(keys["coinm"])) as coinm,
            connect(fake, paths["pm"][1].format(keys["pm"])) as pm,
            connect(fake, paths["options"][1].format(keys["options"])) as options,
            connect(fake, f"/usdm/private/ws/{other['listenKey']}") as other_usdm,
        ):
            sockets = {"usdm": usdm, "coinm": coinm, "pm": pm, "options": options}
            for kind, (_, _, product, _) in paths.items():
                (conn, *more) = fake.user_connections(API_KEY, kind)
                assert (conn.user_kind, conn.product) == (kind, product)
                assert len(more) == (1 if kind == "usdm" else 0)
            assert fake.user_connections(API_KEY, "pm")[0].route == "pm"

            for kind, ws in sockets.items():
                event = {"e": "ACCOUNT_UPDATE", "kind": kind}
                assert fake.push_user_event(API_KEY, kind, event) == (2 if kind == "usdm" else 1)
                assert await receive(ws) == event
            assert await receive(usdm_query) == {"e": "ACCOUNT_UPDATE", "kind": "usdm"}
            assert fake.push_user_event(OTHER_KEY, "usdm", {"e": "other"}) == 1
            assert await receive(other_usdm) == {"e": "other"}
            for ws in (*sockets.values(), usdm_query):
                await assert_silent(ws, 1)

            # Each gets its product's ping cadence: 180 s, options 300 s.
            await trio.sleep(301)
            for kind, (_, _, _, interval) in paths.items():
                conn = fake.user_connections(API_KEY, kind)[0]
                elapsed = trio.current_time() - conn.opened_at
                assert conn.pings_sent == int(elapsed // interval) >= 1


async def test_listen_key_rest_errors_and_delete(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        response = await http.post("/fapi/v1/listenKey")
        assert (response.status_code, response.json()["code"]) == (401, -2014)
        response = await http.post("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": OTHER_KEY})
        assert (response.status_code, response.json()) == (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        )
        assert (await http.put("/dapi/v1/listenKey", headers=HEADERS)).json()["code"] == -1125

        key = (await http.post("/eapi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
        # Options keepalives may name the key; a wrong one does not exist.
        response = await http.put(
            "/eapi/v1/listenKey", params={"listenKey": "nope"}, headers=HEADERS
        )
        assert response.json()["code"] == -1125
        response = await http.put("/eapi/v1/listenKey", params={"listenKey": key}, headers=HEADERS)
        assert response.json() == {"listenKey": key}

        async with connect(fake, f"/options/private/ws/{key}") as ws:
            response = await http.delete("/eapi/v1/listenKey", headers=HEADERS)
            assert (response.status_code, response.json()) == (200, {})
            assert fake.listen_key(API_KEY, "options") is None
            assert fake.push_user_event(API_KEY, "options", {"e": "x"}) == 0
            await assert_silent(ws, 4000)  # no listenKeyExpired after a DELETE
        assert (await http.delete("/eapi/v1/listenKey", headers=HEADERS)).json()["code"] == -1125
        assert (await rejected(fake, f"/options/private/ws/{key}")).status_code == 400


async def test_scripted_keepalive_failures(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        key = (await http.post("/fapi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
        async with connect(fake, f"/usdm/private/ws/{key}") as ws:
            fake.fail_listen_key_keepalive(API_KEY, "usdm")
            response = await http.put("/fapi/v1/listenKey", headers=HEADERS)
            assert (response.status_code, response.json()["code"]) == (400, -1125)
            # -1125 invalidates the key, silently: no listenKeyExpired.
            assert fake.listen_key(API_KEY, "usdm") is None
            await assert_silent(ws, 10)
        new_key = (await http.post("/fapi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
        assert new_key != key

        fake.fail_listen_key_keepalive(API_KEY, "usdm", code=-1001, count=2)
        for _ in range(2):
            response = await http.put("/fapi/v1/listenKey", headers=HEADERS)
            assert (response.status_code, response.json()["code"]) == (503, -1001)
        assert fake.listen_key(API_KEY, "usdm") == new_key  # other codes leave the key be
        assert (await http.put("/fapi/v1/listenKey", headers=HEADERS)).json() == {
            "listenKey": new_key
        }
        # Scripted failures are per kind: COIN-M is unaffected.
        fake.fail_listen_key_keepalive(API_KEY, "coinm", code=-1000, status=502, msg="boom")
        await http.post("/dapi/v1/listenKey", headers=HEADERS)
        assert (await http.put("/fapi/v1/listenKey", headers=HEADERS)).status_code == 200
        response = await http.put("/dapi/v1/listenKey", headers=HEADERS)
        assert (response.status_code, response.json()) == (502, {"code": -1000, "msg": "boom"})


async def test_expire_listen_key_now(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        key = (await http.post("/papi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
        async with (
            connect(fake, f"/pm/ws/{key}") as first,
            connect(fake, f"/pm/ws/{key}") as second,
        ):
            await trio.sleep(5)
            assert fake.expire_listen_key(API_KEY, "pm")
            expired = {"e": "listenKeyExpired", "E": fake.now_ms(), "listenKey": key}
            assert await receive(first) == expired
            assert await receive(second) == expired
            assert not fake.expire_listen_key(API_KEY, "pm")
            assert fake.user_connections(API_KEY, "pm") == []
        with pytest.raises(ValueError, match="listen-key kind"):
            fake.expire_listen_key(API_KEY, "spot")
        with pytest.raises(KeyError):
            fake.listen_key(OTHER_KEY, "pm")


# ---------------------------------------------------------------- WebSocket API


async def test_ws_api_hmac_signature_subscription(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/ws-api/v3") as ws:
        account = fake.add_account(API_KEY, SECRET)
        # Binance's published HMAC example verifies.
        example = (
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
            "&recvWindow=5000&timestamp=1499827319559"
        )
        digest = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        assert account.verify(example, digest) and account.verify(example, digest.upper())
        assert not account.verify(example + "0", digest)
        assert account.key_type == "hmac" and API_KEY not in repr(account)

        assert await call(ws, signature_request(fake, "a1")) == {
            "id": "a1",
            "status": 200,
            "result": {"subscriptionId": 0},
        }
        (conn,) = fake.connections
        assert (conn.service, conn.product, conn.route) == ("ws_api", Product.SPOT, "")
        assert conn.requests[0].method == "userDataStream.subscribe.signature"
        (sub,) = fake.user_subscriptions(API_KEY)
        assert (sub.connection, sub.subscription_id, sub.kind, sub.method) == (
            conn,
            0,
            "spot",
            "signature",
        )
        assert sub.expiration_time is None and API_KEY not in repr(sub)

        event = {"e": "outboundAccountPosition", "E": fake.now_ms(), "B": []}
        assert fake.push_user_event(API_KEY, "spot", event) == 1
        assert await receive(ws) == {"subscriptionId": 0, "event": event}
        assert fake.push_user_event(API_KEY, "margin", event) == 0

        # One subscription per account per connection.
        assert await call(ws, signature_request(fake, 2)) == error(
            2, 400, -2035, "User Data Stream subscription already active."
        )
        assert await call(ws, {"id": 3, "method": "session.subscriptions", "params": {}}) == {
            "id": 3,
            "status": 200,
            "result": [{"subscriptionId": 0}],
        }
        # Another account on the same connection is fine; ids count up.
        fake.add_account(OTHER_KEY, OTHER_SECRET)
        request = signature_request(
            fake, 4, api_key=OTHER_KEY, sign=hmac_signer(OTHER_SECRET), recvWindow=10_000
        )
        assert (await call(ws, request))["result"] == {"subscriptionId": 1}
        assert fake.push_user_event(OTHER_KEY, "spot", {"e": "balanceUpdate"}) == 1
        assert await receive(ws) == {"subscriptionId": 1, "event": {"e": "balanceUpdate"}}
        assert await call(ws, {"id": None, "method": "v3/ping"}) == {
            "id": None,
            "status": 200,
            "result": {},
        }
        assert await call(ws, {"id": 5, "method": "time"}) == {
            "id": 5,
            "status": 200,
            "result": {"serverTime": fake.now_ms()},
        }


async def test_ws_api_asymmetric_keys(autojump_clock: trio.testing.MockClock) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def rsa_sign(payload: str) -> str:
        raw = rsa_key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()

    async with open_fake_binance() as fake, connect(fake, "/ws-api/v3") as ws:
        assert fake.add_account("ed", pem(ed_key)).key_type == "ed25519"
        assert fake.add_account("rsa", pem(rsa_key)).key_type == "rsa"
        public = ed_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert fake.add_account("ed-public", public.decode()).key_type == "ed25519"
        ed_sign = ed25519_signer(ed_key)
        for request_id, api_key, sign in (
            (1, "ed", ed_sign),
            (2, "rsa", rsa_sign),
            (3, "ed-public", ed_sign),
        ):
            response = await call(
                ws, signature_request(fake, request_id, api_key=api_key, sign=sign)
            )
            assert response == {
                "id": request_id,
                "status": 200,
                "result": {"subscriptionId": request_id - 1},
            }
        wrong = signature_request(fake, 4, api_key="rsa", sign=ed_sign)
        assert (await call(ws, wrong))["error"]["code"] == -1022
        assert [s.subscription_id for s in fake.user_subscriptions()] == [0, 1, 2]
        with pytest.raises(ValueError, match="api_key"):
            fake.add_account("ed", pem(ed_key))
        with pytest.raises(ValueError, match="PEM"):
            fake.add_account("bad", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")


async def test_ws_api_signature_errors(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/ws-api/v3") as ws:
        fake.add_account(API_KEY, SECRET)
        bad_signature = signature_request(fake, 1, sign=hmac_signer("not the secret"))
        assert await call(ws, bad_signature) == error(
            1, 400, -1022, "Signature for this request is not valid."
        )
        unknown = signature_request(fake, 2, api_key=OTHER_KEY)
        assert await call(ws, unknown) == error(
            2, 401, -2015, "Invalid API-key, IP, or permissions for action."
        )
        stale = signature_request(fake, 3, skew_ms=-5001)
        assert await call(ws, stale) == error(
            3, 400, -1021, "Timestamp for this request is outside of the recvWindow."
        )
        ahead = signature_request(fake, 4, skew_ms=1250)
        assert (await call(ws, ahead))["error"]["code"] == -1021
        too_wide = signature_request(fake, 5, recvWindow=60_001)
        assert (await call(ws, too_wide))["error"] == {
            "code": -1131,
            "msg": "recvWindow must be less than 60000.",
        }
        missing = {
            "id": 6,
            "method": "userDataStream.subscribe.signature",
            "params": {"apiKey": API_KEY},
        }
        assert (await call(ws, missing))["error"]["code"] == -1102
        extra = signature_request(fake, 7, symbol="BTCUSDT")
        assert (await call(ws, extra))["error"]["code"] == -1104
        assert (await call(ws, {"id": 8, "method": "order.place", "params": {}}))["error"][
            "code"
        ] == -1020
        assert (await call(ws, {"id": 9, "method": "userDataStream.subscribe"}))["status"] == 401
        await trio.sleep(0.25)
        await ws.send_message("{not json")
        assert await receive(ws) == error(None, 400, -1135, "Invalid JSON Request")
        assert fake.user_subscriptions() == []

        # A wider recvWindow admits an older timestamp; microseconds are accepted too.
        old = signature_request(fake, 10, skew_ms=-20_000, recvWindow=30_000)
        assert (await call(ws, old))["result"] == {"subscriptionId": 0}
        await call(ws, {"id": 11, "method": "userDataStream.unsubscribe"})
        assert await receive(ws) == terminated(fake, 0)
        params: dict[str, object] = {"apiKey": API_KEY, "timestamp": fake.now_ms() * 1000 + 7}
        params["signature"] = sign_hmac(f"apiKey={API_KEY}&timestamp={params['timestamp']}")
        micro = {"id": 12, "method": "userDataStream.subscribe.signature", "params": params}
        assert (await call(ws, micro))["result"] == {"subscriptionId": 1}


async def test_listen_token_rest(autojump_clock: trio.testing.MockClock) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    async with open_fake_binance() as fake, rest(fake) as http:
        fake.add_account(API_KEY, SECRET)
        fake.add_account("ed", pem(ed_key))
        response = await post_listen_token(http, fake)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"token", "expirationTime"}
        assert body["expirationTime"] == fake.now_ms() + 24 * 3600 * 1000
        assert body["token"].isalnum()

        # Ed25519 base64 signatures are percent-encoded in the query, and verify.
        response = await post_listen_token(
            http,
            fake,
            api_key="ed",
            sign=ed25519_signer(ed_key),
            isIsolated="TRUE",
            symbol="btcusdt",
        )
        assert response.status_code == 200
        response = await post_listen_token(http, fake, validity="60000")
        assert response.json()["expirationTime"] == fake.now_ms() + 60_000

        response = await post_listen_token(http, fake, sign=hmac_signer("wrong"))
        assert (response.status_code, response.json()) == (
            400,
            {"code": -1022, "msg": "Signature for this request is not valid."},
        )
        response = await post_listen_token(http, fake, skew_ms=-5001)
        assert (response.status_code, response.json()) == (
            400,
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
        )
        response = await post_listen_token(http, fake, skew_ms=1000)
        assert response.json()["code"] == -1021
        response = await post_listen_token(http, fake, api_key=OTHER_KEY)
        assert (response.status_code, response.json()["code"]) == (401, -2015)
        response = await post_listen_token(http, fake, isIsolated="true")
        assert response.json()["code"] == -1102  # isolated needs a symbol
        response = await post_listen_token(http, fake, validity=str(24 * 3600 * 1000 + 1))
        assert response.json()["code"] == -1130
        response = await http.post(
            f"{fake.endpoints.spot_rest}/sapi/v1/userListenToken",
            params={"timestamp": fake.now_ms()},
            headers=HEADERS,
        )
        assert response.json()["code"] == -1102  # unsigned


async def test_listen_token_subscription_and_expiry(autojump_clock: trio.testing.MockClock) -> None:
    settings = FakeSettings(listen_token_validity=600)
    async with (
        open_fake_binance(settings=settings) as fake,
        rest(fake) as http,
        connect(fake, "/ws-api/v3") as ws,
    ):
        fake.add_account(API_KEY, SECRET)
        cross = (await post_listen_token(http, fake)).json()
        assert cross["expirationTime"] == fake.now_ms() + 600_000
        subscribe = {"id": 1, "method": "userDataStream.subscribe.listenToken"}
        assert await call(ws, {**subscribe, "params": {"listenToken": cross["token"]}}) == {
            "id": 1,
            "status": 200,
            "result": {"subscriptionId": 0, "expirationTime": cross["expirationTime"]},
        }
        await trio.sleep(100)
        isolated = (await post_listen_token(http, fake, isIsolated="true", symbol="ETHUSDT")).json()
        response = await call(
            ws, {**subscribe, "id": 2, "params": {"listenToken": isolated["token"]}}
        )
        assert response["result"]["subscriptionId"] == 1
        assert [(s.kind, s.method) for s in fake.user_subscriptions(API_KEY)] == [
            ("margin", "listenToken"),
            ("isolated:ETHUSDT", "listenToken"),
        ]
        assert fake.push_user_event(API_KEY, "margin", {"e": "balanceUpdate"}) == 1
        assert await receive(ws) == {"subscriptionId": 0, "event": {"e": "balanceUpdate"}}
        assert fake.push_user_event(API_KEY, "isolated:ethusdt", {"e": "executionReport"}) == 1
        assert await receive(ws) == {"subscriptionId": 1, "event": {"e": "executionReport"}}
        assert fake.push_user_event(API_KEY, "isolated:BTCUSDT", {"e": "x"}) == 0
        assert fake.push_user_event(API_KEY, "spot", {"e": "x"}) == 0

        # The cross token lapses first: its subscription ends, the isolated one lives on.
        message = await receive(ws)
        assert fake.now_ms() == cross["expirationTime"]
        assert message == terminated(fake, 0)
        assert [s.subscription_id for s in fake.user_subscriptions()] == [1]
        assert await call(
            ws, {**subscribe, "id": 3, "params": {"listenToken": cross["token"]}}
        ) == (error(3, 400, -1209, "Invalid listenToken."))
        assert await call(ws, {**subscribe, "id": 4, "params": {"listenToken": "nope"}}) == (
            error(4, 400, -1209, "Invalid listenToken.")
        )
        assert await receive(ws) == terminated(fake, 1)
        assert fake.now_ms() == isolated["expirationTime"]
        assert fake.user_subscriptions() == []


async def test_unsubscribe_terminate_and_isolation(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_fake_binance() as fake,
        rest(fake) as http,
        connect(fake, "/ws-api/v3") as ws,
        connect(fake, "/ws-api/v3") as other_ws,
    ):
        fake.add_account(API_KEY, SECRET)
        fake.add_account(OTHER_KEY, OTHER_SECRET)
        token = (await post_listen_token(http, fake)).json()["token"]
        listen = {
            "method": "userDataStream.subscribe.listenToken",
            "params": {"listenToken": token},
        }
        assert (await call(ws, signature_request(fake, 1)))["result"]["subscriptionId"] == 0
        assert (await call(ws, {"id": 2, **listen}))["result"]["subscriptionId"] == 1
        assert (await call(ws, {"id": 3, **listen}))["result"][
            "subscriptionId"
        ] == 2  # renewal overlap
        other = signature_request(fake, 1, api_key=OTHER_KEY, sign=hmac_signer(OTHER_SECRET))
        assert (await call(other_ws, other))["result"]["subscriptionId"] == 0

        # Events reach the account's subscriptions only.
        assert fake.push_user_event(API_KEY, "spot", {"e": "mine"}) == 1
        assert await receive(ws) == {"subscriptionId": 0, "event": {"e": "mine"}}
        await assert_silent(other_ws, 1)
        assert fake.push_user_event(API_KEY, "margin", {"e": "m"}) == 2
        assert [await receive(ws) for _ in range(2)] == [
            {"subscriptionId": 1, "event": {"e": "m"}},
            {"subscriptionId": 2, "event": {"e": "m"}},
        ]

        request = {"id": 4, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 1}}
        assert await call(ws, request) == {"id": 4, "status": 200, "result": {}}
        assert await receive(ws) == terminated(fake, 1)
        request = {"id": 5, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 9}}
        assert await call(ws, request) == {"id": 5, "status": 200, "result": {}}
        assert await call(ws, {"id": 6, "method": "session.subscriptions"}) == {
            "id": 6,
            "status": 200,
            "result": [{"subscriptionId": 0}, {"subscriptionId": 2}],
        }

        assert fake.terminate_user_streams(API_KEY, "margin") == 1
        assert await receive(ws) == terminated(fake, 2)
        assert await call(ws, {"id": 7, "method": "userDataStream.unsubscribe"}) == {
            "id": 7,
            "status": 200,
            "result": {},
        }
        assert await receive(ws) == terminated(fake, 0)
        assert [s.api_key for s in fake.user_subscriptions()] == [OTHER_KEY]
        # A new subscription after unsubscribing all gets the next id.
        assert (await call(ws, signature_request(fake, 8)))["result"]["subscriptionId"] == 3
        with pytest.raises(ValueError, match="kind"):
            fake.push_user_event(API_KEY, "futures", {})

    # Closing the connection drops its subscriptions.
    await fake.wait_until(lambda: not any(c.is_open for c in fake.connections))
    assert fake.user_subscriptions() == []


async def test_ws_api_shutdown_pings_and_rate(autojump_clock: trio.testing.MockClock) -> None:
    async with open_fake_binance() as fake, connect(fake, "/ws-api/v3") as ws:
        (conn,) = fake.connections
        await trio.sleep(61)
        assert conn.pings_sent == 3 == conn.pings_answered  # spot cadence: every 20 s
        conn.server_shutdown()
        assert await receive(ws) == {"event": {"e": "serverShutdown", "E": fake.now_ms()}}
        assert fake.server_shutdown(Product.SPOT) == 1
        assert (await receive(ws))["event"]["e"] == "serverShutdown"
        assert conn.is_open
        for n in range(6):  # spot's 5 messages per second
            await ws.send_message(orjson.dumps({"id": n, "method": "ping"}).decode())
        await conn.wait_closed()
        assert (conn.close_code, conn.close_reason) == (1008, "Too many requests")


async def test_secrets_never_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_binance")
    async with (
        open_fake_binance(settings=FakeSettings(listen_token_validity=60)) as fake,
        rest(fake) as http,
    ):
        fake.add_account(API_KEY, SECRET)
        key = (await http.post("/fapi/v1/listenKey", headers=HEADERS)).json()["listenKey"]
        token = (await post_listen_token(http, fake)).json()["token"]
        async with connect(fake, f"/usdm/private/ws/{key}") as stream:
            async with connect(fake, "/ws-api/v3") as ws:
                await call(ws, signature_request(fake, 1))
                await call(ws, signature_request(fake, 2, sign=hmac_signer("x")))
                listen = {"listenToken": token}
                await call(
                    ws,
                    {"id": 3, "method": "userDataStream.subscribe.listenToken", "params": listen},
                )
                fake.push_user_event(API_KEY, "usdm", {"e": "x"})
                await receive(stream)
                await trio.sleep(61)
            fake.fail_listen_key_keepalive(API_KEY, "usdm")
            await http.put("/fapi/v1/listenKey", headers=HEADERS)
        await rejected(fake, f"/usdm/private/ws/{key}")
        await rejected(fake, f"/coinm/ws/{key}/btcusd_perp@trade")
        await http.get(f"/fapi/v1/{key}")
        shown = [repr(fake.handshakes), repr(fake.connections), repr(fake.account(API_KEY))]
    secrets = (API_KEY, SECRET, key, token)
    assert caplog.records, "expected the fake to log"
    for record in caplog.records:
        text = f"{record.getMessage()} {record.exc_text or ''}"
        assert not any(secret in text for secret in secrets), text
    for text in shown:
        assert not any(secret in text for secret in secrets), text
