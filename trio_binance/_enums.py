"""Enumerations and constants shared by the stream methods.

:class:`FuturesType` and :class:`ContractType` mirror python-binance's enums of the
same names.  Every function that takes one of them also accepts python-binance's own
members (matched by ``.name``), so code ported from ``binance.enums`` keeps working,
and the plain strings ``"USD_M"`` / ``"perpetual"`` style spellings.

Kline intervals are plain strings, named as python-binance names them
(``KLINE_INTERVAL_1MINUTE == "1m"``); which ones a product serves is in
:data:`KLINE_INTERVALS`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import TypeAlias, TypeVar

from ._endpoints import Product

__all__ = [
    "ALL_KLINE_INTERVALS",
    "FUTURES_KLINE_INTERVALS",
    "KLINE_INTERVALS",
    "KLINE_INTERVAL_1DAY",
    "KLINE_INTERVAL_1HOUR",
    "KLINE_INTERVAL_1MINUTE",
    "KLINE_INTERVAL_1MONTH",
    "KLINE_INTERVAL_1SECOND",
    "KLINE_INTERVAL_1WEEK",
    "KLINE_INTERVAL_2HOUR",
    "KLINE_INTERVAL_3DAY",
    "KLINE_INTERVAL_3MINUTE",
    "KLINE_INTERVAL_4HOUR",
    "KLINE_INTERVAL_5MINUTE",
    "KLINE_INTERVAL_6HOUR",
    "KLINE_INTERVAL_8HOUR",
    "KLINE_INTERVAL_12HOUR",
    "KLINE_INTERVAL_15MINUTE",
    "KLINE_INTERVAL_30MINUTE",
    "OPTIONS_KLINE_INTERVALS",
    "SPOT_KLINE_INTERVALS",
    "ContractType",
    "ContractTypeLike",
    "FuturesType",
    "FuturesTypeLike",
    "KlineIntervals",
    "coerce_contract_type",
    "coerce_futures_type",
    "in_interval_order",
]


class FuturesType(enum.Enum):
    """Which futures product a futures stream method addresses."""

    USD_M = "usd_m"
    """USDⓈ-margined futures (the ``fstream`` host, routed)."""
    COIN_M = "coin_m"
    """Coin-margined futures (the ``dstream`` host, unrouted)."""

    @property
    def product(self) -> Product:
        """The :class:`~trio_binance._endpoints.Product` these streams belong to."""
        return Product.USDM if self is FuturesType.USD_M else Product.COINM


class ContractType(enum.Enum):
    """Contract family of a continuous-contract kline stream (``<pair>_<ct>@continuousKline``)."""

    PERPETUAL = "perpetual"
    CURRENT_QUARTER = "current_quarter"
    NEXT_QUARTER = "next_quarter"


FuturesTypeLike: TypeAlias = FuturesType | enum.Enum | str
"""What a ``futures_type`` parameter accepts (see :func:`coerce_futures_type`)."""

ContractTypeLike: TypeAlias = ContractType | enum.Enum | str
"""What a ``contract_type`` parameter accepts (see :func:`coerce_contract_type`)."""


KLINE_INTERVAL_1SECOND = "1s"
KLINE_INTERVAL_1MINUTE = "1m"
KLINE_INTERVAL_3MINUTE = "3m"
KLINE_INTERVAL_5MINUTE = "5m"
KLINE_INTERVAL_15MINUTE = "15m"
KLINE_INTERVAL_30MINUTE = "30m"
KLINE_INTERVAL_1HOUR = "1h"
KLINE_INTERVAL_2HOUR = "2h"
KLINE_INTERVAL_4HOUR = "4h"
KLINE_INTERVAL_6HOUR = "6h"
KLINE_INTERVAL_8HOUR = "8h"
KLINE_INTERVAL_12HOUR = "12h"
KLINE_INTERVAL_1DAY = "1d"
KLINE_INTERVAL_3DAY = "3d"
KLINE_INTERVAL_1WEEK = "1w"
KLINE_INTERVAL_1MONTH = "1M"

ALL_KLINE_INTERVALS: tuple[str, ...] = (
    KLINE_INTERVAL_1SECOND,
    KLINE_INTERVAL_1MINUTE,
    KLINE_INTERVAL_3MINUTE,
    KLINE_INTERVAL_5MINUTE,
    KLINE_INTERVAL_15MINUTE,
    KLINE_INTERVAL_30MINUTE,
    KLINE_INTERVAL_1HOUR,
    KLINE_INTERVAL_2HOUR,
    KLINE_INTERVAL_4HOUR,
    KLINE_INTERVAL_6HOUR,
    KLINE_INTERVAL_8HOUR,
    KLINE_INTERVAL_12HOUR,
    KLINE_INTERVAL_1DAY,
    KLINE_INTERVAL_3DAY,
    KLINE_INTERVAL_1WEEK,
    KLINE_INTERVAL_1MONTH,
)
"""Every interval Binance knows, shortest first (the order used in error messages)."""


class KlineIntervals:
    """The ``KLINE_INTERVAL_*`` names as class attributes, where python-binance users look.

    python-binance defines them on ``Client``/``AsyncClient`` (and in
    ``binance.enums``); with no client here, the managers inherit them, so
    ``interval=BinanceSocketManager.KLINE_INTERVAL_1HOUR`` reads as before.
    """

    KLINE_INTERVAL_1SECOND = KLINE_INTERVAL_1SECOND
    KLINE_INTERVAL_1MINUTE = KLINE_INTERVAL_1MINUTE
    KLINE_INTERVAL_3MINUTE = KLINE_INTERVAL_3MINUTE
    KLINE_INTERVAL_5MINUTE = KLINE_INTERVAL_5MINUTE
    KLINE_INTERVAL_15MINUTE = KLINE_INTERVAL_15MINUTE
    KLINE_INTERVAL_30MINUTE = KLINE_INTERVAL_30MINUTE
    KLINE_INTERVAL_1HOUR = KLINE_INTERVAL_1HOUR
    KLINE_INTERVAL_2HOUR = KLINE_INTERVAL_2HOUR
    KLINE_INTERVAL_4HOUR = KLINE_INTERVAL_4HOUR
    KLINE_INTERVAL_6HOUR = KLINE_INTERVAL_6HOUR
    KLINE_INTERVAL_8HOUR = KLINE_INTERVAL_8HOUR
    KLINE_INTERVAL_12HOUR = KLINE_INTERVAL_12HOUR
    KLINE_INTERVAL_1DAY = KLINE_INTERVAL_1DAY
    KLINE_INTERVAL_3DAY = KLINE_INTERVAL_3DAY
    KLINE_INTERVAL_1WEEK = KLINE_INTERVAL_1WEEK
    KLINE_INTERVAL_1MONTH = KLINE_INTERVAL_1MONTH


SPOT_KLINE_INTERVALS: frozenset[str] = frozenset(ALL_KLINE_INTERVALS)
"""Spot kline intervals: all of them, including ``1s``."""

FUTURES_KLINE_INTERVALS: frozenset[str] = SPOT_KLINE_INTERVALS - {KLINE_INTERVAL_1SECOND}
"""USD-M and COIN-M kline intervals: the spot set without ``1s``."""

OPTIONS_KLINE_INTERVALS: frozenset[str] = frozenset(
    {
        KLINE_INTERVAL_1MINUTE,
        KLINE_INTERVAL_3MINUTE,
        KLINE_INTERVAL_5MINUTE,
        KLINE_INTERVAL_15MINUTE,
        KLINE_INTERVAL_30MINUTE,
        KLINE_INTERVAL_1HOUR,
        KLINE_INTERVAL_2HOUR,
        KLINE_INTERVAL_4HOUR,
        KLINE_INTERVAL_6HOUR,
        KLINE_INTERVAL_12HOUR,
        KLINE_INTERVAL_1DAY,
        KLINE_INTERVAL_3DAY,
        KLINE_INTERVAL_1WEEK,
    }
)
"""Options kline intervals (no ``1s``, ``8h`` or ``1M``)."""

KLINE_INTERVALS: Mapping[Product, frozenset[str]] = {
    Product.SPOT: SPOT_KLINE_INTERVALS,
    Product.USDM: FUTURES_KLINE_INTERVALS,
    Product.COINM: FUTURES_KLINE_INTERVALS,
    Product.OPTIONS: OPTIONS_KLINE_INTERVALS,
}
"""The kline intervals each product serves."""


def in_interval_order(intervals: Iterable[str]) -> list[str]:
    """``intervals`` sorted shortest first, for readable error messages."""
    return sorted(intervals, key=ALL_KLINE_INTERVALS.index)


_E = TypeVar("_E", bound=enum.Enum)


def _coerce_enum(cls: type[_E], value: object, what: str) -> _E:
    """Map ``value`` onto a member of ``cls``.

    Accepts a member of ``cls``, a member of any other enum with the same
    ``.name`` (python-binance's enums), or a string equal to a member's name
    (any case) or value.  Anything else is a ``ValueError`` naming the members.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, enum.Enum):
        key: object = value.name
    elif isinstance(value, str):
        key = value
    else:
        key = None
    for member in cls:
        if isinstance(key, str) and (key.upper() == member.name or key == member.value):
            return member
    allowed = ", ".join(f"{cls.__name__}.{member.name}" for member in cls)
    raise ValueError(f"{what} must be one of {allowed}, got {value!r}")


def coerce_futures_type(value: object) -> FuturesType:
    """Accept our :class:`FuturesType`, python-binance's, or ``"USD_M"``/``"COIN_M"``.

    Raises:
        ValueError: For anything else; the message names the allowed members.
    """
    return _coerce_enum(FuturesType, value, "futures_type")


def coerce_contract_type(value: object) -> ContractType:
    """Accept our :class:`ContractType`, python-binance's, or its name or value string.

    Raises:
        ValueError: For anything else; the message names the allowed members.
    """
    return _coerce_enum(ContractType, value, "contract_type")
