"""Request signing for Binance REST and the WebSocket API: pure functions, no I/O.

The key type is detected from what the user passes as ``api_secret``: a PEM private
key (Ed25519 or RSA) or, otherwise, an HMAC secret string.

* HMAC-SHA256: lowercase hex.
* Ed25519: base64 of the raw signature.
* RSA: PKCS#1 v1.5 with SHA-256, base64.

Payloads: the WebSocket API signs every ``params`` entry except ``signature``, sorted
by key, as ``k=v&...`` with values not percent-encoded; REST signs the query string
exactly as sent (percent-encoded, in order).

``cryptography`` is imported only when a PEM key is given: HMAC users, and the
many programs that read market data only, never pay for loading it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, final

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["KeyKind", "Signer", "rest_payload", "ws_api_payload"]

KeyKind = Literal["hmac", "ed25519", "rsa"]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_api_payload(params: Mapping[str, object]) -> str:
    """The WebSocket-API signature payload: sorted ``k=v`` pairs, ``signature`` excluded."""
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def rest_payload(params: Mapping[str, object]) -> str:
    """The REST query string as sent (percent-encoded, in order); sign it as is."""
    return urllib.parse.urlencode([(k, _text(v)) for k, v in params.items()])


@final
class Signer:
    """Signs payloads with the user's key; never shows the key.

    Build one with :meth:`from_secret`.
    """

    __slots__ = ("_hmac_key", "_private_key", "kind")

    def __init__(
        self,
        kind: KeyKind,
        *,
        hmac_key: bytes | None = None,
        private_key: Ed25519PrivateKey | RSAPrivateKey | None = None,
    ) -> None:
        self.kind: KeyKind = kind
        self._hmac_key = hmac_key
        self._private_key = private_key

    def __repr__(self) -> str:
        return f"<Signer {self.kind} key=<redacted>>"

    @classmethod
    def from_secret(cls, api_secret: str, password: bytes | None = None) -> Signer:
        """Detect the key type of ``api_secret`` and build a signer.

        Args:
            api_secret: An HMAC secret, or a PEM-encoded Ed25519 or RSA private key.
            password: The PEM's password, if it is encrypted.

        Raises:
            ValueError: The secret is empty, or a PEM that is not an Ed25519/RSA
                private key (the message never contains the secret).
        """
        if not isinstance(api_secret, str) or not api_secret.strip():
            raise ValueError("api_secret must be a non-empty string (HMAC secret or PEM key)")
        text = api_secret.strip()
        if "-----BEGIN" not in text:
            return cls("hmac", hmac_key=text.encode())
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        try:
            key = serialization.load_pem_private_key(text.encode(), password=password)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "api_secret looks like a PEM key but could not be loaded as a private key "
                f"({type(exc).__name__})"
            ) from None
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return cls("ed25519", private_key=key)
        if isinstance(key, rsa.RSAPrivateKey):
            return cls("rsa", private_key=key)
        raise ValueError("api_secret must be an HMAC secret, or an Ed25519 or RSA private key")

    def sign(self, payload: str) -> str:
        """Sign ``payload``: hex for HMAC, base64 for Ed25519 and RSA."""
        data = payload.encode()
        if self._hmac_key is not None:
            return hmac.new(self._hmac_key, data, hashlib.sha256).hexdigest()
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

        key = self._private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return base64.b64encode(key.sign(data)).decode()
        assert isinstance(key, rsa.RSAPrivateKey)
        return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()
