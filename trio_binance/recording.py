"""Recordings of Binance streams: the file format ``trio-binance record`` writes.

A recording is a directory of files, each a sequence of JSON lines (one object per
line), compressed with Zstandard (``.jsonl.zst``, the default), gzip
(``.jsonl.gz``) or not at all (``.jsonl``).  The format is described in
``docs/recording-format.md``.  In short, every file holds::

    {"recording": 1, "market": "spot", "streams": [...], "session": "...", "file": 1, ...}
    {"t": 1767225600123456789, "c": "spot:#1", "s": "btcusdt@trade", "d": {...payload...}}
    {"t": 1767225600223456789, "c": "spot:#1", "gap": {"stream": ..., "reason": ..., ...}}
    {"end": {"messages": 2, "gaps": 1, "t": 1767225601000000000, "reason": "rotate"}}

The writer flushes a complete compressed block at every :meth:`RecordingWriter.flush`,
so a recorder that is killed leaves files readable up to its last flush; the
reader returns everything up to there and marks the file as truncated.

This module is pure: no Trio, no clock of its own (times are passed in), blocking
file I/O only.  ``zstandard`` is imported only when a ``.zst`` file is written or
read (it comes with the ``[cli]`` extra).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol, final

import orjson

__all__ = [
    "COMPRESSIONS",
    "FORMAT_VERSION",
    "RecordedGap",
    "RecordedMessage",
    "RecordingError",
    "RecordingFile",
    "RecordingWriter",
    "read_header",
    "read_recording",
    "recording_files",
]

FORMAT_VERSION: Final = 1
"""The ``"recording"`` value of every file header this module writes and reads."""

COMPRESSIONS: Final[Mapping[str, str]] = {
    "zstd": ".jsonl.zst",
    "gzip": ".jsonl.gz",
    "none": ".jsonl",
}
"""File-name suffix of each compression."""

_READ_CHUNK = 1 << 20


class RecordingError(ValueError):
    """A recording cannot be read: missing, not a recording, or of an unknown version."""


@final
@dataclasses.dataclass(frozen=True)
class RecordedMessage:
    """One recorded message.

    Attributes:
        time_ns: Wall-clock time (ns since the Unix epoch) at which the recorder
            received it from the client library.
        connection: The connection that carried it, as ``bsm.connection_stats()``
            names it (``"spot:#1"``, ``"usdm:public#2"``).
        stream: The stream name, e.g. ``"btcusdt@trade"``.
        data: The payload, as Binance sent it.
    """

    time_ns: int
    connection: str
    stream: str
    data: Any

    def to_json_line(self) -> bytes:
        """The ``{"stream": ..., "data": ...}`` line ``trio-binance stream`` prints."""
        return orjson.dumps(
            {"stream": self.stream, "data": self.data}, option=orjson.OPT_APPEND_NEWLINE
        )


@final
@dataclasses.dataclass(frozen=True)
class RecordedGap:
    """A recorded :class:`~trio_binance.Gap`: data of ``stream`` may be missing here.

    Attributes:
        time_ns: Wall-clock time (ns) at which the recorder received the notice.
        connection: The connection of the stream.
        gap: The gap as JSON: ``stream``, ``reason``, ``start`` and ``end`` (Unix
            seconds), ``duration``, ``dropped``, ``last_event_time``, ``last_id``.
    """

    time_ns: int
    connection: str
    gap: Mapping[str, Any]

    @property
    def stream(self) -> str:
        """The stream the gap is on."""
        return str(self.gap.get("stream", ""))

    def to_json_line(self) -> bytes:
        """The ``{"gap": {...}}`` line ``trio-binance stream`` prints."""
        return orjson.dumps({"gap": self.gap}, option=orjson.OPT_APPEND_NEWLINE)


@final
@dataclasses.dataclass(frozen=True)
class RecordingFile:
    """What :func:`read_recording` learnt about one file, once it has read it.

    Attributes:
        path: The file.
        header: Its first line (``market``, ``streams``, ``session``, ...).
        complete: True if the file ends with its ``end`` line (the recorder closed
            it); False if the recorder was killed, or the file is still being written.
        messages: Messages read from it.
        gaps: Gaps read from it.
    """

    path: Path
    header: Mapping[str, Any]
    complete: bool
    messages: int
    gaps: int


# ----------------------------------------------------------------------- codecs


class _Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...

    def finish(self) -> bytes: ...


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - the [cli] extra brings it
        raise RecordingError(
            "Zstandard recordings need the 'zstandard' package: "
            "pip install 'trio-binance-streams[cli]'"
        ) from None
    return zstandard


class _ZstdEncoder:
    def __init__(self, level: int) -> None:
        zstd = _zstd()
        self._obj = zstd.ZstdCompressor(level=level).compressobj()
        self._block = zstd.COMPRESSOBJ_FLUSH_BLOCK

    def compress(self, data: bytes) -> bytes:
        return bytes(self._obj.compress(data))

    def flush(self) -> bytes:
        return bytes(self._obj.flush(self._block))

    def finish(self) -> bytes:
        return bytes(self._obj.flush())


class _GzipEncoder:
    def __init__(self, level: int) -> None:
        self._obj = zlib.compressobj(level, zlib.DEFLATED, 31)

    def compress(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def flush(self) -> bytes:
        return self._obj.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._obj.flush(zlib.Z_FINISH)


class _PlainEncoder:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""

    def finish(self) -> bytes:
        return b""


class _PlainDecoder:
    def decompress(self, data: bytes) -> bytes:
        return data


_DEFAULT_LEVELS: Final[Mapping[str, int]] = {"zstd": 3, "gzip": 6, "none": 0}


def _encoder(compression: str, level: int | None) -> _Encoder:
    if compression == "zstd":
        return _ZstdEncoder(_DEFAULT_LEVELS["zstd"] if level is None else level)
    if compression == "gzip":
        return _GzipEncoder(_DEFAULT_LEVELS["gzip"] if level is None else level)
    return _PlainEncoder()


def _decoder(path: Path) -> _Decoder:
    name = path.name
    if name.endswith(".zst"):
        return _zstd().ZstdDecompressor().decompressobj()  # type: ignore[no-any-return]
    if name.endswith(".gz"):
        return zlib.decompressobj(31)
    return _PlainDecoder()


# ----------------------------------------------------------------------- writing


def _file_stamp(time_ns: int) -> str:
    moment = datetime.datetime.fromtimestamp(time_ns / 1e9, tz=datetime.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


@final
class RecordingWriter:
    """Writes a recording into ``directory``: compressed files, rotated by size and age.

    Times are given by the caller (ns since the Unix epoch), so the writer is
    deterministic and works under a fake clock.  Nothing reaches the disk between
    flushes; :meth:`flush` writes one complete compressed block, so that a killed
    writer leaves every file readable up to its last flush.

    Args:
        directory: Where the files go (created if missing).
        market: The product, e.g. ``"spot"``; written into every header.
        streams: The streams being recorded; written into every header.
        start_ns: Wall-clock time the recording starts (names the session).
        compression: ``"zstd"`` (default), ``"gzip"`` or ``"none"``.
        level: Compression level (zstd default 3, gzip default 6).
        max_file_bytes: Rotate once a file holds this many (compressed) bytes.
        max_file_seconds: Rotate once a file is this old (by message times).
        buffer_bytes: Compress the pending lines once they exceed this size.
        extra_header: More header fields (e.g. the endpoints used).

    Raises:
        ValueError: A bad compression or limit.
        OSError: The directory cannot be made.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        market: str,
        streams: Sequence[str],
        start_ns: int,
        compression: str = "zstd",
        level: int | None = None,
        max_file_bytes: int = 256 << 20,
        max_file_seconds: float = 3600.0,
        buffer_bytes: int = 256 << 10,
        extra_header: Mapping[str, Any] | None = None,
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(
                f"compression must be one of {', '.join(map(repr, COMPRESSIONS))}; "
                f"got {compression!r}"
            )
        if max_file_bytes < 1 or max_file_seconds <= 0 or buffer_bytes < 1:
            raise ValueError("max_file_bytes, max_file_seconds and buffer_bytes must be positive")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.compression = compression
        self.session = _file_stamp(start_ns)
        self._level = level
        self._market = market
        self._streams = list(streams)
        self._extra = dict(extra_header or {})
        self._max_bytes = max_file_bytes
        self._max_ns = int(max_file_seconds * 1e9)
        self._buffer_bytes = buffer_bytes
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._encoder: _Encoder = _PlainEncoder()
        self._file_started = 0
        self._file_written = 0
        self._file_messages = 0
        self._file_gaps = 0
        self.files: list[Path] = []
        """Every file written so far, in order; the last one is open."""
        self.messages = 0
        """Messages written, over all files."""
        self.gaps = 0
        """Gaps written, over all files."""
        self.bytes_written = 0
        """Compressed bytes written to disk, over all files."""
        self._open(start_ns)

    @property
    def current_file(self) -> Path | None:
        """The file being written, or None once closed."""
        return self.files[-1] if self._file is not None else None

    def write_message(self, time_ns: int, connection: str, stream: str, data: Any) -> None:
        """Add one message received at ``time_ns`` on ``connection``."""
        if self._due(time_ns):
            self._rotate(time_ns)
        self._buffer += orjson.dumps(
            {"t": time_ns, "c": connection, "s": stream, "d": data},
            option=orjson.OPT_APPEND_NEWLINE,
        )
        self._file_messages += 1
        self.messages += 1
        if len(self._buffer) >= self._buffer_bytes:
            self._compress()

    def write_messages(
        self, time_ns: int, connection: str, envelopes: Iterable[Mapping[str, Any]]
    ) -> int:
        """Add ``{"stream", "data"}`` envelopes received together; return how many."""
        if self._due(time_ns):
            self._rotate(time_ns)
        buffer, dumps, newline = self._buffer, orjson.dumps, orjson.OPT_APPEND_NEWLINE
        n = 0
        for env in envelopes:
            buffer += dumps(
                {"t": time_ns, "c": connection, "s": env["stream"], "d": env["data"]},
                option=newline,
            )
            n += 1
        self._file_messages += n
        self.messages += n
        if len(buffer) >= self._buffer_bytes:
            self._compress()
        return n

    def write_gap(self, time_ns: int, connection: str, gap: Mapping[str, Any]) -> None:
        """Add a gap notice (its fields: see :class:`RecordedGap`); flushed at once."""
        if self._due(time_ns):
            self._rotate(time_ns)
        self._buffer += orjson.dumps(
            {"t": time_ns, "c": connection, "gap": dict(gap)}, option=orjson.OPT_APPEND_NEWLINE
        )
        self._file_gaps += 1
        self.gaps += 1
        self._compress()
        self.flush()  # a gap is rare and important: on disk at once

    def flush(self, now_ns: int | None = None) -> None:
        """Write everything pending as a complete block; rotate if the file is due.

        Args:
            now_ns: The time now; with it, a file older than ``max_file_seconds`` is
                rotated even when no message arrives.
        """
        if self._file is None:
            return
        self._compress()
        out = self._encoder.flush()
        if out:
            self._write(out)
        self._file.flush()
        if now_ns is not None and self._due(now_ns):
            self._rotate(now_ns)

    def close(self, now_ns: int, reason: str = "stopped") -> None:
        """Finish the open file with its ``end`` line and close it.  Idempotent."""
        if self._file is not None:
            self._finish(now_ns, reason)

    # -- internals ----------------------------------------------------------------

    def _open(self, now_ns: int) -> None:
        index = len(self.files) + 1
        path = self.directory / f"{self.session}-{index:05d}{COMPRESSIONS[self.compression]}"
        if path.exists():
            raise FileExistsError(f"{path} already exists")
        self._file = open(path, "xb")  # noqa: SIM115 - closed by _finish
        self.files.append(path)
        self._encoder = _encoder(self.compression, self._level)
        self._file_started = now_ns
        self._file_written = self._file_messages = self._file_gaps = 0
        header = {
            "recording": FORMAT_VERSION,
            "market": self._market,
            "streams": self._streams,
            "session": self.session,
            "file": index,
            "started_ns": now_ns,
            "compression": self.compression,
            **self._extra,
        }
        self._buffer += orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE)
        self.flush()

    def _due(self, now_ns: int) -> bool:
        """Whether the open file is full or old enough to rotate (checked between lines)."""
        return self._file_written >= self._max_bytes or now_ns - self._file_started >= self._max_ns

    def _rotate(self, now_ns: int) -> None:
        self._finish(now_ns, "rotate")
        self._open(now_ns)

    def _finish(self, now_ns: int, reason: str) -> None:
        assert self._file is not None
        end = {
            "messages": self._file_messages,
            "gaps": self._file_gaps,
            "t": now_ns,
            "reason": reason,
        }
        self._buffer += orjson.dumps({"end": end}, option=orjson.OPT_APPEND_NEWLINE)
        self._compress()
        self._write(self._encoder.finish())
        self._file.close()
        self._file = None

    def _compress(self) -> None:
        if self._buffer:
            out = self._encoder.compress(bytes(self._buffer))
            self._buffer.clear()
            if out:
                self._write(out)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._file_written += len(data)
        self.bytes_written += len(data)


