"""Typed messages: ``mypy --strict`` on user programs accepts right code and catches wrong.

One mypy run (in-process, ``mypy.api``) checks every program below at once; each
test then reads that run's errors for its own file.  A line ending in
``# error: <code>`` must get exactly that error; no other line may get any.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import trio_binance

mypy_api = pytest.importorskip("mypy.api")

PROGRAMS = {
    # A trade, a depth-cache level and a Gap, read as a user would.
    "reads_right": """
        from decimal import Decimal

        from trio_binance import Gap, open_binance_streams
        from trio_binance.messages import Envelope, ErrorMessage, FuturesAggTrade, Trade


        async def main() -> None:
            async with open_binance_streams(gap_notices=True) as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    msg = await trades.receive()
                    if isinstance(msg, Gap):
                        print(msg.reason, msg.last_id, msg.duration)
                    else:
                        price: float = float(msg["p"])
                        trade_id: int = msg["t"]
                        print(price, trade_id, msg["m"])
                async with bsm.depth_cache("BTCUSDT") as book:  # books never yield gaps
                    cache = await book.receive()
                    best = cache.best_bid()
                    if best is not None:
                        bid, quantity = best
                        print(bid * quantity, cache.get_asks()[0][0] + 1.0)
                exact = bsm.depth_cache("ETHUSDT", conv_type=Decimal)
                async with exact:
                    levels: list[tuple[Decimal, Decimal]] = (await exact.receive()).bids(5)
                    print(levels)
                async with bsm.multiplex_socket(["btcusdt@trade"]) as mixed:
                    async for item in mixed:
                        if not isinstance(item, Gap):
                            print(item["stream"], item["data"])
            async with open_binance_streams() as plain:  # no gap notices: no Gap to handle
                async with plain.trade_socket("BTCUSDT") as trades:
                    trade: Trade = await trades.receive()
                    batch: list[Trade] = await trades.receive_batch()
                    print(trade["p"], len(batch))
                async with plain.futures_user_socket() as account:
                    event = await account.receive()
                    print(event["e"])


        def on_futures(msg: Envelope[FuturesAggTrade] | ErrorMessage) -> None:
            if "stream" in msg:
                print(msg["data"]["p"])
            else:
                print(msg["type"], msg["m"])
    """,
    "wrong_key": """
        from trio_binance import open_binance_streams


        async def main() -> None:
            async with open_binance_streams() as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    msg = await trades.receive()
                    print(msg["price"])  # error: typeddict-item
    """,
    "wrong_type": """
        from trio_binance import open_binance_streams


        async def main() -> None:
            async with open_binance_streams() as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    msg = await trades.receive()
                    price: float = msg["p"]  # error: assignment
                async with bsm.depth_cache("BTCUSDT") as book:
                    best = (await book.receive()).best_ask()
                    assert best is not None
                    label: str = best[0]  # error: assignment
    """,
    "gap_where_none_can_occur": """
        from trio_binance import Gap, open_binance_streams


        async def main() -> None:
            async with open_binance_streams() as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    notice: Gap = await trades.receive()  # error: assignment
    """,
    "gap_not_handled": """
        from trio_binance import open_binance_streams


        async def main() -> None:
            async with open_binance_streams(gap_notices=True) as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    msg = await trades.receive()
                    print(msg["p"])  # error: index
                quiet = bsm.with_options(gap_notices=False)
                async with quiet.trade_socket("BTCUSDT") as trades:
                    print((await trades.receive())["p"])
            async with open_binance_streams() as plain:
                noisy = plain.with_options(gap_notices=True)
                async with noisy.aggtrade_socket("BTCUSDT") as trades:
                    print((await trades.receive())["a"])  # error: index
    """,
    "wrong_callback": """
        from trio_binance import ThreadedWebsocketManager
        from trio_binance.messages import Trade


        def on_trade(msg: Trade) -> None:  # forgets the error message a failed socket sends
            print(msg["p"])


        twm = ThreadedWebsocketManager()
        twm.start_trade_socket(on_trade, "BTCUSDT")  # error: arg-type
    """,
}

_EXPECTED = re.compile(r"#\s*error:\s*([\w-]+)\s*$")
_REPORTED = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def mypy_errors(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, set[tuple[int, str]]]]:
    """``{program: {(line, code), ...}}`` from one ``mypy --strict`` run over them all."""
    root = tmp_path_factory.mktemp("typing")
    for name, text in PROGRAMS.items():
        (root / f"{name}.py").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (root / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # not the project's config
    args = [
        "--strict",
        "--config-file", str(root / "mypy.ini"),
        "--cache-dir", str(root / ".mypy_cache"),
        "--no-error-summary", "--show-error-codes", "--no-pretty", "--hide-error-context",
        *(str(root / f"{name}.py") for name in PROGRAMS),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        # An editable install is invisible to mypy: point it at the package's source.
        source = Path(trio_binance.__file__).resolve().parent.parent
        if "site-packages" not in source.parts:
            patch.setenv("MYPYPATH", str(source))
        stdout, stderr, status = mypy_api.run(args)
    assert status in (0, 1), stdout + stderr  # 2: mypy itself failed
    errors: dict[str, set[tuple[int, str]]] = {name: set() for name in PROGRAMS}
    for line in stdout.splitlines():
        match = _REPORTED.match(line)
        assert match is not None, f"unexpected mypy output: {line}\n{stdout}"
        if Path(match["file"]).parent == root:  # (the package's own: `mypy trio_binance`)
            errors[Path(match["file"]).stem].add((int(match["line"]), match["code"]))
    yield errors


def _expected(name: str) -> set[tuple[int, str]]:
    lines = textwrap.dedent(PROGRAMS[name]).lstrip().splitlines()
    return {(n, m[1]) for n, text in enumerate(lines, 1) if (m := _EXPECTED.search(text))}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_mypy_strict_reports_exactly_the_marked_errors(
    name: str, mypy_errors: dict[str, set[tuple[int, str]]]
) -> None:
    assert mypy_errors[name] == _expected(name)


def test_the_right_program_has_nothing_to_report() -> None:
    assert _expected("reads_right") == set()
    assert all(_expected(name) for name in PROGRAMS if name != "reads_right")


def test_messages_are_plain_dicts_at_run_time() -> None:
    from trio_binance.messages import ErrorMessage, Trade

    trade = Trade(e="trade", E=1, s="BTCUSDT", t=2, p="1.5", q="2", T=1, m=True, M=True)
    assert type(trade) is dict
    assert Trade.__required_keys__ == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
    assert type(ErrorMessage(e="error", type="StreamRejected", m="no")) is dict
