"""python-binance style callbacks, no async code (every callback runs in one thread).

python examples/threaded.py
python examples/threaded.py --endpoints fake.json --count 5   # offline, trio-binance fake
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from trio_binance import Endpoints, ThreadedWebsocketManager


def main(endpoints: Endpoints | None, count: int | None, seconds: float) -> None:
    received = 0
    enough = threading.Event()
    # Every callback of the manager runs in one thread, in order (as python-binance's).

    def on_message(msg: dict[str, Any]) -> None:
        nonlocal received
        if msg.get("e") == "error":
            print("stream failed:", msg["type"], msg["m"])
            return
        # As in python-binance, futures sockets wrap each payload: {"stream", "data"}.
        data = msg["data"] if "stream" in msg else msg
        print(data["s"], data["p"])
        received += 1
        if received == count:
            enough.set()

    with ThreadedWebsocketManager(endpoints=endpoints) as twm:
        twm.start_trade_socket(on_message, "BTCUSDT")
        twm.start_aggtrade_futures_socket(on_message, "ETHUSDT")
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
