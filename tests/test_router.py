"""The switchboard, tested synchronously: events in, deliveries, gaps and counts out.

The property tests drive a model exchange: it publishes one stream's messages, links
subscribe at arbitrary points, the server's frames on each link (answers and data,
in the order the server sent them) reach the router in any interleaving across
links, links die at any moment, rotations send barriers.  Whatever happens, the
router's output must keep the accounting invariant.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import hypothesis.strategies as st
from hypothesis import given, settings

from trio_binance._endpoints import Product
from trio_binance._gap import Gap
from trio_binance._protocol import dedupe_rule
from trio_binance._router import LinkState, Router

TRADES = "btcusdt@trade"  # ids, and a successor rule (t + 1)
TICKER = "btcusdt@bookTicker"  # ids, no successor rule
KLINE = "btcusdt@kline_1m"  # no ids at all


class ListSink:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiting = 0
        self.live = False

    def put(self, item: Any) -> None:
        self.items.append(item)

    def note_gap(self, gap: Gap) -> None:
        self.items.append(gap)

    def stream_waiting(self) -> None:
        self.waiting += 1

    def stream_live(self) -> None:
        self.waiting -= 1
        self.live = self.waiting == 0


def new_router(**options: Any) -> Router:
    return Router(lambda name: dedupe_rule(Product.SPOT, name), **options)


def payload(stream: str, n: int) -> dict[str, Any]:
    if stream == TRADES:
        return {"e": "trade", "t": n}
    if stream == TICKER:
        return {"u": n * 7}
    return {"e": "kline", "E": n, "k": {"c": str(n)}}


def index_of(stream: str, item: dict[str, Any]) -> int:
    if stream == TRADES:
        return int(item["t"])
    if stream == TICKER:
        return int(item["u"]) // 7
    return int(item["E"])


def subscribe(router: Router, link: LinkState, request_id: int) -> None:
    method, names = router.next_request(link, 200) or ("", [])
    assert method == "SUBSCRIBE"
    router.request_sent(link, request_id, method, names)


# -- examples ---------------------------------------------------------------------------


def test_a_reply_and_data_in_one_read_put_the_gap_first() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    first = router.open_link()
    subscribe(router, first, 1)
    router.answered(first, 1, None, now=0.0)
    assert sink.live
    for n in (1, 2, 3):
        stream.deliver(first, None, payload(TRADES, n), now=1.0)
    router.link_lost(first, now=2.0)
    second = router.open_link()
    subscribe(router, second, 2)
    # The answer and the next data are processed in the order they arrived.
    router.answered(second, 2, None, now=3.0)
    stream.deliver(second, None, payload(TRADES, 9), now=3.0)
    assert sink.items[3:] == [
        Gap(stream=TRADES, reason="reconnect", start=1.0, end=3.0, last_id=3),
        payload(TRADES, 9),
    ]


def test_data_before_the_answer_confirms_the_link() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    link = router.open_link()
    subscribe(router, link, 1)
    stream.deliver(link, None, payload(TRADES, 5), now=1.0)
    assert sink.live and sink.items == [payload(TRADES, 5)]
    router.answered(link, 1, None, now=1.5)  # late: changes nothing
    assert stream.source is link


def test_a_rotation_with_a_silent_old_link_ends_in_a_gap_or_nothing_lost() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TICKER)
    stream.attach(sink, envelope=False)
    old = router.open_link()
    subscribe(router, old, 1)
    router.answered(old, 1, None, 0.0)
    stream.deliver(old, None, payload(TICKER, 1), 1.0)
    router.begin_overlap(old)
    new = router.open_link()
    subscribe(router, new, 2)
    router.answered(new, 2, None, 2.0)
    # The old link goes silent; the new one delivers messages it cannot prove follow.
    for n in (4, 5, 6):
        stream.deliver(new, None, payload(TICKER, n), 3.0)
    assert sink.items == [payload(TICKER, 1)]  # held while the old link is the source
    router.link_lost(old, 30.0)
    assert sink.items == [
        payload(TICKER, 1),
        Gap(stream=TICKER, reason="rotation", start=1.0, end=30.0, last_id=7),
        payload(TICKER, 4),
        payload(TICKER, 5),
        payload(TICKER, 6),
    ]


def test_a_barrier_answer_proves_the_switch() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(KLINE)
    stream.attach(sink, envelope=False)
    old = router.open_link()
    subscribe(router, old, 1)
    router.answered(old, 1, None, 0.0)
    stream.deliver(old, None, payload(KLINE, 1), 1.0)
    router.begin_overlap(old)
    new = router.open_link()
    subscribe(router, new, 2)
    router.answered(new, 2, None, 2.0)
    stream.deliver(new, None, payload(KLINE, 3), 2.5)  # ahead of the old link
    assert router.barrier_sent(old, 3) == 1
    stream.deliver(old, None, payload(KLINE, 2), 2.6)  # what the old link still owed
    router.answered(old, 3, None, 2.7)
    assert sink.items == [payload(KLINE, n) for n in (1, 2, 3)]
    assert stream.source is new and router.handed_over(old)
    stream.deliver(old, None, payload(KLINE, 3), 2.8)
    assert stream.counts.superseded == 1


def test_a_quiet_stream_switches_on_the_barrier_without_a_gap() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TICKER)
    stream.attach(sink, envelope=False)
    old = router.open_link()
    subscribe(router, old, 1)
    router.answered(old, 1, None, 0.0)
    router.begin_overlap(old)
    new = router.open_link()
    subscribe(router, new, 2)
    router.answered(new, 2, None, 2.0)
    router.barrier_sent(old, 3)
    router.answered(old, 3, None, 2.1)
    router.link_lost(old, 2.2)
    assert sink.items == []
    assert stream.source is new


def test_duplicates_and_a_new_epoch() -> None:
    router = new_router(epoch_window=60.0)
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    link = router.open_link()
    subscribe(router, link, 1)
    router.answered(link, 1, None, 0.0)
    for n in (100, 101, 101, 100, 102):
        stream.deliver(link, None, payload(TRADES, n), 1.0)
    assert stream.counts.duplicates == 2
    for t in range(2, 200, 10):  # a minute and more of ids 103...
        stream.deliver(link, None, payload(TRADES, 100 + t), float(t))
    stream.deliver(link, None, payload(TRADES, 5), 200.0)  # the exchange started over
    gap, first = sink.items[-2:]
    assert isinstance(gap, Gap) and gap.reason == "id_reset" and gap.last_id == 292
    assert first == payload(TRADES, 5)
    assert stream.counts.resets == 1


def test_messages_for_no_stream_and_after_unsubscribe_are_counted() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    link = router.open_link()
    subscribe(router, link, 1)
    router.answered(link, 1, None, 0.0)
    router.remove(TRADES)
    assert router.next_request(link, 200) == ("UNSUBSCRIBE", [TRADES])
    stream.deliver(link, None, payload(TRADES, 1), 1.0)
    assert router.not_subscribed == 1
    assert sink.items == []


def test_a_refused_batch_is_asked_again_one_by_one() -> None:
    router = new_router()
    for name in ("a@trade", "b@trade", "bad"):
        router.add(name)
    link = router.open_link()
    subscribe(router, link, 1)
    answer = router.answered(link, 1, (2, "Invalid request: invalid stream"), 0.0)
    assert answer is not None and answer.rejected == ()
    asked = []
    for request_id in (2, 3, 4):
        method, names = router.next_request(link, 200) or ("", [])
        router.request_sent(link, request_id, method, names)
        asked += names
        error = (2, "invalid stream") if names == ["bad"] else None
        answer = router.answered(link, request_id, error, 0.1)
        if names == ["bad"]:
            assert answer is not None and [s.name for s in answer.rejected] == ["bad"]
    assert sorted(asked) == ["a@trade", "b@trade", "bad"]


# -- the property --------------------------------------------------------------------


@dataclasses.dataclass
class ModelLink:
    state: LinkState
    queue: collections.deque[tuple[str, Any]] = dataclasses.field(default_factory=collections.deque)
    effective: bool = False  # the server sends it the stream
    replied: bool = False
    request_id: int = 0


@dataclasses.dataclass
class Model:
    stream_name: str
    router: Router
    sink: ListSink
    links: list[ModelLink] = dataclasses.field(default_factory=list)
    published: list[int] = dataclasses.field(default_factory=list)
    fed: int = 0
    ids: int = 0
    now: float = 0.0

    def alive(self) -> list[ModelLink]:
        return [m for m in self.links if m.state.alive]


actions = st.sampled_from(
    ["publish"] * 4
    + ["read"] * 4
    + ["open", "open", "effect", "reply", "reply", "kill_any", "kill_source", "barrier", "retire"]
)


@settings(max_examples=400, deadline=None)
@given(
    stream_name=st.sampled_from([TRADES, TICKER, KLINE]),
    script=st.lists(st.tuples(actions, st.integers(0, 3)), min_size=30, max_size=200),
)
def test_whatever_the_interleaving_nothing_is_lost_silently(
    stream_name: str, script: list[tuple[str, int]]
) -> None:
    router = new_router(hold_limit=1000)
    sink = ListSink()
    stream = router.add(stream_name)
    stream.attach(sink, envelope=False)
    model = Model(stream_name, router, sink)
    for action, pick in [("open", 0), ("reply", 0), *script]:
        model.now += 0.5
        run_action(model, action, pick)
    # Drain what is queued, in link order, then check.
    for m in model.alive():
        while m.queue and m.state.alive:
            feed(model, m)
    check(model)


def run_action(model: Model, action: str, pick: int) -> None:
    router, alive = model.router, model.alive()
    if action == "publish":
        n = len(model.published) + 1
        model.published.append(n)
        for m in alive:
            if m.effective:
                m.queue.append(("data", payload(model.stream_name, n)))
    elif action == "open" and len(alive) < 2:
        if alive:
            if alive[0].state.requests:
                return  # a connection rotates a link once its streams are answered
            router.begin_overlap(alive[0].state)
        m = ModelLink(router.open_link())
        model.ids += 1
        m.request_id = model.ids
        request = router.next_request(m.state, 200)
        if request is None:
            return
        router.request_sent(m.state, m.request_id, *request)
        model.links.append(m)
    elif action in ("effect", "reply"):
        # The server takes the SUBSCRIBE: it answers now (or, rarely, just after
        # its first data frames), and from then on sends the link every message.
        for m in alive:
            if not m.effective:
                m.effective = True
                if action == "reply":
                    m.queue.append(("answer", m.request_id))
                    m.replied = True
                return
        for m in alive:
            if not m.replied:
                m.queue.append(("answer", m.request_id))
                m.replied = True
                return
    elif action == "read" and alive:
        m = alive[pick % len(alive)]
        if m.queue:
            feed(model, m)
    elif action == "kill_any" and alive:
        router.link_lost(alive[pick % len(alive)].state, model.now)
    elif action == "kill_source" and model.router.streams:
        stream = model.router.streams[model.stream_name]
        if stream.source is not None:
            router.link_lost(stream.source, model.now)
    elif action in ("barrier", "retire"):
        stream = model.router.streams[model.stream_name]
        source = stream.source
        for m in alive:
            if m.state is source and stream.candidate is not None:
                model.ids += 1
                router.barrier_sent(m.state, model.ids)
                m.queue.append(("answer", model.ids))  # after all it owed, in order
                if action == "retire":
                    while m.queue and m.state.alive:
                        feed(model, m)
                    router.link_lost(m.state, model.now)
                return


def feed(model: Model, m: ModelLink) -> None:
    kind, value = m.queue.popleft()
    if kind == "answer":
        model.router.answered(m.state, value, None, model.now)
    else:
        model.fed += 1
        model.router.streams[model.stream_name].deliver(m.state, None, value, model.now)


def check(model: Model) -> None:
    """Every published id from the first to the last delivered was delivered once, in order,
    or lies in a stretch a gap covers; gaps tell the truth; every message fed in is
    delivered or counted."""
    name = model.stream_name
    delivered: list[int] = []
    covered: list[tuple[int, int]] = []
    pending_gap = False
    for item in model.sink.items:
        if isinstance(item, Gap):
            if name != KLINE:
                last = delivered[-1] if delivered else None
                last_id = None if last is None else (last if name == TRADES else last * 7)
                assert item.last_id == last_id, (item, last)
            pending_gap = True
            continue
        n = index_of(name, item)
        assert not delivered or n > delivered[-1], f"{n} after {delivered[-1]}: {model.sink.items}"
        if pending_gap:
            covered.append((delivered[-1] if delivered else 0, n))
            pending_gap = False
        delivered.append(n)
    if pending_gap:
        covered.append((delivered[-1] if delivered else 0, 1 << 30))
    if delivered:
        got = set(delivered)
        for n in range(delivered[0], delivered[-1]):
            if n not in got:
                assert any(a < n < b for a, b in covered), f"{n} lost silently: {model.sink.items}"
    counts = model.router.counts()
    accounted = counts.delivered + counts.duplicates + counts.superseded
    in_flight = sum(len(stream.held) for stream in model.router.streams.values())
    assert accounted + model.router.not_subscribed + in_flight == model.fed
    assert counts.delivered == len(delivered)


def test_a_candidate_behind_the_source_takes_over_without_repeating_anything() -> None:
    for stream_name in (KLINE, TRADES):
        router = new_router()
        sink = ListSink()
        stream = router.add(stream_name)
        stream.attach(sink, envelope=False)
        old = router.open_link()
        subscribe(router, old, 1)
        router.answered(old, 1, None, 0.0)
        router.begin_overlap(old)
        new = router.open_link()
        subscribe(router, new, 2)
        router.answered(new, 2, None, 1.0)
        for n in (1, 2, 3):
            stream.deliver(old, None, payload(stream_name, n), 2.0)
        for n in (1, 2, 3, 4):  # behind, then caught up, then ahead
            stream.deliver(new, None, payload(stream_name, n), 3.0)
        stream.deliver(old, None, payload(stream_name, 4), 4.0)
        router.link_lost(old, 5.0)
        for n in (5, 6):
            stream.deliver(new, None, payload(stream_name, n), 6.0)
        assert sink.items == [payload(stream_name, n) for n in range(1, 7)]
        assert stream.counts.superseded == 4


def test_ids_that_skip_on_a_live_link_are_a_gap() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    link = router.open_link()
    subscribe(router, link, 1)
    router.answered(link, 1, None, 0.0)
    for n in (1, 2, 5, 6, 9):
        stream.deliver(link, None, payload(TRADES, n), float(n))
    gaps = [item for item in sink.items if isinstance(item, Gap)]
    assert [(g.reason, g.last_id) for g in gaps] == [("skipped", 2), ("skipped", 6)]
    assert sink.items.index(gaps[0]) == 2


def test_after_a_reconnect_gap_the_first_id_may_jump() -> None:
    router = new_router()
    sink = ListSink()
    stream = router.add(TRADES)
    stream.attach(sink, envelope=False)
    link = router.open_link()
    subscribe(router, link, 1)
    router.answered(link, 1, None, 0.0)
    stream.deliver(link, None, payload(TRADES, 1), 1.0)
    router.link_lost(link, 2.0)
    again = router.open_link()
    subscribe(router, again, 2)
    router.answered(again, 2, None, 3.0)
    for n in (50, 51, 53):
        stream.deliver(again, None, payload(TRADES, n), 4.0)
    reasons = [item.reason for item in sink.items if isinstance(item, Gap)]
    assert reasons == ["reconnect", "skipped"]
