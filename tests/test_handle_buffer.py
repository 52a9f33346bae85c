"""A handle's buffer on its own: overflow policies, gap notices, batches, clones."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_binance import Gap, Overflow, QueueOverflow, StreamHandle
from trio_binance._handle import _HandleState


def make(
    policy: Overflow = Overflow.BLOCK, size: int = 3, gaps: bool = False, backlog: int = 10
) -> tuple[_HandleState, StreamHandle]:
    state = _HandleState(
        description="btcusdt@trade",
        max_queue_size=size,
        policy=policy,
        max_backlog=backlog,
        gap_notices=gaps,
        live_timeout=1.0,
    )
    return state, StreamHandle(state)


async def test_block_keeps_everything_up_to_the_backlog_limit() -> None:
    state, handle = make(Overflow.BLOCK, size=3, backlog=10)
    for i in range(10):
        state.put(i)
    assert handle.stats.backlog == 10
    assert [await handle.receive() for _ in range(10)] == list(range(10))
    assert handle.stats.dropped == 0


async def test_block_fails_loudly_past_the_backlog_after_delivering_it() -> None:
    state, handle = make(Overflow.BLOCK, size=3, backlog=5)
    for i in range(7):
        state.put(i)
    assert [await handle.receive() for _ in range(5)] == list(range(5))
    with pytest.raises(QueueOverflow, match="fell 5 messages behind"):
        await handle.receive()


async def test_drop_oldest_keeps_latest_and_reports_one_gap_per_episode() -> None:
    state, handle = make(Overflow.DROP_OLDEST, size=3, gaps=True)
    for i in range(8):
        state.put(i)
    first = await handle.receive()
    assert isinstance(first, Gap)
    assert first.reason == "overflow" and first.dropped == 5
    assert [await handle.receive() for _ in range(3)] == [5, 6, 7]
    assert handle.stats.dropped == 5
    assert handle.stats.gaps == 1
    assert handle.gaps == [first]


async def test_drop_oldest_without_gap_notices_still_counts() -> None:
    state, handle = make(Overflow.DROP_OLDEST, size=2)
    for i in range(5):
        state.put(i)
    assert [await handle.receive() for _ in range(2)] == [3, 4]
    assert handle.stats.dropped == 3
    assert handle.stats.gaps == 1
    assert handle.gaps[0].dropped == 3


async def test_raise_delivers_the_buffer_then_raises() -> None:
    state, handle = make(Overflow.RAISE, size=2)
    for i in range(3):
        state.put(i)
    assert await handle.receive() == 0
    assert await handle.receive() == 1
    with pytest.raises(QueueOverflow):
        await handle.receive()


async def test_receive_batch_returns_everything_buffered_then_the_error() -> None:
    state, handle = make(Overflow.RAISE, size=4)
    for i in range(5):
        state.put(i)
    assert await handle.receive_batch() == [0, 1, 2, 3]
    with pytest.raises(QueueOverflow):
        await handle.receive_batch()


async def test_receive_batch_respects_max_items() -> None:
    state, handle = make(size=10)
    for i in range(6):
        state.put(i)
    assert await handle.receive_batch(4) == [0, 1, 2, 3]
    assert await handle.receive_batch(4) == [4, 5]


async def test_receive_batch_rejects_a_max_items_below_one() -> None:
    state, handle = make(size=10)
    state.put(1)
    with pytest.raises(ValueError, match="max_items must be None or at least 1, got 0"):
        await handle.receive_batch(0)
    assert await handle.receive_batch() == [1]


async def test_receive_batch_puts_the_overflow_gap_before_the_latest_messages() -> None:
    state, handle = make(Overflow.DROP_OLDEST, size=3, gaps=True)
    for i in range(8):
        state.put(i)
    batch = await handle.receive_batch()
    assert isinstance(batch[0], Gap) and batch[0].dropped == 5
    assert batch[1:] == [5, 6, 7]
    state.put(8)
    assert await handle.receive_batch() == [8]


async def test_receive_batch_ends_backpressure_once_the_consumer_caught_up() -> None:
    state, handle = make(Overflow.BLOCK, size=4, backlog=100)
    behind: list[bool] = []
    state.on_behind = behind.append
    for i in range(10):
        state.put(i)
    assert behind == [True]
    assert await handle.receive_batch(3) == [0, 1, 2]
    assert behind == [True]  # 7 left: still more than half the queue size
    assert await handle.receive_batch() == list(range(3, 10))
    assert behind == [True, False]


async def test_end_of_channel_after_buffer_drains() -> None:
    state, handle = make()
    state.put("last")
    state.end()
    assert [msg async for msg in handle] == ["last"]


async def test_receive_waits_and_wakes() -> None:
    state, handle = make()
    got = []

    async def consumer() -> None:
        got.append(await handle.receive())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        state.put("x")
    assert got == ["x"]


class _StepCounter(trio.abc.Instrument):
    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task.name == self.task_name:
            self.steps += 1


@pytest.mark.parametrize("how", ["receive", "async for"])
async def test_a_waiting_consumer_takes_one_scheduler_step_per_message(how: str) -> None:
    # Latency: the wake-up that brings a message returns it; no second trip through
    # the scheduler before the consumer's code sees it.
    state, handle = make(size=10)
    got = []

    async def consumer() -> None:
        if how == "receive":
            for _ in range(3):
                got.append(await handle.receive())
        else:
            async for msg in handle:
                got.append(msg)
                if len(got) == 3:
                    break

    counter = _StepCounter("consumer")
    trio.lowlevel.add_instrument(counter)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consumer, name="consumer")
            await trio.testing.wait_all_tasks_blocked()
            before = counter.steps
            for i in range(3):
                state.put(i)
                await trio.testing.wait_all_tasks_blocked()
                assert got == list(range(i + 1))
            assert counter.steps - before == 3
    finally:
        trio.lowlevel.remove_instrument(counter)


async def test_clones_share_the_buffer_and_release_once() -> None:
    state, handle = make()
    released = []
    state.on_release = lambda: released.append(True)
    clone = handle.clone()
    state.put(1)
    state.put(2)
    assert {await handle.receive(), await clone.receive()} == {1, 2}
    await handle.aclose()
    assert released == []
    await clone.aclose()
    assert released == [True]
    with pytest.raises(trio.ClosedResourceError):
        await clone.receive()


async def test_parked_clones_all_get_messages_put_in_one_burst() -> None:
    # The reader puts a whole chunk without yielding; a clone waiting on the empty
    # buffer must not be left parked while another clone's message sits there.
    state, handle = make(size=10)
    handles = [handle, handle.clone(), handle.clone()]
    got: dict[int, list[int]] = {0: [], 1: [], 2: []}

    async def consume(index: int) -> None:
        got[index].append(await handles[index].receive())

    with trio.fail_after(5):  # a clone left parked would hang here
        async with trio.open_nursery() as nursery:
            for index in range(3):
                nursery.start_soon(consume, index)
            await trio.testing.wait_all_tasks_blocked()
            for i in range(3):
                state.put(i)
    assert sorted(m for msgs in got.values() for m in msgs) == [0, 1, 2]
    assert all(len(msgs) == 1 for msgs in got.values())


async def test_public_async_methods_checkpoint() -> None:
    state, handle = make()
    state.put(1)
    with trio.testing.assert_checkpoints():
        await handle.receive()
    state.live.set()
    with trio.testing.assert_checkpoints():
        await handle.wait_live()
    with trio.testing.assert_checkpoints():
        await handle.aclose()


async def test_overflow_policy_names() -> None:
    assert Overflow.coerce("keep_latest") is Overflow.DROP_OLDEST
    with pytest.raises(ValueError, match="'block', 'drop_oldest', 'raise'"):
        Overflow.coerce("lossy")


async def test_async_for_yields_to_other_tasks_at_least_every_64_messages() -> None:
    state, handle = make(size=1000)
    for i in range(1000):
        state.put(i)
    state.end()
    ticks = 0
    seen_at: list[int] = []  # the other task's tick count when each message arrived

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_task)
        await trio.lowlevel.checkpoint()
        got = []
        async for msg in handle:
            got.append(msg)
            seen_at.append(ticks)
        nursery.cancel_scope.cancel()
    assert got == list(range(1000))
    runs: list[int] = []  # lengths of message runs during which the other task never ran
    for index, tick in enumerate(seen_at):
        if index and tick == seen_at[index - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    # The consumer yields every 64 messages; Trio runs each runnable task once per
    # scheduling batch in a shuffled order, so the other task runs at least once per
    # 2 x 64 messages...
    assert max(runs) <= 2 * 64
    assert len(runs) <= 1000 // 64 + 2  # ...and not once per message


async def test_async_for_is_a_cancellation_point_at_every_message_and_loses_none() -> None:
    state, handle = make(size=100)
    for i in range(10):
        state.put(i)
    got = []
    with trio.CancelScope() as scope:
        async for msg in handle:
            got.append(msg)
            if msg == 4:
                scope.cancel()
    assert got == [0, 1, 2, 3, 4]
    assert scope.cancelled_caught
    assert handle.receive_nowait() == 5  # not taken by the cancelled iteration


async def test_breaking_out_of_async_for_leaves_the_rest_buffered() -> None:
    state, handle = make(size=100)
    for i in range(10):
        state.put(i)
    async for msg in handle:
        if msg == 2:
            break
    assert await handle.receive_batch() == list(range(3, 10))


async def test_async_for_on_a_closed_handle_raises() -> None:
    state, handle = make(size=100)
    state.put(1)
    await handle.aclose()
    with pytest.raises(trio.ClosedResourceError):
        async for _msg in handle:
            pass
