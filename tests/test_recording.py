"""The recording format (trio_binance.recording): written, rotated, cut short, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trio_binance.recording import (
    RecordedGap,
    RecordedMessage,
    RecordingError,
    RecordingFile,
    RecordingWriter,
    read_header,
    read_recording,
    recording_files,
)

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
SEC = 1_000_000_000


def _trade(i: int) -> dict[str, object]:
    return {"e": "trade", "E": 1_767_225_600_000 + i, "s": "BTCUSDT", "t": i, "p": f"{100 + i}.5"}


def _gap(stream: str = "btcusdt@trade") -> dict[str, object]:
    return {
        "stream": stream,
        "reason": "reconnect",
        "start": 1.0,
        "end": 2.5,
        "duration": 1.5,
        "dropped": 0,
        "last_event_time": 1_767_225_600_005,
        "last_id": 5,
    }


def _writer(tmp_path: Path, **options: object) -> RecordingWriter:
    return RecordingWriter(
        tmp_path,
        market="spot",
        streams=["btcusdt@trade", "ethusdt@trade"],
        start_ns=T0,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
def test_round_trip_in_order(tmp_path: Path, compression: str) -> None:
    writer = _writer(tmp_path, compression=compression)
    for i in range(10):
        writer.write_message(T0 + i, "spot:#1", "btcusdt@trade", _trade(i))
    writer.write_gap(T0 + 10, "spot:#1", _gap())
    writer.write_messages(
        T0 + 11, "spot:#2", [{"stream": "ethusdt@trade", "data": _trade(i)} for i in range(3)]
    )
    writer.close(T0 + 12)
    assert writer.messages == 13 and writer.gaps == 1
    files: list[RecordingFile] = []
    records = list(read_recording([tmp_path], on_file=files.append))
    assert records[:10] == [
        RecordedMessage(T0 + i, "spot:#1", "btcusdt@trade", _trade(i)) for i in range(10)
    ]
    assert records[10] == RecordedGap(T0 + 10, "spot:#1", _gap())
    assert [r.stream for r in records[11:]] == ["ethusdt@trade"] * 3
    assert [r.connection for r in records[11:]] == ["spot:#2"] * 3
    [only] = files
    assert only.complete and only.messages == 13 and only.gaps == 1
    assert only.header["market"] == "spot"
    assert only.header["streams"] == ["btcusdt@trade", "ethusdt@trade"]
    assert only.path.name.endswith({"zstd": ".zst", "gzip": ".gz", "none": ".jsonl"}[compression])


def test_rotates_by_age_and_every_message_comes_back(tmp_path: Path) -> None:
    writer = _writer(tmp_path, max_file_seconds=10)
    for i in range(100):
        writer.write_message(T0 + i * SEC, "spot:#1", "btcusdt@trade", _trade(i))
    writer.flush(T0 + 125 * SEC)  # no message for a while: rotated anyway
    writer.close(T0 + 126 * SEC)
    files: list[RecordingFile] = []
    records = list(read_recording([tmp_path], on_file=files.append))
    assert [r.data["t"] for r in records if isinstance(r, RecordedMessage)] == list(range(100))
    assert len(files) == len(writer.files) == 11
    assert all(f.complete for f in files)
    assert sum(f.messages for f in files) == 100
    assert [f.header["file"] for f in files] == list(range(1, 12))
    assert files[-1].messages == 0  # the file opened by the idle rotation


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_rotates_by_size(tmp_path: Path, compression: str) -> None:
    writer = _writer(tmp_path, max_file_bytes=4096, buffer_bytes=1024, compression=compression)
    for i in range(5000):
        writer.write_message(T0 + i, "spot:#1", "btcusdt@trade", _trade(i))
    writer.close(T0 + 5000)
    assert len(writer.files) >= 3
    if compression == "none":  # past the limit by at most one buffer of lines
        assert all(path.stat().st_size < 4096 + 1024 + 200 for path in writer.files)
    ids = [r.data["t"] for r in read_recording(writer.files) if isinstance(r, RecordedMessage)]
    assert ids == list(range(5000))


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
def test_a_killed_writer_leaves_files_readable_up_to_the_last_flush(
    tmp_path: Path, compression: str
) -> None:
    writer = _writer(tmp_path / "rec", compression=compression, buffer_bytes=1 << 30)
    for i in range(50):
        writer.write_message(T0 + i, "spot:#1", "btcusdt@trade", _trade(i))
        if i % 10 == 9:
            writer.flush()
    for i in range(50, 60):  # never flushed: lost with the process
        writer.write_message(T0 + i, "spot:#1", "btcusdt@trade", _trade(i))
    # "kill": copy what is on disk now, without closing the writer
    killed = tmp_path / "killed"
    shutil.copytree(tmp_path / "rec", killed)
    writer.close(T0 + 60)
    files: list[RecordingFile] = []
    records = list(read_recording([killed], on_file=files.append))
    assert [r.data["t"] for r in records if isinstance(r, RecordedMessage)] == list(range(50))
    assert files[0].complete is False
    # killed in the middle of writing a block: what was complete before that block
    path = recording_files([killed])[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])
    ids = [r.data["t"] for r in read_recording([path]) if isinstance(r, RecordedMessage)]
    assert ids == list(range(len(ids))) and 40 <= len(ids) < 50


def test_files_are_read_in_recorded_order_whatever_order_they_are_named_in(
    tmp_path: Path,
) -> None:
    writer = _writer(tmp_path, max_file_seconds=1)
    for i in range(5):
        writer.write_message(T0 + i * SEC, "spot:#1", "btcusdt@trade", _trade(i))
    writer.close(T0 + 5 * SEC)
    shuffled = list(reversed(writer.files))
    ids = [r.data["t"] for r in read_recording(shuffled) if isinstance(r, RecordedMessage)]
    assert ids == list(range(5))
    assert read_header(writer.files[2])["file"] == 3


def test_bad_recordings_are_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        list(read_recording([tmp_path / "missing"]))
    with pytest.raises(RecordingError, match="no recording files"):
        list(read_recording([tmp_path]))
    stray = tmp_path / "notes.jsonl"
    stray.write_text('{"hello": 1}\n')
    with pytest.raises(RecordingError, match=r"notes\.jsonl: not a recording"):
        list(read_recording([stray]))
    stray.write_text("not json\n")
    with pytest.raises(RecordingError, match="not a recording"):
        list(read_recording([stray]))
    future = tmp_path / "future.jsonl"
    future.write_text('{"recording": 99}\n')
    with pytest.raises(RecordingError, match="format 99"):
        list(read_recording([future]))
    garbage = tmp_path / "x.jsonl.zst"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(RecordingError, match="corrupt"):
        list(read_recording([garbage]))


def test_writer_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="compression must be one of"):
        _writer(tmp_path, compression="lz4")
    with pytest.raises(ValueError, match="positive"):
        _writer(tmp_path, max_file_bytes=0)


def test_json_lines_match_the_stream_command(tmp_path: Path) -> None:
    msg = RecordedMessage(T0, "spot:#1", "btcusdt@trade", {"p": "1.0"})
    assert msg.to_json_line() == b'{"stream":"btcusdt@trade","data":{"p":"1.0"}}\n'
    gap = RecordedGap(T0, "spot:#1", {"stream": "btcusdt@trade", "reason": "reconnect"})
    assert gap.to_json_line() == b'{"gap":{"stream":"btcusdt@trade","reason":"reconnect"}}\n'
    assert gap.stream == "btcusdt@trade"
