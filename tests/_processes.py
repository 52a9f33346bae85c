"""Running the ``trio-binance`` console script as real processes, bounded in time.

Everything talks over 127.0.0.1 to a ``trio-binance fake`` process.  Waiting is
polling for a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCRIPT = str(Path(sys.executable).with_name("trio-binance"))
"""The console script installed next to this Python (``pip install -e ".[test]"``)."""

TIMEOUT = 20.0
"""Upper bound for any one process or condition; runs take well under a second or two."""


def run(*args: str, timeout: float = TIMEOUT, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``trio-binance ARGS`` to completion; stdout and stderr as text."""
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def start(args: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``args`` (a whole command line) with piped stdout and stderr."""
    return subprocess.Popen(
        list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    """Send ``sig``, wait (bounded) and return (exit status, stdout, stderr)."""
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"the process did not stop on {signal.Signals(sig).name}: {err}"
        ) from None
    return proc.returncode, out, err


@contextmanager
def fake_exchange(directory: Path, *extra: str) -> Iterator[Path]:
    """``trio-binance fake`` on 127.0.0.1; yields its endpoints file.

    On exit it is stopped with SIGINT, which must end it cleanly (status 0, the
    endpoints file removed).
    """
    endpoints = directory / "fake-endpoints.json"
    proc = start([SCRIPT, "fake", "--endpoints-out", str(endpoints), *extra])
    try:
        wait_for(lambda: endpoints.exists() or proc.poll() is not None, "the endpoints file")
        assert proc.poll() is None, proc.communicate()
        yield endpoints
    finally:
        if proc.poll() is None:
            status, _, err = stop(proc)
            assert status == 0, err
            assert "Traceback" not in err
            assert not endpoints.exists()
