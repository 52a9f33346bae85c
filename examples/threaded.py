"""python-binance style callbacks, no async code (needs network access to Binance).

python examples/threaded.py
"""

import time

from trio_binance import ThreadedWebsocketManager


def on_message(msg: dict) -> None:
    if msg.get("e") == "error":
        print("stream failed:", msg["type"], msg["m"])
    else:
        print(msg["s"], msg["p"])


if __name__ == "__main__":
    with ThreadedWebsocketManager() as twm:
        twm.start_trade_socket(on_message, "BTCUSDT")
        twm.start_aggtrade_futures_socket(on_message, "ETHUSDT")
        time.sleep(10)
