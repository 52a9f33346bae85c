"""Pure schedules: backoff, the connection-attempt budget, pacing, rotation timing."""

from __future__ import annotations

import random

import pytest

from trio_binance import Settings
from trio_binance._backoff import Backoff, Pacer, WindowBudget, rotation_delay


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
        assert budget.delay(t) == 0.0
        budget.record(t)
    assert budget.delay(2.5) == pytest.approx(7.5)
    assert budget.delay(10.0) == 0.0  # the attempt at 0.0 left the window
    assert budget.used(10.0) == 2


def test_attempt_budget_never_exceeds_limit_in_any_window() -> None:
    budget = WindowBudget(300, 300.0)
    now = 0.0
    times = []
    for _ in range(1000):
        now += budget.delay(now)
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
    assert budget.delay(20.0, 20) == 0.0
    # 40 more would need 20 units gone: the 50 spent at 0.0 leave at 60.0.
    assert budget.delay(20.0, 40) == pytest.approx(40.0)
    assert budget.delay(60.0, 40) == 0.0
    assert budget.used(60.0) == 30
    # A cost above the whole limit goes once the window is empty.
    assert budget.delay(60.0, 500) == pytest.approx(10.0)
    assert budget.delay(70.0, 500) == 0.0


def test_weight_budget_never_exceeds_limit_in_any_window() -> None:
    budget = WindowBudget(1000, 60.0)
    now, spent = 0.0, []
    for cost in [250, 25, 50, 5] * 50:
        now += budget.delay(now, cost)
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
