"""A raising callback: one traceback per exception type, then rate-limited summaries."""

from __future__ import annotations

import logging

import pytest

from trio_binance._callbacks import CallbackErrors


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    """(level, message, has traceback) of every ``trio_binance`` record so far."""
    return [
        (r.levelno, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.name == "trio_binance"
    ]


def test_the_first_error_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    errors = CallbackErrors("btcusdt@trade")
    with caplog.at_level(logging.DEBUG, logger="trio_binance"):
        assert errors.record(RuntimeError("bug"), now=100.0) is None
    [(level, message, traceback)] = lines(caplog)
    assert level == logging.ERROR and traceback
    assert "btcusdt@trade" in message and "RuntimeError" in message
    assert "summarised every 10 s" in message
    assert (errors.total, errors.unreported) == (1, 0)


def test_repeats_are_counted_and_summarised_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """20 errors a second for a minute: 1 traceback and 6 summary lines, not 1,200."""
    errors = CallbackErrors("btcusdt@trade", interval=10.0)
    flushes: list[float] = []
    with caplog.at_level(logging.DEBUG, logger="trio_binance"):
        for n in range(1200):
            now = n * 0.05
            while flushes and flushes[0] <= now:  # the scheduled flush, as the loop runs it
                errors.flush(flushes.pop(0))
            due = errors.record(RuntimeError(f"bug {n}"), now)
            if due is not None:
                flushes.append(due)
        errors.flush(60.0)  # the socket ends
    logged = lines(caplog)
    assert sum(traceback for _, _, traceback in logged) == 1
    summaries = [message for level, message, _ in logged if level == logging.WARNING]
    assert len(summaries) == 6
    counted = [int(message.split(" raised ")[1].split(" more")[0]) for message in summaries]
    assert sum(counted) == 1199  # every error but the first, reported exactly once
    assert "(1200 in all); latest: RuntimeError: bug 1199" in summaries[-1]
    assert errors.unreported == 0


def test_a_burst_is_summarised_when_the_interval_ends_even_if_errors_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = CallbackErrors("s", interval=10.0)
    with caplog.at_level(logging.DEBUG, logger="trio_binance"):
        errors.record(ValueError("a"), 0.0)
        assert errors.record(ValueError("b"), 1.0) == 10.0  # a flush is now due at 10 s
        assert errors.record(ValueError("c"), 2.0) is None  # already scheduled
        errors.flush(10.0)
        errors.flush(20.0)  # nothing pending: no line
    summaries = [m for level, m, _ in lines(caplog) if level == logging.WARNING]
    assert summaries == [
        "callback of socket s raised 2 more times since the last report (3 in all); "
        "latest: ValueError: c"
    ]


def test_each_new_exception_type_gets_its_own_traceback(caplog: pytest.LogCaptureFixture) -> None:
    errors = CallbackErrors("s")
    with caplog.at_level(logging.DEBUG, logger="trio_binance"):
        errors.record(KeyError("k"), 0.0)
        errors.record(KeyError("k"), 0.1)
        errors.record(ZeroDivisionError("z"), 0.2)
    tracebacks = [m for _, m, traceback in lines(caplog) if traceback]
    assert len(tracebacks) == 2 and "ZeroDivisionError" in tracebacks[1]
    assert errors.unreported == 1
