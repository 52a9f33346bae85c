"""How the library words its log lines (the logger itself is ``trio_binance``)."""

from __future__ import annotations

__all__ = ["describe_seconds", "describe_streams"]


def describe_seconds(seconds: float) -> str:
    """A duration for a log line: ``0.4 s``, ``2.5 s``, ``370 s``."""
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def describe_streams(names: str, most: int = 3) -> str:
    """A handle's ``a/b/c`` streams, shortened: ``a/b/c and 17 more``."""
    parts = names.split("/")
    if len(parts) <= most:
        return names
    return f"{'/'.join(parts[:most])} and {len(parts) - most} more"
