"""Checking the accounting invariant from the outside, as a user would.

A test publishes id-carrying messages itself (recording every id the exchange
produced, whether or not anybody was subscribed at that moment) and collects what
one handle yielded, messages and :class:`~trio_binance.Gap` notices in order.
:func:`check_stream` then says whether the promise held:

* delivered ids strictly increase (no duplicate, no reordering);
* every gap says the truth about what came before it: its ``last_id`` is the id of
  the last message delivered before it (``None`` if none was);
* every published id between the first and the last delivered one was delivered,
  or lies inside a stretch that a gap covers: after the gap's ``last_id`` and
  before the next message delivered after the gap.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from trio_binance import Gap


@dataclasses.dataclass
class Verdict:
    delivered: int = 0
    covered: int = 0
    lost: list[int] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.problems

    def __str__(self) -> str:
        lost = self.lost[:20]
        return (
            f"delivered {self.delivered}, covered by gaps {self.covered}, "
            f"silently lost {len(self.lost)} {lost}; problems: {self.problems[:10]}"
        )


def check_stream(
    published: Sequence[int],
    items: Sequence[Any],
    id_of: Callable[[Any], int],
    *,
    check_last_id: bool = True,
    raw_id_of: Callable[[Any], int] | None = None,
) -> Verdict:
    """Hold one handle's ``items`` against the ids the exchange ``published``.

    ``id_of`` orders messages as the exchange published them; ``raw_id_of`` is the
    id a gap's ``last_id`` names (``id_of`` unless the two differ).
    ``check_last_id=False`` for streams whose gaps cannot name an id (no ids, or a
    multiplex handle's overflow gaps, which span several streams).
    """
    raw = raw_id_of or id_of
    last_item: Any = None
    verdict = Verdict()
    delivered: list[int] = []
    covered: list[tuple[int, int]] = []  # open intervals (after, before)
    open_gap: Gap | None = None
    for item in items:
        if isinstance(item, Gap):
            expected = raw(last_item) if delivered else None
            if check_last_id and item.last_id != expected:
                verdict.problems.append(
                    f"gap {item.reason!r} says last_id={item.last_id}, but {expected} came last"
                )
            if open_gap is None:
                open_gap = item
            continue
        value = id_of(item)
        if delivered and value <= delivered[-1]:
            verdict.problems.append(f"id {value} delivered after {delivered[-1]}")
            continue
        if open_gap is not None:
            covered.append((delivered[-1] if delivered else -1, value))
            open_gap = None
        delivered.append(value)
        last_item = item
    if not delivered:
        return verdict
    if open_gap is not None:
        covered.append((delivered[-1], 1 << 62))
    verdict.delivered = len(delivered)
    seen = set(delivered)
    first, last = delivered[0], delivered[-1]
    starts = [after for after, _ in covered]
    for value in published:
        if value < first or value in seen:
            continue
        i = bisect.bisect_right(starts, value - 1) - 1
        if i >= 0 and covered[i][0] < value < covered[i][1]:
            verdict.covered += 1
        elif value < last:
            verdict.lost.append(value)
    return verdict
