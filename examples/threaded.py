"""python-binance style callbacks, no async code (every callback runs in one thread).

python examples/threaded.py
python examples/threaded.py --endpoints fake.json --count 5   # offline, trio-binance fake
"""

from __future__ import annotations

import argparse
import threading

from trio_binance import Endpoints, ThreadedWebsocketManager
from trio_binance.messages import Envelope, ErrorMessage, FuturesAggTrade, Trade


def main(endpoints: Endpoints | None, count_limit: int | None, seconds: float) -> None:
    received = 0
    enough = threading.Event()
    # Every callback of the manager runs in one thread, in order (as python-binance's).

    def count(symbol: str, price: str) -> None:
        nonlocal received
        print(symbol, price)
        received += 1
        if received == count_limit:
            enough.set()

    def on_trade(msg: Trade | ErrorMessage) -> None:
        if msg["e"] == "error":  # the socket failed: said once, then it ends
            print("stream failed:", msg["type"], msg["m"])
        else:
            count(msg["s"], msg["p"])

    # As in python-binance, futures sockets wrap each payload: {"stream", "data"}.
    def on_futures_trade(msg: Envelope[FuturesAggTrade] | ErrorMessage) -> None:
        if "stream" in msg:
            count(msg["data"]["s"], msg["data"]["p"])
        else:
            print("stream failed:", msg["type"], msg["m"])

    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        twm.start_trade_socket(on_trade, "BTCUSDT")
        twm.start_aggtrade_futures_socket(on_futures_trade, "ETHUSDT")
        enough.wait(seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Trades through callbacks.")
    parser.add_argument(
        "--endpoints", metavar="FILE", help="endpoints JSON, e.g. of trio-binance fake"
    )
    parser.add_argument("--count", type=int, help="stop after this many messages")
    parser.add_argument("--seconds", type=float, default=10.0, help="stop after this long")
    args = parser.parse_args()
    main(Endpoints.from_file(args.endpoints) if args.endpoints else None, args.count, args.seconds)
