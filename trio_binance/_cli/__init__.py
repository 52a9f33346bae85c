"""The ``trio-binance`` command (also ``python -m trio_binance``).

One module per command (``_stream``, ``_record``, ``_replay``, ``_book``, ``_fake``),
shared options and helpers in ``_common``, the click group in ``_app``.  click, rich
and zstandard come with the ``[cli]`` extra and are imported only here, never by
``import trio_binance``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_HINT = (
    "trio-binance: the command needs the [cli] extra ({missing} is missing): "
    "pip install 'trio-binance-streams[cli]'"
)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 on success and on SIGINT/SIGTERM)."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError as exc:
        print(_HINT.format(missing=exc.name or "a package"), file=sys.stderr)
        return 1
    from ._app import run

    return run(argv)
