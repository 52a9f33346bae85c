"""trio_binance: a Trio-native, structured-concurrency client for Binance WebSocket streams.

::

    async with open_binance_streams() as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            async for msg in trades:
                ...

This module only re-exports; see ``docs/architecture.md`` for the layout.
"""

from ._depth_cache import DepthCacheHandle as DepthCacheHandle
from ._endpoints import Endpoints as Endpoints
from ._endpoints import Product as Product
from ._engine import ConnectionStats as ConnectionStats
from ._enums import ContractType as ContractType
from ._enums import FuturesType as FuturesType
from ._exceptions import BinanceAPIError as BinanceAPIError
from ._exceptions import BinanceStreamError as BinanceStreamError
from ._exceptions import NetworkError as NetworkError
from ._exceptions import QueueOverflow as QueueOverflow
from ._exceptions import StreamRejected as StreamRejected
from ._exceptions import StreamUnavailable as StreamUnavailable
from ._exceptions import UserStreamError as UserStreamError
from ._gap import GAP_REASONS as GAP_REASONS
from ._gap import Gap as Gap
from ._handle import HandleStats as HandleStats
from ._handle import Overflow as Overflow
from ._handle import StreamHandle as StreamHandle
from ._manager import BinanceSocketManager as BinanceSocketManager
from ._manager import open_binance_streams as open_binance_streams
from ._order_book import DepthCache as DepthCache
from ._settings import ProductLimits as ProductLimits
from ._settings import Settings as Settings
from ._socket_stream import ProxyError as ProxyError
from ._streams import RetiredStreamError as RetiredStreamError
from ._threaded import ThreadedWebsocketManager as ThreadedWebsocketManager
from ._threaded_depth import ThreadedDepthCacheManager as ThreadedDepthCacheManager
from ._transport import NetworkTransport as NetworkTransport
from ._transport import Transport as Transport
from ._version import __version__ as __version__

__all__ = [
    "GAP_REASONS",
    "BinanceAPIError",
    "BinanceSocketManager",
    "BinanceStreamError",
    "ConnectionStats",
    "ContractType",
    "DepthCache",
    "DepthCacheHandle",
    "Endpoints",
    "FuturesType",
    "Gap",
    "HandleStats",
    "NetworkError",
    "NetworkTransport",
    "Overflow",
    "Product",
    "ProductLimits",
    "ProxyError",
    "QueueOverflow",
    "RetiredStreamError",
    "Settings",
    "StreamHandle",
    "StreamRejected",
    "StreamUnavailable",
    "ThreadedDepthCacheManager",
    "ThreadedWebsocketManager",
    "Transport",
    "UserStreamError",
    "__version__",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("trio_binance._"):
        try:
            _obj.__module__ = "trio_binance"
        except (AttributeError, TypeError):  # pragma: no cover
            pass
del _name, _obj
