"""Pure Binance stream-protocol rules: requests, frame classification, de-duplication.

No I/O here.  The connection engine asks these functions what a frame is and how to
order messages of a stream across two connections (rotation overlap, reconnects).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ._endpoints import Product

__all__ = ["DedupeRule", "control_error", "dedupe_rule", "encode_request"]

Successor = Callable[[int, dict[str, Any]], bool]
DedupeRule = tuple[str | None, Successor | None]


def encode_request(method: str, params: list[str] | None, request_id: int) -> bytes:
    """A live-subscription request frame; ids are always integers (options reject others)."""
    body: dict[str, Any] = {"method": method, "id": request_id}
    if params is not None:
        body["params"] = params
    return orjson.dumps(body)


def control_error(msg: dict[str, Any]) -> tuple[int | None, str] | None:
    """The ``(code, msg)`` of an error response, or ``None`` for a success.

    Binance documents a flat ``{"code", "msg"}`` but sends ``{"error": {...}}``; both
    are accepted.
    """
    error = msg.get("error")
    if error is None:
        if "code" in msg and "result" not in msg:
            return msg.get("code"), str(msg.get("msg", ""))
        return None
    if isinstance(error, dict):
        code = error.get("code")
        return (code if isinstance(code, int) else None), str(error.get("msg", ""))
    return None, str(error)


def _consecutive(last: int, payload: dict[str, Any], key: str) -> bool:
    return payload.get(key) == last + 1


def _trade_next(last: int, payload: dict[str, Any]) -> bool:
    return _consecutive(last, payload, "t")


def _agg_next(last: int, payload: dict[str, Any]) -> bool:
    return _consecutive(last, payload, "a")


def _spot_depth_next(last: int, payload: dict[str, Any]) -> bool:
    return payload.get("U") == last + 1


def _futures_depth_next(last: int, payload: dict[str, Any]) -> bool:
    return payload.get("pu") == last


def dedupe_rule(product: Product, stream: str) -> DedupeRule:
    """How messages of ``stream`` are ordered, for overlap de-duplication.

    Returns ``(id_key, successor)``: the payload field holding a per-stream increasing
    id (``None`` when the stream has none: messages are then matched by content),
    and a function telling whether a payload directly follows id ``last`` (``None``
    when ids increase but do not chain).  Where ids chain, a message that does not
    follow the last one means messages were missed: a ``"skipped"`` gap.
    """
    if stream.startswith("!"):
        return None, None  # all-market streams interleave symbols
    _, _, suffix = stream.partition("@")
    if suffix == "trade" and product is Product.SPOT:
        return "t", _trade_next
    if suffix == "aggTrade":
        return "a", _agg_next
    if suffix == "bookTicker":
        return "u", None
    if suffix.startswith(("depth", "rpiDepth")):
        # A partial book (depth5/10/20) is a fresh top-N each time: its ids increase
        # but do not chain.  RPI depth: whether `pu` chains is UNCONFIRMED.
        partial = suffix[5:6].isdigit() or suffix.startswith("rpiDepth")
        if product is Product.SPOT:
            return ("lastUpdateId", None) if partial else ("u", _spot_depth_next)
        return ("u", None) if partial else ("u", _futures_depth_next)
    return None, None
