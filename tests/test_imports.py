"""What ``import trio_binance`` loads: optional and heavy dependencies only on use."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(program: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_library_and_its_fake_import_without_the_optional_dependencies() -> None:
    # An ImportError for each: the [cli] extra's packages, and cryptography, which
    # only PEM (Ed25519/RSA) keys need.  httpx copes with click and rich missing.
    done = _run(
        """
        import sys
        for name in ("click", "rich", "zstandard", "cryptography"):
            sys.modules[name] = None
        import trio_binance, trio_binance.testing, trio_binance.recording
        import trio_binance.testing._plugin
        from trio_binance._signing import Signer
        assert Signer.from_secret("an-hmac-secret").sign("a=1")
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_cryptography_is_loaded_only_for_a_pem_key() -> None:
    done = _run(
        """
        import sys
        import trio_binance, trio_binance.testing
        from trio_binance._signing import Signer
        Signer.from_secret("an-hmac-secret").sign("a=1")
        print("cryptography" in sys.modules)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        print(Signer.from_secret(pem).kind)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "ed25519"]
