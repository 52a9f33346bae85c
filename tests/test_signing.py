"""Signing, checked against Binance's published examples."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

from trio_binance._signing import Signer, rest_payload, ws_api_payload

# Binance's documented example key pair (spot REST and WebSocket-API docs).
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def test_rest_hmac_example_from_the_spot_docs() -> None:
    params = {
        "symbol": "LTCBTC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": 1, "price": "0.1", "recvWindow": 5000, "timestamp": 1499827319559,
    }  # fmt: skip
    payload = rest_payload(params)
    assert payload == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    signature = Signer.from_secret(SECRET).sign(payload)
    assert signature == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_ws_api_hmac_example_from_the_websocket_api_docs() -> None:
    params = {
        "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01000000", "price": "52000.00", "newOrderRespType": "ACK",
        "recvWindow": 100, "timestamp": 1645423376532, "apiKey": API_KEY,
        "signature": "ignored",
    }  # fmt: skip
    payload = ws_api_payload(params)
    assert payload == (
        f"apiKey={API_KEY}&newOrderRespType=ACK&price=52000.00&quantity=0.01000000"
        "&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532"
        "&type=LIMIT"
    )
    signature = Signer.from_secret(SECRET).sign(payload)
    assert signature == "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"


def test_rest_payload_percent_encodes_before_signing() -> None:
    assert rest_payload({"symbol": "币安币USDT", "flag": True}) == (
        "symbol=%E5%B8%81%E5%AE%89%E5%B8%81USDT&flag=true"
    )


def _pem(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_ed25519_key_is_detected_and_signs_base64() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signer = Signer.from_secret(_pem(key))
    assert signer.kind == "ed25519"
    signature = signer.sign("apiKey=k&timestamp=1")
    key.public_key().verify(base64.b64decode(signature), b"apiKey=k&timestamp=1")


def test_rsa_key_is_detected_and_signs_pkcs1v15_sha256() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = Signer.from_secret(_pem(key))
    assert signer.kind == "rsa"
    signature = base64.b64decode(signer.sign("a=1"))
    key.public_key().verify(signature, b"a=1", padding.PKCS1v15(), SHA256())


def test_secrets_never_show() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = _pem(key)
    for signer in (Signer.from_secret(SECRET), Signer.from_secret(pem)):
        assert SECRET not in repr(signer)
        assert "PRIVATE" not in repr(signer)
    broken = pem.replace("A", "B", 5)
    with pytest.raises(ValueError) as info:
        Signer.from_secret(broken)
    assert broken not in str(info.value) and pem[40:80] not in str(info.value)


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_secret_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Signer.from_secret(bad)
