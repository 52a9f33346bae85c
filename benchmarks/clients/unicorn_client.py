"""unicorn-binance-websocket-api (UBWA): ``create_stream`` with ``process_asyncio_queue``.

Pointed at the local server with ``websocket_base_uri``; ``warn_on_update=False``
(no GitHub check), ``output_default="dict"`` (UBWA decodes with orjson).  Variants
choose UBWA's socket layer: ``websockets`` or ``picows``.  UBWA runs its asyncio
loop in its own thread; the consumer coroutine runs in that loop, and only messages
with a ``"stream"`` key (not subscription answers) are counted.  UBWA starts reading
before it starts the consumer, so the client subscribes to ``spec.gate`` once the
consumer runs, and the server waits for that before sending.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from unicorn_binance_websocket_api import BinanceWebSocketApiManager

from ..spec import RunSpec
from .common import MEMORY_TIMEOUT, POLL, Tally, main


def _split(streams: list[str]) -> tuple[list[str], list[str]]:
    markets = list(dict.fromkeys(name.partition("@")[0] for name in streams))
    channels = list(dict.fromkeys(name.partition("@")[2] for name in streams))
    if len(markets) * len(channels) != len(streams):
        raise ValueError("UBWA subscribes to every market x channel pair")
    return channels, markets


def run(spec: RunSpec, tally: Tally) -> None:
    logging.getLogger("unicorn_binance_websocket_api").setLevel(logging.CRITICAL)
    channels, markets = _split(spec.streams)
    holder: dict[str, Any] = {}

    ready = threading.Event()

    async def consume(stream_id: str) -> None:
        ready.set()
        manager = holder["manager"]
        get = manager.get_stream_data_from_asyncio_queue
        done = manager.asyncio_queue_task_done
        latency = tally.latency
        while True:
            msg = await get(stream_id)
            done(stream_id)
            if type(msg) is not dict or "stream" not in msg:
                continue
            if not tally.started:
                tally.begin(1)
            else:
                tally.count += 1
            if latency:
                tally.note(msg)
            if tally.count >= tally.expected:
                tally.finish()

    manager = BinanceWebSocketApiManager(
        exchange="binance.com",
        websocket_base_uri=f"{spec.url}/",
        output_default="dict",
        warn_on_update=False,
        disable_colorama=True,
        process_asyncio_queue=consume,
        websocket_library=spec.variant or "websockets",
    )
    holder["manager"] = manager
    try:
        stream_id = manager.create_stream(channels, markets)
        if not ready.wait(MEMORY_TIMEOUT):
            raise TimeoutError("UBWA never started the consumer")
        gate_market, _, gate_channel = spec.gate.partition("@")
        manager.subscribe_to_stream(stream_id, channels=[gate_channel], markets=[gate_market])
        if spec.mode == "memory":
            deadline = time.monotonic() + MEMORY_TIMEOUT
            while not tally.done and time.monotonic() < deadline:
                time.sleep(POLL)
            tally.finish()
            time.sleep(spec.hold)
            tally.snapshot_memory()
        else:
            while not tally.idle():
                time.sleep(POLL)
    finally:
        tally.extra["note"] = "stopped with os._exit (UBWA teardown not measured)"


if __name__ == "__main__":
    main("unicorn", run)
