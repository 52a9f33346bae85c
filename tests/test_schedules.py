"""Pure schedules: backoff, budgets, pacing, rotation timing, the liveness watchdog."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_binance import Settings
from trio_binance._backoff import Backoff, Pacer, WindowBudget, rotation_delay
from trio_binance._link import Liveness, liveness


def make_backoff(seed: int = 1) -> Backoff:
    return Backoff(
        initial=0.5, maximum=60.0, reject=30.0, ban=120.0, reject_max=3600.0,
        rng=random.Random(seed),
    )  # fmt: skip


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    backoff = make_backoff()
    delays = [backoff.failure() for _ in range(12)]
    ceilings = [min(60.0, 0.5 * 2**n) for n in range(12)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 60.0
    assert delays[-1] >= 30.0  # capped, but still long


def test_backoff_reset_starts_over() -> None:
    backoff = make_backoff()
    for _ in range(8):
        backoff.failure()
    backoff.reset()
    assert backoff.failure() <= 0.5


def test_jitter_differs_between_connections() -> None:
    a, b = make_backoff(1), make_backoff(2)
    assert [a.failure() for _ in range(5)] != [b.failure() for _ in range(5)]


@pytest.mark.parametrize(("status", "floor"), [(429, 30.0), (418, 120.0)])
def test_rejects_back_off_long_and_double(status: int, floor: float) -> None:
    backoff = make_backoff()
    first = backoff.rejected(status, None)
    second = backoff.rejected(status, None)
    assert first == floor
    assert second == 2 * floor
    for _ in range(20):
        last = backoff.rejected(status, None)
    assert last == 3600.0


def test_retry_after_is_honoured() -> None:
    backoff = make_backoff()
    assert backoff.rejected(429, 500.0) == 500.0
    assert backoff.rejected(503, 7.0) >= 7.0


def test_other_statuses_back_off_like_failures() -> None:
    backoff = make_backoff()
    assert backoff.rejected(503, None) <= 0.5


def test_attempt_budget_is_a_sliding_window() -> None:
    budget = WindowBudget(3, 10.0)
    for t in (0.0, 1.0, 2.0):
        assert budget.ready_at(t) == t
        budget.record(t)
    assert budget.ready_at(2.5) == pytest.approx(10.0)
    assert budget.ready_at(10.0) == 10.0  # the attempt at 0.0 left the window
    assert budget.used(10.0) == 2


def test_attempt_budget_never_exceeds_limit_in_any_window() -> None:
    budget = WindowBudget(300, 300.0)
    now = 0.0
    times = []
    for _ in range(1000):
        now = budget.ready_at(now)
        budget.record(now)
        times.append(now)
        now += 0.01
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 300.0]
        assert len(in_window) <= 300


def test_weight_budget_waits_for_enough_weight_to_leave_the_window() -> None:
    budget = WindowBudget(100, 60.0)
    budget.record(0.0, 50)
    budget.record(10.0, 30)
    assert budget.ready_at(20.0, 20) == 20.0
    # 40 more would need 20 units gone: the 50 spent at 0.0 leave at 60.0.
    assert budget.ready_at(20.0, 40) == pytest.approx(60.0)
    assert budget.ready_at(60.0, 40) == 60.0
    assert budget.used(60.0) == 30
    # A cost above the whole limit goes once the window is empty.
    assert budget.ready_at(60.0, 500) == pytest.approx(70.0)
    assert budget.ready_at(70.0, 500) == 70.0


def test_weight_budget_never_exceeds_limit_in_any_window() -> None:
    budget = WindowBudget(1000, 60.0)
    now, spent = 0.0, []
    for cost in [250, 25, 50, 5] * 50:
        now = budget.ready_at(now, cost)
        budget.record(now, cost)
        spent.append((now, cost))
        now += 0.5
    for start, _ in spent:
        assert sum(c for t, c in spent if start <= t < start + 60.0) <= 1000


def test_pacer_spaces_messages() -> None:
    pacer = Pacer(0.25)
    assert pacer.reserve(0.0) == 0.0
    assert pacer.reserve(0.0) == 0.25
    assert pacer.reserve(0.1) == pytest.approx(0.4)
    assert pacer.reserve(5.0) == 0.0


def test_spot_control_rate_leaves_room_for_pongs() -> None:
    settings = Settings()
    from trio_binance import Product

    assert 1 / settings.control_interval(Product.SPOT) < 5
    assert 1 / settings.control_interval(Product.USDM) < 10


def test_rotation_happens_before_the_cut_with_jitter() -> None:
    rng = random.Random(3)
    delays = {rotation_delay(86400.0, 1800.0, 600.0, rng) for _ in range(50)}
    assert all(86400 - 2400 <= d <= 86400 - 1800 for d in delays)
    assert len(delays) > 40


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        Settings(connect_timeout=-1)
    with pytest.raises(ValueError, match="below max_lifetime"):
        Settings(rotation_margin=90000.0)


# -- waits end in progress (a chaos run once spun forever on a near miss) -------------
#
# In floating point ``now - last < idle`` and ``last + idle <= now`` can both hold
# (e.g. last = 2047.936125379548, idle = 10.0): a wait computed one way and checked
# the other way never ends, and under a mock clock time stops.  Every schedule here
# returns absolute times and checks against the same times.

_NEAR_MISS = (2047.936125379548, 10.0)


def test_a_watchdog_waiting_on_a_near_miss_pings_when_it_wakes() -> None:
    last, idle = _NEAR_MISS
    assert (last + idle) - last < idle  # what the old watchdog tested at wake-up: "not yet"
    decision = liveness(last + 5.0, last, last, idle, 60.0)
    assert decision == Liveness("wait", last + idle)
    assert liveness(decision.at, last, last, idle, 60.0).action == "ping"


@given(
    now=st.floats(0.0, 1e7),
    frame_ago=st.floats(0.0, 1e4),
    activity_ago=st.floats(0.0, 1e4),
    idle=st.floats(0.001, 1e3),
    extra=st.floats(0.0, 1e3),
)
def test_a_watchdog_wait_always_ends_in_progress(
    now: float, frame_ago: float, activity_ago: float, idle: float, extra: float
) -> None:
    last_frame = now - frame_ago
    last_activity = max(last_frame, now - activity_ago)  # a frame is activity too
    silence = idle + extra
    decision = liveness(now, last_frame, last_activity, idle, silence)
    if decision.action == "wait":
        assert decision.at > now
        assert liveness(decision.at, last_frame, last_activity, idle, silence).action != "wait"
    else:
        assert decision.at <= now


@given(
    window=st.floats(0.001, 1e4),
    limit=st.integers(1, 50),
    steps=st.lists(st.tuples(st.floats(0.0, 100.0), st.integers(1, 60)), max_size=60),
    start=st.floats(0.0, 1e7),
)
def test_a_budget_wait_always_ends_in_budget(
    window: float, limit: int, steps: list[tuple[float, int]], start: float
) -> None:
    budget = WindowBudget(limit, window)
    now = start
    for gap, cost in steps:
        now += gap
        ready_at = budget.ready_at(now, cost)
        assert ready_at >= now
        if ready_at > now:
            now = ready_at  # what sleep_until(ready_at) gives
            assert budget.ready_at(now, cost) == now
        budget.record(now, cost)
