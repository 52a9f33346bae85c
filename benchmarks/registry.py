"""The clients the suite compares, and how to start each one."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

__all__ = ["CLIENTS", "Client", "available"]


@dataclass(frozen=True)
class Client:
    """One contender.

    Attributes:
        key: Short name used on the command line and in the raw results.
        label: Name shown in the tables.
        module: Module under ``benchmarks.clients`` run as the client process.
        variant: Passed to the client as ``RunSpec.variant``.
        requires: Top-level import names that must be installed.
        packages: Distributions whose versions the report lists.
        gated: The client subscribes to ``RunSpec.gate`` once its consumer runs.
        hint: Rough msgs/s on the mixed mix, only to size the first run.
        slow_start: Seconds of fixed start-up the library imposes (skipped in --quick
            except for the mixed throughput run).
        tls: Runs the TLS scenario (``wss://`` with the default SSL context, which
            trusts ``SSL_CERT_FILE``).
    """

    key: str
    label: str
    module: str
    variant: str = ""
    requires: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    gated: bool = False
    hint: float = 50_000.0
    slow_start: float = 0.0
    tls: bool = True


CLIENTS: tuple[Client, ...] = (
    Client(
        "tb-iter",
        "trio_binance (async for)",
        "trio_binance_client",
        "iter",
        ("trio_binance",),
        ("trio-binance-streams", "trio", "websockets", "orjson"),
        hint=100_000,
    ),
    Client(
        "tb-batch",
        "trio_binance (receive_batch)",
        "trio_binance_client",
        "batch",
        ("trio_binance",),
        ("trio-binance-streams",),
        hint=200_000,
    ),
    Client(
        "trio-websocket",
        "trio-websocket + orjson",
        "trio_websocket_client",
        "",
        ("trio_websocket", "orjson"),
        ("trio-websocket", "wsproto"),
        hint=40_000,
    ),
    Client(
        "python-binance",
        "python-binance",
        "python_binance_client",
        "",
        ("binance",),
        ("python-binance",),
        hint=40_000,
    ),
    Client(
        "asyncio-websockets",
        "asyncio + websockets + orjson",
        "asyncio_websockets_client",
        "",
        ("websockets", "orjson"),
        ("websockets",),
        hint=200_000,
    ),
    Client(
        "websockets-trio",
        "websockets.trio + orjson",
        "websockets_trio_client",
        "",
        ("websockets", "orjson", "trio"),
        ("websockets",),
        hint=80_000,
    ),
    Client(
        "picows",
        "picows + orjson (asyncio)",
        "picows_client",
        "",
        ("picows", "orjson"),
        ("picows",),
        hint=200_000,
    ),
    Client(
        "unicorn",
        "unicorn-binance-websocket-api",
        "unicorn_client",
        "websockets",
        ("unicorn_binance_websocket_api",),
        ("unicorn-binance-websocket-api",),
        gated=True,
        hint=120_000,
        slow_start=5.0,
        tls=False,
    ),
    Client(
        "unicorn-picows",
        "unicorn-binance-websocket-api (picows)",
        "unicorn_client",
        "picows",
        ("unicorn_binance_websocket_api", "picows"),
        ("unicorn-binance-websocket-api",),
        gated=True,
        hint=120_000,
        slow_start=5.0,
        tls=False,
    ),
)


def available(client: Client) -> bool:
    """Whether every import the client needs is installed (nothing is imported)."""
    return all(importlib.util.find_spec(name) is not None for name in client.requires)
