"""python-binance: ``BinanceSocketManager.multiplex_socket`` drained with ``recv()``.

Pointed at the local server by setting ``BinanceSocketManager.STREAM_URL`` (the class
attribute it formats with the tld).  The ``AsyncClient`` is constructed directly:
``AsyncClient.create()`` would ping the REST API, the constructor does no I/O.
python-binance's own reader task decodes with orjson (when installed, as here) and
puts messages into its queue (``max_queue_size=100``, the default); ``recv()`` is
the consumer.  Errors it reports in-band (``{"e": "error", ...}``) are not counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from binance.async_client import AsyncClient
from binance.ws.streams import BinanceSocketManager

from ..spec import RunSpec
from .common import Tally, main
from .consume_asyncio import consume_getter


def _data_only(recv: Callable[[], Awaitable[Any]], tally: Tally) -> Callable[[], Awaitable[Any]]:
    async def get() -> Any:
        while True:
            msg = await recv()
            if msg.get("e") != "error":
                return msg
            tally.error(f"python-binance reported {msg.get('type')}: {msg.get('m')}")

    return get


async def _run(spec: RunSpec, tally: Tally) -> None:
    BinanceSocketManager.STREAM_URL = f"{spec.url}/"
    client = AsyncClient()
    bsm = BinanceSocketManager(client)
    socket = bsm.multiplex_socket(spec.streams)
    # Entered but never exited: after a lost connection python-binance's __aexit__
    # waits for its reconnect loop, which can take a minute; the process just exits.
    await socket.__aenter__()
    get = _data_only(socket.recv, tally)
    await consume_getter(get, spec, tally)


def run(spec: RunSpec, tally: Tally) -> None:
    logging.getLogger("binance").setLevel(logging.CRITICAL)
    asyncio.run(_run(spec, tally))


if __name__ == "__main__":
    main("python-binance", run)
