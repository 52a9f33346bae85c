"""Every base URL the library talks to, and the products they serve.

Binance routes as of 2026: USD-M streams are split into ``/public``, ``/market``
and ``/private`` routes on the fstream host; options streams live on the same host
under ``/public`` and ``/market``; COIN-M has no route split.  Values we could not
confirm against Binance's documentation are marked UNCONFIRMED and kept here, in
one place, so that they are easy to change.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from typing import final

__all__ = ["Endpoints", "Product"]


class Product(enum.Enum):
    """Which Binance product a stream belongs to.

    The product decides the host, the route split, the ping cadence and the
    per-connection limits.
    """

    SPOT = "spot"
    USDM = "usdm"
    COINM = "coinm"
    OPTIONS = "options"


@final
@dataclasses.dataclass(frozen=True)
class Endpoints:
    """Base URLs of every Binance service the library uses.

    Stream bases have no trailing slash; the library appends the route
    (``/public``, ``/market``, ``/private``) and the access mode (``/stream`` or
    ``/ws/<key>``).  Any field can be pointed at a local server, for example the
    fake exchange of :mod:`trio_binance.testing`.

    Attributes:
        spot_stream: Spot market streams.
        spot_ws_api: Spot WebSocket API (spot and margin user data).
        spot_rest: Spot and margin REST (listen tokens, depth snapshots).
        usdm_stream: USD-M futures streams (routed).
        usdm_rest: USD-M futures REST (listen keys, depth snapshots).
        coinm_stream: COIN-M futures streams.
        coinm_rest: COIN-M futures REST.
        options_stream: Options streams (routed, on the fstream host).
        options_rest: Options REST.
        pm_stream: Portfolio-margin user data streams.
        pm_rest: Portfolio-margin REST.
    """

    spot_stream: str
    spot_ws_api: str
    spot_rest: str
    usdm_stream: str
    usdm_rest: str
    coinm_stream: str
    coinm_rest: str
    options_stream: str
    options_rest: str
    pm_stream: str
    pm_rest: str

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, str) or "://" not in value:
                raise ValueError(f"Endpoints.{field.name} must be an absolute URL, got {value!r}")
            if value.endswith("/"):
                object.__setattr__(self, field.name, value.rstrip("/"))

    @classmethod
    def production(cls, tld: str = "com") -> Endpoints:
        """Binance production endpoints.

        Args:
            tld: Top-level domain, ``"com"`` or ``"us"`` style values such as ``"us"``.
        """
        if not tld or not tld.replace(".", "").isalnum():
            raise ValueError(f"tld must be a domain suffix such as 'com' or 'us', got {tld!r}")
        return cls(
            spot_stream=f"wss://stream.binance.{tld}:9443",
            spot_ws_api=f"wss://ws-api.binance.{tld}:443/ws-api/v3",
            spot_rest=f"https://api.binance.{tld}",
            usdm_stream=f"wss://fstream.binance.{tld}",
            usdm_rest=f"https://fapi.binance.{tld}",
            coinm_stream=f"wss://dstream.binance.{tld}",
            coinm_rest=f"https://dapi.binance.{tld}",
            options_stream=f"wss://fstream.binance.{tld}",
            options_rest=f"https://eapi.binance.{tld}",
            pm_stream=f"wss://fstream.binance.{tld}/pm",
            pm_rest=f"https://papi.binance.{tld}",
        )

    @classmethod
    def testnet(cls) -> Endpoints:
        """Binance testnet endpoints (spot testnet and the futures testnet)."""
        return cls(
            spot_stream="wss://stream.testnet.binance.vision",
            spot_ws_api="wss://ws-api.testnet.binance.vision/ws-api/v3",
            spot_rest="https://testnet.binance.vision",
            usdm_stream="wss://fstream.binancefuture.com",
            # UNCONFIRMED: the docs name demo-fapi.binance.com, the SDK this host.
            usdm_rest="https://testnet.binancefuture.com",
            coinm_stream="wss://dstream.binancefuture.com",
            coinm_rest="https://testnet.binancefuture.com",
            options_stream="wss://fstream.binancefuture.com",
            options_rest="https://testnet.binancefuture.com",
            # UNCONFIRMED: no portfolio-margin testnet is documented.
            pm_stream="wss://fstream.binancefuture.com/pm",
            pm_rest="https://testnet.binancefuture.com",
        )

    @classmethod
    def demo(cls) -> Endpoints:
        """Binance demo-mode endpoints (spot demo; futures use the futures testnet)."""
        return cls(
            spot_stream="wss://demo-stream.binance.com:9443",
            spot_ws_api="wss://demo-ws-api.binance.com/ws-api/v3",
            spot_rest="https://demo-api.binance.com",
            # UNCONFIRMED: demo-fstream.binance.com appears only in third-party code.
            usdm_stream="wss://fstream.binancefuture.com",
            usdm_rest="https://demo-fapi.binance.com",
            coinm_stream="wss://dstream.binancefuture.com",
            coinm_rest="https://testnet.binancefuture.com",
            options_stream="wss://fstream.binancefuture.com",
            options_rest="https://testnet.binancefuture.com",
            pm_stream="wss://fstream.binancefuture.com/pm",
            pm_rest="https://testnet.binancefuture.com",
        )

    @classmethod
    def select(cls, *, tld: str = "com", testnet: bool = False, demo: bool = False) -> Endpoints:
        """Pick production, testnet or demo endpoints from python-binance style flags."""
        if testnet and demo:
            raise ValueError("choose at most one of testnet=True and demo=True")
        if testnet:
            return cls.testnet()
        if demo:
            return cls.demo()
        return cls.production(tld)

    @classmethod
    def from_mapping(cls, fields: object, *, base: Endpoints | None = None) -> Endpoints:
        """Endpoints from a mapping of field names to URLs; fields left out come from ``base``.

        This is the shape of the JSON file ``trio-binance fake --endpoints-out`` writes
        and ``--endpoints FILE`` reads.

        Args:
            fields: e.g. ``{"spot_stream": "ws://127.0.0.1:8765/spot", ...}``.
            base: Where missing fields come from; production (``.com``) by default.

        Raises:
            ValueError: Not a mapping, an unknown field name (the message lists the
                known ones), or a value that is not an absolute URL.
        """
        if not isinstance(fields, dict):
            raise ValueError(
                "endpoints must be a JSON object of Endpoints field names to URLs, "
                f"got {type(fields).__name__}"
            )
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise ValueError(
                f"unknown endpoints field(s) {', '.join(map(repr, unknown))}; "
                f"known fields: {', '.join(known)}"
            )
        return dataclasses.replace(base or cls.production(), **fields)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, base: Endpoints | None = None) -> Endpoints:
        """Endpoints from a JSON file, as written by ``trio-binance fake --endpoints-out``.

        Example::

            endpoints = Endpoints.from_file("fake.json")
            async with open_binance_streams(endpoints=endpoints) as bsm:
                ...

        Args:
            path: The JSON file: an object of field names to URLs.
            base: Where fields the file leaves out come from; production by default.

        Raises:
            ValueError: The file cannot be read, is not JSON, or names unknown fields.
        """
        try:
            with open(path, "rb") as file:
                fields = json.load(file)
        except OSError as exc:
            raise ValueError(
                f"cannot read endpoints file {os.fspath(path)!r}: {exc.strerror or exc}"
            ) from None
        except ValueError as exc:
            raise ValueError(f"endpoints file {os.fspath(path)!r} is not JSON: {exc}") from None
        try:
            return cls.from_mapping(fields, base=base)
        except ValueError as exc:
            raise ValueError(f"endpoints file {os.fspath(path)!r}: {exc}") from None

    def to_dict(self) -> dict[str, str]:
        """Every field name and URL: what :meth:`from_mapping` reads back."""
        return dataclasses.asdict(self)

    def stream_base(self, product: Product) -> str:
        """The market-stream base URL of ``product`` (without route)."""
        return {
            Product.SPOT: self.spot_stream,
            Product.USDM: self.usdm_stream,
            Product.COINM: self.coinm_stream,
            Product.OPTIONS: self.options_stream,
        }[product]

    def route_url(self, product: Product, route: str) -> str:
        """The base URL of one route, e.g. ``wss://fstream.binance.com/market``."""
        base = self.stream_base(product)
        return f"{base}/{route}" if route else base
