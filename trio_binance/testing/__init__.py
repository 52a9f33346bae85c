"""A fake Binance exchange for tests: ``open_fake_binance()`` and its pytest fixture.

The fake serves Binance's stream protocol (URL forms, live SUBSCRIBE and friends,
routes, pings, limits, ``serverShutdown``) with trio-websocket, a synthetic
market, a small REST API (depth snapshots, server time), and user data:
accounts whose signatures it verifies, listen keys and their streams, margin
listen tokens and the spot WebSocket API's user-data subscriptions.  By default it runs
in memory and is deterministic under ``trio.testing.MockClock(autojump_threshold=0)``::

    async with open_fake_binance() as fake:
        fake.start_market(["BTCUSDT"])
        async with open_binance_streams(endpoints=fake.endpoints, transport=fake.transport) as bsm:
            ...

    async with open_fake_binance() as fake:
        fake.add_account(API_KEY, API_SECRET)
        async with open_binance_streams(
            API_KEY, API_SECRET, endpoints=fake.endpoints, transport=fake.transport
        ) as bsm, bsm.futures_user_socket() as account:
            await fake.wait_until(lambda: bool(fake.user_connections(API_KEY, "usdm")))
            fake.push_user_event(API_KEY, "usdm", {"e": "ACCOUNT_UPDATE", ...})

This module only re-exports; the implementation lives in private modules:
``_exchange`` (the exchange and its transport), ``_replay`` (recordings
played through the fake), ``_connection`` (one stream
connection), ``_market`` (the synthetic market), ``_rest`` (the REST router),
``_user_data`` (listen keys, listen tokens, the WebSocket API), ``_accounts``
(accounts and signature checks), ``_routing`` (stream names, routes and URL
paths), ``_pipes`` (in-memory byte streams) and ``_settings``.  Loggers live
under ``trio_binance.testing``.
"""

from ._accounts import FakeAccount as FakeAccount
from ._connection import ClientRequest as ClientRequest
from ._connection import FakeConnection as FakeConnection
from ._exchange import FakeBinance as FakeBinance
from ._exchange import FakeTransport as FakeTransport
from ._exchange import HandshakeRecord as HandshakeRecord
from ._exchange import open_fake_binance as open_fake_binance
from ._market import FakeMarket as FakeMarket
from ._replay import ReplayStats as ReplayStats
from ._replay import replay_recording as replay_recording
from ._rest import RestRequest as RestRequest
from ._rest import RestResponse as RestResponse
from ._rest import RestRouter as RestRouter
from ._rest import binance_error as binance_error
from ._settings import FakeSettings as FakeSettings
from ._settings import ProductLimits as ProductLimits
from ._user_data import UserSubscription as UserSubscription

__all__ = [
    "ClientRequest",
    "FakeAccount",
    "FakeBinance",
    "FakeConnection",
    "FakeMarket",
    "FakeSettings",
    "FakeTransport",
    "HandshakeRecord",
    "ProductLimits",
    "ReplayStats",
    "RestRequest",
    "RestResponse",
    "RestRouter",
    "UserSubscription",
    "binance_error",
    "open_fake_binance",
    "replay_recording",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("trio_binance.testing."):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover
            pass
del _name, _obj