# ----------------------------------------------------------------------- reading


def recording_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The recording files named by ``paths`` (directories or files), in recorded order.

    A directory stands for every recording file in it.  Files are ordered by name,
    which is the order they were written in (``<session start>-<index>``).

    Raises:
        RecordingError: A path does not exist, or a directory holds no recording.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
            if not inside:
                raise RecordingError(
                    f"{path}: no recording files (*.jsonl.zst, *.jsonl.gz, *.jsonl)"
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise RecordingError(f"{path}: no such file or directory")
    return sorted(dict.fromkeys(found), key=lambda p: p.name)


_SUFFIXES: Final = tuple(COMPRESSIONS.values())


def _lines(path: Path) -> Iterator[bytes]:
    """Every complete line of ``path``, decompressed.

    Whatever follows the last newline is a line the writer never finished (it was
    killed mid-block): it is dropped.
    """
    decoder = _decoder(path)
    pending = b""
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror or exc}") from None
    with file:
        while chunk := file.read(_READ_CHUNK):
            try:
                data = decoder.decompress(chunk)
            except Exception as exc:  # zstd and zlib raise their own errors
                raise RecordingError(f"{path}: corrupt data ({exc})") from None
            if not data:
                continue
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            yield from lines


def _read_file(
    path: Path, stats: dict[str, Any]
) -> Generator[RecordedMessage | RecordedGap, None, None]:
    header: Mapping[str, Any] | None = None
    loads = orjson.loads
    for line in _lines(path):
        if not line:
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            raise RecordingError(f"{path}: not a recording (a line is not JSON)") from None
        if header is None:
            if not isinstance(obj, dict) or "recording" not in obj:
                raise RecordingError(f"{path}: not a recording (no header line)")
            if obj["recording"] != FORMAT_VERSION:
                raise RecordingError(
                    f"{path}: recording format {obj['recording']!r}; this version reads "
                    f"{FORMAT_VERSION}"
                )
            header = obj
            stats["header"] = obj
            continue
        if "d" in obj:
            stats["messages"] += 1
            yield RecordedMessage(obj["t"], obj["c"], obj["s"], obj["d"])
        elif "gap" in obj:
            stats["gaps"] += 1
            yield RecordedGap(obj["t"], obj["c"], obj["gap"])
        elif "end" in obj:
            stats["complete"] = True
            return
    if header is None:
        raise RecordingError(f"{path}: not a recording (empty, or no complete header)")


