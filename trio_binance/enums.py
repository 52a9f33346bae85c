"""The names of python-binance's ``binance.enums`` that stream code uses.

``from binance.enums import FuturesType, KLINE_INTERVAL_1HOUR`` becomes
``from trio_binance.enums import FuturesType, KLINE_INTERVAL_1HOUR``.  The enums
accept python-binance's own members too, so either import works with the stream
methods.
"""

from ._enums import KLINE_INTERVAL_1DAY as KLINE_INTERVAL_1DAY
from ._enums import KLINE_INTERVAL_1HOUR as KLINE_INTERVAL_1HOUR
from ._enums import KLINE_INTERVAL_1MINUTE as KLINE_INTERVAL_1MINUTE
from ._enums import KLINE_INTERVAL_1MONTH as KLINE_INTERVAL_1MONTH
from ._enums import KLINE_INTERVAL_1SECOND as KLINE_INTERVAL_1SECOND
from ._enums import KLINE_INTERVAL_1WEEK as KLINE_INTERVAL_1WEEK
from ._enums import KLINE_INTERVAL_2HOUR as KLINE_INTERVAL_2HOUR
from ._enums import KLINE_INTERVAL_3DAY as KLINE_INTERVAL_3DAY
from ._enums import KLINE_INTERVAL_3MINUTE as KLINE_INTERVAL_3MINUTE
from ._enums import KLINE_INTERVAL_4HOUR as KLINE_INTERVAL_4HOUR
from ._enums import KLINE_INTERVAL_5MINUTE as KLINE_INTERVAL_5MINUTE
from ._enums import KLINE_INTERVAL_6HOUR as KLINE_INTERVAL_6HOUR
from ._enums import KLINE_INTERVAL_8HOUR as KLINE_INTERVAL_8HOUR
from ._enums import KLINE_INTERVAL_12HOUR as KLINE_INTERVAL_12HOUR
from ._enums import KLINE_INTERVAL_15MINUTE as KLINE_INTERVAL_15MINUTE
from ._enums import KLINE_INTERVAL_30MINUTE as KLINE_INTERVAL_30MINUTE
from ._enums import ContractType as ContractType
from ._enums import FuturesType as FuturesType

__all__ = [
    "KLINE_INTERVAL_1DAY",
    "KLINE_INTERVAL_1HOUR",
    "KLINE_INTERVAL_1MINUTE",
    "KLINE_INTERVAL_1MONTH",
    "KLINE_INTERVAL_1SECOND",
    "KLINE_INTERVAL_1WEEK",
    "KLINE_INTERVAL_2HOUR",
    "KLINE_INTERVAL_3DAY",
    "KLINE_INTERVAL_3MINUTE",
    "KLINE_INTERVAL_4HOUR",
    "KLINE_INTERVAL_5MINUTE",
    "KLINE_INTERVAL_6HOUR",
    "KLINE_INTERVAL_8HOUR",
    "KLINE_INTERVAL_12HOUR",
    "KLINE_INTERVAL_15MINUTE",
    "KLINE_INTERVAL_30MINUTE",
    "ContractType",
    "FuturesType",
]
