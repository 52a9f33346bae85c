"""pytest plugin of trio_binance: the ``fake_binance`` fixture.

Registered through the ``pytest11`` entry point, so installing the package makes
the fixtures available to every test suite::

    async def test_trades(fake_binance):
        fake_binance.start_market(["BTCUSDT"])
        ...

The fixtures are async, so they need pytest-trio (``trio_mode = true`` or
``@pytest.mark.trio``); they work with its ``autojump_clock`` fixture.  Override
``fake_binance_settings`` in a ``conftest.py`` to change the fake's limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ._exchange import FakeBinance, open_fake_binance
from ._settings import FakeSettings

__all__ = ["fake_binance", "fake_binance_settings"]


@pytest.fixture
def fake_binance_settings() -> FakeSettings:
    """Settings of the ``fake_binance`` fixture: Binance's defaults. Override to change."""
    return FakeSettings()


@pytest.fixture
async def fake_binance(fake_binance_settings: FakeSettings) -> AsyncIterator[FakeBinance]:
    """An in-memory fake Binance exchange, closed after the test."""
    async with open_fake_binance(settings=fake_binance_settings) as fake:
        yield fake