def read_recording(
    paths: Iterable[str | os.PathLike[str]],
    *,
    on_file: Callable[[RecordingFile], None] | None = None,
) -> Iterator[RecordedMessage | RecordedGap]:
    """Every message and gap of a recording, in recorded order.

    Args:
        paths: Recording directories and/or files (see :func:`recording_files`).
        on_file: Called with a :class:`RecordingFile` after each file is read, and
            before the first record of the next file; e.g. to notice truncated files.

    Yields:
        :class:`RecordedMessage` and :class:`RecordedGap` items.

    Raises:
        RecordingError: A path is missing, or a file is not a readable recording.
            A file cut short by a killed recorder is not an error: it is read up
            to its last complete line and reported with ``complete=False``.
    """
    for path in recording_files(paths):
        stats: dict[str, Any] = {"messages": 0, "gaps": 0, "complete": False, "header": {}}
        yield from _read_file(path, stats)
        if on_file is not None:
            on_file(
                RecordingFile(
                    path, stats["header"], stats["complete"], stats["messages"], stats["gaps"]
                )
            )


def read_header(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The header line of one recording file (its ``market``, ``streams``, ``session``...).

    Raises:
        RecordingError: The file is missing or not a recording.
    """
    stats: dict[str, Any] = {"messages": 0, "gaps": 0, "complete": False, "header": {}}
    records = _read_file(Path(path), stats)
    try:
        next(records, None)
    finally:
        records.close()
    return stats["header"]  # type: ignore[no-any-return]
