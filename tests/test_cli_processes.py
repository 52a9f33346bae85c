"""The ``trio-binance`` console script as real processes, over 127.0.0.1.

One ``trio-binance fake`` process serves the whole module; every other command is
pointed at it with ``--endpoints FILE``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from trio_binance.recording import RecordedMessage, RecordingFile, read_recording

from ._processes import SCRIPT, TIMEOUT, fake_exchange, run, start, stop, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with fake_exchange(tmp_path_factory.mktemp("fake"), "--symbols", "BTCUSDT,ETHUSDT") as path:
        yield path


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_fake_writes_every_endpoints_field(endpoints: Path) -> None:
    fields = json.loads(endpoints.read_text())
    assert set(fields) >= {"spot_stream", "spot_rest", "usdm_stream", "options_stream"}
    assert all(url.split("//")[1].startswith("127.0.0.1:") for url in fields.values())


def test_stream_prints_count_json_lines_and_exits_0(endpoints: Path) -> None:
    done = run("stream", "--endpoints", str(endpoints), "--count", "6",
               "btcusdt@trade", "ethusdt@bookTicker")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    assert len(lines) == 6
    assert {line["stream"] for line in lines} <= {"btcusdt@trade", "ethusdt@bookTicker"}
    trades = [line["data"] for line in lines if line["stream"] == "btcusdt@trade"]
    assert all(t["e"] == "trade" and t["s"] == "BTCUSDT" for t in trades)  # type: ignore[index]


def test_stream_futures_market(endpoints: Path) -> None:
    done = run("stream", "--market", "usdm", "--endpoints", str(endpoints), "--count", "3",
               "btcusdt@aggTrade")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line["data"]["e"] for line in _lines(done.stdout)] == ["aggTrade"] * 3  # type: ignore[index]


def test_python_dash_m_is_the_same_command(endpoints: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trio_binance", "stream", "--endpoints", str(endpoints),
         "--count", "1", "ethusdt@trade"],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _lines(done.stdout)[0]["stream"] == "ethusdt@trade"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_record_then_replay_gives_every_message_back_in_order(
    endpoints: Path, tmp_path: Path, sig: int
) -> None:
    out = tmp_path / "rec"
    proc = start([SCRIPT, "record", "--endpoints", str(endpoints), "--out", str(out),
                  "--flush-interval", "50ms", "btcusdt@trade", "ethusdt@trade",
                  "btcusdt@bookTicker"])  # fmt: skip

    def recorded() -> int:
        try:
            return sum(isinstance(r, RecordedMessage) for r in read_recording([out]))
        except Exception:
            return 0

    wait_for(lambda: recorded() >= 12 or proc.poll() is not None, "12 recorded messages")
    status, _, err = stop(proc, sig)
    assert status == 0, err
    assert "Traceback" not in err
    files: list[RecordingFile] = []
    records = list(read_recording([out], on_file=files.append))
    assert files and all(f.complete for f in files)  # closed with their end line
    messages = [r for r in records if isinstance(r, RecordedMessage)]
    assert len(messages) >= 12
    assert [r.time_ns for r in records] == sorted(r.time_ns for r in records)
    for symbol in ("btcusdt", "ethusdt"):  # trade ids have no hole: nothing was lost
        ids = [m.data["t"] for m in messages if m.stream == f"{symbol}@trade"]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
    replayed = run("replay", "--max-speed", str(out))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.encode() == b"".join(r.to_json_line() for r in records)
    # the files of the directory, named one by one, replay the same
    named = run("replay", "--max-speed", *[str(f.path) for f in files])
    assert named.stdout == replayed.stdout


def test_book_json_prints_count_snapshots(endpoints: Path) -> None:
    done = run("book", "BTCUSDT", "--endpoints", str(endpoints), "--json", "--count", "3",
               "--depth", "5")  # fmt: skip
    assert done.returncode == 0, done.stderr
    snapshots = _lines(done.stdout)
    assert len(snapshots) == 3
    for snap in snapshots:
        assert set(snap) == {"symbol", "update_id", "bids", "asks"}
        assert snap["symbol"] == "BTCUSDT"
        bids = [Decimal(p) for p, _ in snap["bids"]]  # type: ignore[attr-defined]
        asks = [Decimal(p) for p, _ in snap["asks"]]  # type: ignore[attr-defined]
        assert len(bids) == len(asks) == 5
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0] < asks[0]
    ids = [snap["update_id"] for snap in snapshots]
    assert ids == sorted(ids)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["stream", "btcusdt trade"], "stream name"),
        (["stream", "--market", "moon", "btcusdt@trade"], "'moon' is not one of"),
        (["stream", "--endpoints", "/nonexistent/endpoints.json", "btcusdt@trade"],
         "cannot read endpoints file"),
        (["replay", "/nonexistent/recording"], "no such file or directory"),
        (["book", "BTC/USDT"], "symbol must be"),
        (["record", "--out", "/nonexistent/x", "btcusdt@trade", "--compression", "lz4"],
         "'lz4' is not one of"),
        (["stream", "--testnet", "--demo", "btcusdt@trade"], "at most one of"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_a_non_zero_exit(args: list[str], expected: str) -> None:
    done = run(*args)
    assert done.returncode != 0
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_an_endpoints_file_that_is_not_endpoints(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for content, expected in [("{", "is not JSON"), ('{"spot": "ws://x"}', "unknown endpoints")]:
        bad.write_text(content)
        done = run("stream", "--endpoints", str(bad), "btcusdt@trade")
        assert done.returncode == 1
        assert len(done.stderr.splitlines()) == 1 and expected in done.stderr, done.stderr


def test_a_stream_the_exchange_refuses(endpoints: Path) -> None:
    done = run("stream", "--endpoints", str(endpoints), "--count", "1", "btcusdt@nosuchthing")
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr


def test_without_the_cli_extra_a_hint(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['click'] = None\n"
        "from trio_binance._cli import main; sys.exit(main(['--help']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "trio-binance: the command needs the [cli] extra (click is missing): "
        "pip install 'trio-binance-streams[cli]'"
    ]


def test_import_trio_binance_does_not_need_the_cli_extra() -> None:
    # httpx imports click and rich itself when they are installed (its own CLI), so
    # block them: the library, its fake and the recording reader must still import.
    code = (
        "import sys\n"
        "for name in ('click', 'rich', 'zstandard'): sys.modules[name] = None\n"
        "import trio_binance, trio_binance.testing, trio_binance.recording\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_replay_paces_like_the_recording(tmp_path: Path) -> None:
    # A recording spanning 0.3 s replays at --speed 3 in about 0.1 s, and the lines
    # are those `stream` prints.
    from trio_binance.recording import RecordingWriter

    writer = RecordingWriter(tmp_path, market="spot", streams=["a@trade"], start_ns=0)
    for i in range(4):
        writer.write_message(i * 100_000_000, "spot:#1", "a@trade", {"t": i})
    writer.close(400_000_000)
    done = run("replay", "--speed", "3", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line) for line in done.stdout.splitlines()] == [
        {"stream": "a@trade", "data": {"t": i}} for i in range(4)
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stream_stops_cleanly_on_a_signal(endpoints: Path, sig: int) -> None:
    proc = start([SCRIPT, "stream", "--endpoints", str(endpoints), "btcusdt@bookTicker"])
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the fake publishes every 0.1 s: a line comes soon
    assert json.loads(first)["stream"] == "btcusdt@bookTicker"
    status, _, err = stop(proc, sig)
    assert status == 0 and err == ""
