"""``verbose=True`` shows the library's log, and leaves the application's logging alone."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import trio

from trio_binance.testing import FakeBinance

from ._support import client

LIBRARY = logging.getLogger("trio_binance")


@pytest.fixture
def library_level() -> Iterator[None]:
    """Put the ``trio_binance`` logger's level back after the test, whatever it did."""
    saved = LIBRARY.level
    yield
    LIBRARY.setLevel(saved)


async def test_verbose_shows_debug_records_then_restores_the_level(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    library_level: None,
) -> None:
    root = logging.getLogger()
    root_level, root_handlers = root.level, list(root.handlers)
    LIBRARY.setLevel(logging.WARNING)  # the application quietened the library
    fake_binance.start_market(["BTCUSDT"])
    with caplog.at_level(logging.DEBUG):  # a handler that lets everything through
        async with client(fake_binance, verbose=True) as bsm, bsm.trade_socket("BTCUSDT") as h:
            await h.receive()
            assert LIBRARY.level == logging.DEBUG
            # An application's handler exists (pytest's), so none of ours is added.
            assert LIBRARY.handlers == []
        assert any(
            r.name == "trio_binance" and r.levelno == logging.INFO and "connected" in r.message
            for r in caplog.records
        )
    assert LIBRARY.level == logging.WARNING
    assert (root.level, root.handlers) == (root_level, root_handlers)


async def test_overlapping_verbose_managers_restore_once_the_last_closes(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, library_level: None
) -> None:
    LIBRARY.setLevel(logging.NOTSET)
    first_open, second_open, first_closed = trio.Event(), trio.Event(), trio.Event()
    levels: list[int] = []

    async def first() -> None:  # opened first, closed first: not nested
        async with client(fake_binance, verbose=True):
            first_open.set()
            await second_open.wait()
        first_closed.set()

    async def second() -> None:
        await first_open.wait()
        async with client(fake_binance, verbose=True):
            second_open.set()
            await first_closed.wait()
            levels.append(LIBRARY.level)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        nursery.start_soon(second)
    assert levels == [logging.DEBUG]
    assert LIBRARY.level == logging.NOTSET


async def test_a_level_the_application_sets_meanwhile_is_kept(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, library_level: None
) -> None:
    LIBRARY.setLevel(logging.NOTSET)
    async with client(fake_binance, verbose=True):
        LIBRARY.setLevel(logging.ERROR)
    assert LIBRARY.level == logging.ERROR


async def test_without_verbose_nothing_changes(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, library_level: None
) -> None:
    LIBRARY.setLevel(logging.NOTSET)
    async with client(fake_binance):
        assert LIBRARY.level == logging.NOTSET and LIBRARY.handlers == []


def test_verbose_without_any_logging_configured_prints_to_stderr() -> None:
    # A fresh interpreter: no handler anywhere (pytest's capture adds some in-process).
    program = textwrap.dedent(
        """
        import logging, trio
        from trio_binance import open_binance_streams
        from trio_binance.testing import open_fake_binance

        async def main():
            async with open_fake_binance() as fake:
                fake.start_market(["BTCUSDT"])
                async with open_binance_streams(
                    endpoints=fake.endpoints, transport=fake.transport, verbose=True
                ) as bsm, bsm.trade_socket("BTCUSDT") as trades:
                    await trades.receive()
            library = logging.getLogger("trio_binance")
            assert library.level == logging.NOTSET and library.handlers == [], library
            assert logging.getLogger().handlers == []
            print("restored")

        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", "import trio.testing\n" + program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "restored\n"
    assert " INFO trio_binance: " in done.stderr and "connected" in done.stderr
