"""``verbose=True``: the library's debug log on screen for a while, and nothing more.

The library logs through the standard :mod:`logging` module, under the
``trio_binance`` logger and its children, and otherwise leaves logging to the
application, as the logging HOWTO asks of libraries.  ``verbose=True`` is the one
exception, asked for explicitly, and it is scoped:

* while at least one verbose manager is open, the ``trio_binance`` logger's level is
  ``DEBUG``; when the last one closes, the level it had comes back (unless someone
  changed it meanwhile: then theirs stays);
* records reach whatever handlers the application configured; only if there are none
  at all (``logger.hasHandlers()`` is false: no ``basicConfig``, no handler on the
  root logger), a handler writing to stderr is attached to the ``trio_binance``
  logger for that same time, so that ``verbose=True`` shows something.

Nothing else is touched: not the root logger, not other libraries' loggers.
Managers may open and close in any order, in any thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["LOGGER_NAME", "show_debug_logs"]

LOGGER_NAME = "trio_binance"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.Lock()
_users = 0
_saved_level = logging.NOTSET
_handler: logging.Handler | None = None


def show_debug_logs() -> Callable[[], None]:
    """Show the library's DEBUG records until the returned function is called.

    Call the returned function exactly once, when the verbose scope ends.
    """
    global _users, _saved_level, _handler
    logger = logging.getLogger(LOGGER_NAME)
    with _lock:
        if _users == 0:
            _saved_level = logger.level
            logger.setLevel(logging.DEBUG)
            if not logger.hasHandlers():
                _handler = logging.StreamHandler()
                _handler.setFormatter(logging.Formatter(_FORMAT))
                logger.addHandler(_handler)
        _users += 1
    done = False

    def restore() -> None:
        global _users, _handler
        nonlocal done
        with _lock:
            if done:
                return
            done = True
            _users -= 1
            if _users:
                return
            if logger.level == logging.DEBUG:
                logger.setLevel(_saved_level)
            if _handler is not None:
                logger.removeHandler(_handler)
                _handler = None

    return restore
