"""Every file in examples/ runs offline against a ``trio-binance fake`` process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._processes import TIMEOUT, fake_exchange

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
API_KEY, API_SECRET = "example-key", "example-secret"


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    extra = ["--api-key", API_KEY, "--api-secret", API_SECRET, "--trade-interval", "0.05"]
    with fake_exchange(tmp_path_factory.mktemp("fake"), *extra) as path:
        yield path


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_every_example_is_covered() -> None:
    names = {path.name for path in EXAMPLES.glob("*.py")}
    assert names == {"trades.py", "recorder.py", "threaded.py", "user_data.py", "test_my_bot.py"}


def test_trades(endpoints: Path) -> None:
    done = _run(str(EXAMPLES / "trades.py"), "--endpoints", str(endpoints), "--count", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and all(len(line.split()) == 3 for line in lines)


def test_recorder(endpoints: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = _run(str(EXAMPLES / "recorder.py"), str(out), "--endpoints", str(endpoints),
                "--count", "10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 10


def test_threaded(endpoints: Path) -> None:
    done = _run(str(EXAMPLES / "threaded.py"), "--endpoints", str(endpoints), "--count", "4")
    assert done.returncode == 0, done.stderr
    symbols = {line.split()[0] for line in done.stdout.splitlines()}
    assert len(done.stdout.splitlines()) >= 4 and symbols <= {"BTCUSDT", "ETHUSDT"}


def test_user_data(endpoints: Path) -> None:
    done = _run(
        str(EXAMPLES / "user_data.py"), "--endpoints", str(endpoints), "--count", "1",
        env={"BINANCE_API_KEY": API_KEY, "BINANCE_API_SECRET": API_SECRET},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ACCOUNT_UPDATE ")


def test_my_bot_example_passes() -> None:
    done = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_my_bot.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
