"""Pure protocol rules: control responses and how streams are ordered across links."""

from __future__ import annotations

import orjson
import pytest

from trio_binance import Product
from trio_binance._protocol import control_error, dedupe_rule, encode_request


def test_requests_use_integer_ids() -> None:
    frame = orjson.loads(encode_request("SUBSCRIBE", ["btcusdt@trade"], 7))
    assert frame == {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}
    assert orjson.loads(encode_request("LIST_SUBSCRIPTIONS", None, 8)) == {
        "method": "LIST_SUBSCRIPTIONS",
        "id": 8,
    }


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({"result": None, "id": 1}, None),
        ({"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1},
         (2, "Invalid request: invalid stream")),
        ({"code": 3, "msg": "Invalid JSON", "id": 1}, (3, "Invalid JSON")),
        ({"error": "boom", "id": 1}, (None, "boom")),
    ],
)  # fmt: skip
def test_control_errors_in_both_wire_shapes(msg: dict[str, object], expected: object) -> None:
    assert control_error(msg) == expected


@pytest.mark.parametrize(
    ("product", "stream", "key", "contiguous"),
    [
        (Product.SPOT, "btcusdt@trade", "t", True),
        (Product.SPOT, "btcusdt@aggTrade", "a", True),
        (Product.USDM, "btcusdt@aggTrade", "a", True),
        (Product.SPOT, "btcusdt@depth@100ms", "u", True),
        (Product.SPOT, "btcusdt@depth5", "lastUpdateId", False),
        (Product.USDM, "btcusdt@depth5@100ms", "u", False),  # a fresh top 5: no chain
        (Product.USDM, "btcusdt@rpiDepth@500ms", "u", False),
        (Product.USDM, "btcusdt@depth", "u", True),
        (Product.SPOT, "btcusdt@bookTicker", "u", False),
        (Product.USDM, "!bookTicker", None, False),
        (Product.SPOT, "btcusdt@kline_1m", None, False),
        (Product.OPTIONS, "btcusdt@optionTrade", None, False),
    ],
)
def test_dedupe_rules(product: Product, stream: str, key: str | None, contiguous: bool) -> None:
    id_key, successor = dedupe_rule(product, stream)
    assert id_key == key
    assert (successor is not None) == contiguous


def test_successor_rules_follow_binance_order_book_docs() -> None:
    _, spot = dedupe_rule(Product.SPOT, "btcusdt@depth")
    _, futures = dedupe_rule(Product.USDM, "btcusdt@depth")
    assert spot is not None and futures is not None
    assert spot(160, {"U": 161, "u": 170})
    assert not spot(160, {"U": 165, "u": 170})
    assert futures(160, {"U": 150, "u": 170, "pu": 160})
    assert not futures(160, {"U": 161, "u": 170, "pu": 158})
