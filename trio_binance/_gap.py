"""``Gap``: a stretch of a stream where messages may be missing (pure data)."""

from __future__ import annotations

import dataclasses
from typing import Final, Literal, final

__all__ = ["GAP_REASONS", "Gap", "GapReason"]

GapReason = Literal["reconnect", "rejected", "rotation", "overflow", "id_reset"]
#: Every reason a :class:`Gap` can give, with what it means.
GAP_REASONS: Final[dict[str, str]] = {
    "reconnect": "the connection dropped (or went silent) and was re-established",
    "rejected": "handshakes were refused (HTTP 429/418/5xx) while reconnecting",
    "rotation": "a connection being replaced died before the switch could be proven complete",
    "overflow": "the handle dropped messages under overflow='drop_oldest'",
    "id_reset": "the stream's ids went backwards further than any overlap explains "
    "(the exchange started them again): a new epoch",
}


@final
@dataclasses.dataclass(frozen=True)
class Gap:
    """A point where the consumer may have missed messages.

    With ``gap_notices=True`` a handle yields these in-band, in order: a gap comes
    after the last message before it and before the first message after it.  They
    are always counted in :attr:`StreamHandle.stats` and kept in
    :attr:`StreamHandle.gaps`.

    Attributes:
        stream: The stream name affected (a handle's name for ``"overflow"``).
        reason: Why data may be missing: ``"reconnect"``, ``"rejected"``,
            ``"rotation"``, ``"overflow"`` or ``"id_reset"`` (see ``GAP_REASONS``
            and docs/reliability.md).
        start: Trio clock time from which data may be missing.
        end: Trio clock time at which delivery resumed (or the last drop).
        dropped: Messages known to be dropped (overflow); 0 when unknown.
        last_event_time: ``E`` (ms) of the last message delivered before the gap, if any.
        last_id: Id of the last message delivered before the gap (trade ``t``,
            aggTrade ``a``, depth/bookTicker ``u``), to backfill from REST; ``None``
            when the stream has no ids or nothing was delivered before.
    """

    stream: str
    reason: str
    start: float
    end: float
    dropped: int = 0
    last_event_time: int | None = None
    last_id: int | None = None

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start
