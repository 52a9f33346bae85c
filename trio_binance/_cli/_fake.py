"""``trio-binance fake``: the fake exchange on 127.0.0.1 with a synthetic market."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import trio

from .._endpoints import Product
from .._streams import normalize_symbol
from ..testing import FakeBinance, open_fake_binance
from ._common import CliError, connection_options, run_until_signal

__all__ = ["fake", "run_fake", "write_endpoints"]

#: Listen-key kinds and WebSocket-API kinds that get a synthetic account event.
_USER_KINDS = ("usdm", "coinm", "pm", "options", "spot", "margin")


def write_endpoints(fake: FakeBinance, path: Path) -> None:
    """Write ``fake.endpoints`` as the JSON ``--endpoints FILE`` reads, atomically.

    A program that waits for the file to appear never reads half of it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(fake.endpoints.to_dict(), indent=2) + "\n")
    tmp.replace(path)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _account_event(kind: str, now_ms: int, n: int) -> dict[str, object]:
    balance = f"{10_000 + n}.00000000"
    if kind in ("spot", "margin"):
        return {
            "e": "outboundAccountPosition",
            "E": now_ms,
            "u": now_ms,
            "B": [{"a": "USDT", "f": balance, "l": "0.00000000"}],
        }
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {"m": "DEPOSIT", "B": [{"a": "USDT", "wb": balance, "cw": balance, "bc": "1"}]},
    }


async def _account_events(fake: FakeBinance, api_key: str, interval: float) -> None:
    """Every ``interval`` s, one balance event to each user-data stream of the account."""
    n = 0
    while True:
        await trio.sleep(interval)
        n += 1
        for kind in _USER_KINDS:
            fake.push_user_event(api_key, kind, _account_event(kind, fake.now_ms(), n))


async def run_fake(
    symbols: Sequence[str],
    *,
    endpoints_out: Path | None,
    port: int = 0,
    account: tuple[str, str] | None = None,
    trade_interval: float = 0.2,
    task_status: trio.TaskStatus[FakeBinance] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the fake exchange on 127.0.0.1 until cancelled.

    Markets run for every product (spot, USD-M, COIN-M, options) with ``symbols``.
    The endpoints file, if any, is written once the fake listens and removed when
    it stops, so that nothing is left pointing at a closed port.
    """
    async with open_fake_binance(listen=True, port=port) as exchange:
        for product in Product:
            exchange.start_market(
                symbols,
                product,
                trade_interval=trade_interval,
                depth_interval=0.25,
                book_ticker_interval=0.1,
                kline_interval=1.0,
                ticker_interval=1.0,
            )
        if account is not None:
            exchange.add_account(*account)
        try:
            if endpoints_out is not None:
                write_endpoints(exchange, endpoints_out)
            task_status.started(exchange)
            if account is not None:
                await _account_events(exchange, account[0], 1.0)
            await trio.sleep_forever()
        finally:
            if endpoints_out is not None:
                _remove(endpoints_out)


@click.command("fake")
@click.option(
    "--endpoints-out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the fake's endpoints here (the JSON every --endpoints FILE reads).",
)
@click.option(
    "--symbols",
    "symbol_options",
    multiple=True,
    metavar="SYMBOL",
    help="Symbols of the synthetic market (repeatable, or comma-separated); "
    "default BTCUSDT ETHUSDT.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="TCP port (0: any free).")
@click.option("--api-key", help="Open an account with this key (user-data streams).")
@click.option("--api-secret", help="The account's secret (HMAC) or PEM private-key file.")
@click.option(
    "--trade-interval",
    type=click.FloatRange(min=0.001),
    default=0.2,
    show_default=True,
    help="Seconds between trades of each symbol.",
)
@connection_options
@click.argument("symbols", nargs=-1, metavar="[SYMBOL...]")
def fake(
    endpoints_out: Path | None,
    symbol_options: tuple[str, ...],
    port: int,
    api_key: str | None,
    api_secret: str | None,
    trade_interval: float,
    testnet: bool,
    demo: bool,
    tld: str,
    endpoints_file: str | None,
    symbols: tuple[str, ...],
) -> None:
    """Run the fake exchange on 127.0.0.1 with a synthetic market, until SIGINT.

    Trades, book tickers, klines, tickers and diff depth (with REST snapshots) for
    each SYMBOL, on every product.  Point any program at it with the endpoints
    file: `trio-binance stream --endpoints FILE btcusdt@trade`, or
    Endpoints.from_file(FILE) in Python.  (--testnet, --demo, --tld and
    --endpoints are accepted for symmetry and ignored: the fake is local.)
    """
    del testnet, demo, tld, endpoints_file
    names = [s for raw in (*symbol_options, *symbols) for s in raw.replace(",", " ").split()]
    try:
        names = [normalize_symbol(s).upper() for s in names] or ["BTCUSDT", "ETHUSDT"]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    account = _account(api_key, api_secret)
    if endpoints_out is not None and not endpoints_out.parent.is_dir():
        raise CliError(f"cannot write {endpoints_out}: no such directory")

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            exchange: FakeBinance = await nursery.start(
                functools.partial(
                    run_fake,
                    names,
                    endpoints_out=endpoints_out,
                    port=port,
                    account=account,
                    trade_interval=trade_interval,
                )
            )
            where = f"; endpoints in {endpoints_out}" if endpoints_out else ""
            print(
                f"fake exchange on {exchange.endpoints.spot_rest} ({', '.join(names)})"
                f"{where}; Ctrl-C stops it",
                file=sys.stderr,
                flush=True,
            )

    trio.run(run_until_signal, body)


def _account(api_key: str | None, api_secret: str | None) -> tuple[str, str] | None:
    if api_key is None and api_secret is None:
        return None
    if not api_key or not api_secret:
        raise CliError("--api-key and --api-secret go together")
    if os.path.isfile(api_secret):
        api_secret = Path(api_secret).read_text()
    return api_key, api_secret
