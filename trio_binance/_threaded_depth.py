"""``ThreadedDepthCacheManager``: python-binance's threaded local order books."""

from __future__ import annotations

from typing import final

from ._endpoints import Endpoints
from ._settings import Settings
from ._threaded_base import ThreadedManager
from ._transport import Transport

__all__ = ["ThreadedDepthCacheManager"]


@final
class ThreadedDepthCacheManager(ThreadedManager):
    """Local order books for synchronous programs, with python-binance's methods.

    Each ``start_*`` method keeps a book of one symbol in sync (diff stream and REST
    snapshot, by Binance's rules for the product) and calls ``callback`` with a copy
    of it, a :class:`~trio_binance.DepthCache`, after each update: ``get_bids()`` and
    ``get_asks()`` as ``[price, qty]`` lists (best first), ``symbol``,
    ``update_time``.  A book that cannot be had (an unknown symbol: Binance's
    ``-1121``) calls back once with ``{"e": "error", "type": ..., "m": ...}``.

    Example::

        def handle(book):
            print(book.symbol, book.get_bids()[:5], book.get_asks()[:5])

        dcm = ThreadedDepthCacheManager()
        dcm.start()
        dcm.start_depth_cache(handle, symbol="BNBBTC")
        dcm.join()  # Ctrl-C stops the manager cleanly and returns

    Unlike python-binance's, the futures and options books are diff-synced full
    books (python-binance's futures book is the top-10 partial stream, its options
    book merges top-10 snapshots); ``limit`` is the snapshot depth, as in
    python-binance.  Callbacks, names, errors and lifetime behave as in
    :class:`~trio_binance.ThreadedWebsocketManager`; names are python-binance's,
    ``<symbol>@depth<limit>``.

    Args:
        api_key: Accepted as in python-binance (books need no key).
        api_secret: Likewise.
        requests_params: Ignored; accepted so python-binance code ports unchanged.
        tld: Top-level domain of the production endpoints (``"com"``, ``"us"``...).
        testnet: Use Binance's testnet endpoints.
        https_proxy: An HTTP proxy for every connection and snapshot request.
        max_queue_size: Handle buffer size (books apply backpressure beyond it).
        demo: Use Binance's demo-mode endpoints.
        endpoints: Explicit :class:`~trio_binance.Endpoints`, e.g. a fake exchange's.
        transport: How connections reach the exchange (the network by default).
        settings: Timeouts, margins and limits (:class:`~trio_binance.Settings`).
        time_unit: ``"MICROSECOND"`` for microsecond event times in spot books.
        verbose: Set the ``trio_binance`` logger to DEBUG.
        stop_socket_on_callback_error: Stop a book the first time its callback raises.

    Raises:
        ValueError: An argument is invalid (checked here, before any thread starts).
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        requests_params: dict[str, str] | None = None,
        tld: str = "com",
        testnet: bool = False,
        *,
        https_proxy: str | None = None,
        max_queue_size: int = 100,
        demo: bool = False,
        endpoints: Endpoints | None = None,
        transport: Transport | None = None,
        settings: Settings | None = None,
        time_unit: str | None = None,
        verbose: bool = False,
        stop_socket_on_callback_error: bool = False,
    ) -> None:
        super().__init__(
            api_key=api_key,
            api_secret=api_secret,
            tld=tld,
            testnet=testnet,
            https_proxy=https_proxy,
            max_queue_size=max_queue_size,
            demo=demo,
            endpoints=endpoints,
            transport=transport,
            settings=settings,
            time_unit=time_unit,
            verbose=verbose,
            stop_socket_on_callback_error=stop_socket_on_callback_error,
        )

    # python-binance's names of ThreadedManager.start_futures_depth_cache and
    # start_options_depth_cache (start_depth_cache is the same name in both).
    start_futures_depth_socket = ThreadedManager.start_futures_depth_cache
    start_options_depth_socket = ThreadedManager.start_options_depth_cache
