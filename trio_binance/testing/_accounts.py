"""Accounts of the fake exchange and the signature checks Binance makes.

An account is known by its API key and holds what is needed to verify that
key's signatures: an HMAC secret, or the public half of an Ed25519 or RSA key.
Verification is independent of the client's signing code; only the payload
rules (which bytes are signed) are Binance's:

* HMAC-SHA256: hex digest, compared case-insensitively.
* Ed25519: base64 of the 64-byte signature.
* RSA: PKCS#1 v1.5 with SHA-256, base64.

``cryptography`` is imported only for PEM keys: the pytest plugin loads this
module into every test session of every project that has trio_binance installed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, final

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from ._user_data import UserDataServer

__all__ = ["FakeAccount", "KeyType", "load_verifier", "rest_signed_payload"]

KeyType = Literal["hmac", "ed25519", "rsa"]
_Verify = Callable[[bytes, str], bool]


def _b64(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hmac_verifier(secret: bytes) -> _Verify:
    def verify(payload: bytes, signature: str) -> bool:
        expected = hmac.new(secret, payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())

    return verify


def _ed25519_verifier(key: Ed25519PublicKey) -> _Verify:
    from cryptography.exceptions import InvalidSignature

    def verify(payload: bytes, signature: str) -> bool:
        raw = _b64(signature)
        if raw is None:
            return False
        try:
            key.verify(raw, payload)
        except InvalidSignature:
            return False
        return True

    return verify


def _rsa_verifier(key: RSAPublicKey) -> _Verify:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def verify(payload: bytes, signature: str) -> bool:
        raw = _b64(signature)
        if raw is None:
            return False
        try:
            key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    return verify


def load_verifier(api_secret: str, password: bytes | None = None) -> tuple[KeyType, _Verify]:
    """The key type of ``api_secret`` and a function checking its signatures.

    ``api_secret`` is what a client is given: an HMAC secret, or a PEM private key
    (Ed25519 or RSA; the public key is derived from it).  A PEM public key is
    accepted too, as Binance itself only ever holds the public half.

    Raises:
        ValueError: Empty, or a PEM that is not an Ed25519 or RSA key (the
            message never contains the secret).
    """
    if not isinstance(api_secret, str) or not api_secret.strip():
        raise ValueError("api_secret must be a non-empty string (HMAC secret or PEM key)")
    text = api_secret.strip()
    if "-----BEGIN" not in text:
        return "hmac", _hmac_verifier(text.encode())
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    public: object
    try:
        if "PUBLIC KEY-----" in text:
            public = serialization.load_pem_public_key(text.encode())
        else:
            public = serialization.load_pem_private_key(
                text.encode(), password=password
            ).public_key()
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"api_secret looks like a PEM key but could not be loaded ({type(exc).__name__})"
        ) from None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519", _ed25519_verifier(public)
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa", _rsa_verifier(public)
    raise ValueError("api_secret must be an HMAC secret, or an Ed25519 or RSA key")


def rest_signed_payload(query: str, body: bytes) -> tuple[str, str | None]:
    """Split a signed REST request into ``(payload, signature)``.

    Binance signs the query string exactly as sent followed by the body, without
    the ``signature`` parameter; the signature itself is percent-decoded.
    ``signature`` is None if the request has none.
    """
    signature: str | None = None
    parts: list[str] = []
    for source in (query, body.decode("latin-1")):
        kept = []
        for pair in source.split("&") if source else ():
            name, _, value = pair.partition("=")
            if urllib.parse.unquote_plus(name) == "signature":
                signature = urllib.parse.unquote(value)
            else:
                kept.append(pair)
        parts.append("&".join(kept))
    return parts[0] + parts[1], signature


@final
class FakeAccount:
    """An account of the fake exchange; made by :meth:`FakeBinance.add_account`.

    Its ``repr()`` never shows the API key.

    Attributes:
        api_key: The API key (the ``X-MBX-APIKEY`` header, the ``apiKey`` parameter).
        key_type: ``"hmac"``, ``"ed25519"`` or ``"rsa"``, from the secret given.
        number: Sequence number, from 1, in the order accounts were added (used
            in log lines instead of the key).
    """

    def __init__(
        self,
        server: UserDataServer,
        number: int,
        api_key: str,
        key_type: KeyType,
        verify: _Verify,
    ) -> None:
        self._server = server
        self.number = number
        self.api_key = api_key
        self.key_type: KeyType = key_type
        self._verify = verify

    def __repr__(self) -> str:
        return f"<FakeAccount #{self.number} {self.key_type} api_key=<redacted>>"

    def verify(self, payload: str, signature: str) -> bool:
        """Whether ``signature`` is this account's signature of ``payload``."""
        return self._verify(payload.encode(), signature)

    def listen_key(self, kind: str) -> str | None:
        """The active listen key of ``kind`` (``usdm``, ``coinm``, ``pm``, ``options``)."""
        return self._server.listen_key(self.api_key, kind)

    def push_event(self, kind: str, event: dict[str, object]) -> int:
        """Send a user-data event; see :meth:`FakeBinance.push_user_event`."""
        return self._server.push_user_event(self.api_key, kind, event)
