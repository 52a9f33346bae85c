"""``trio-binance record``: streams into compressed, rotating recording files.

The task tree, inside ``open_binance_streams``::

    record_streams
    ├── _write        one: the channel's items into a RecordingWriter; flushes every
    │                 --flush-interval; closes the file (its ``end`` line) when the
    │                 readers are done
    ├── _show_status  a one-line live status on stderr (when it is a terminal)
    └── readers       one per route (and per connection's worth of streams): a
                      multiplex handle's batches, stamped, into the channel

A signal stops the readers only: each hands over what its handle already holds,
the writer writes everything out and closes the file, then the command exits 0.
"""

from __future__ import annotations

import collections
import functools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import trio
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .._endpoints import Endpoints, Product
from .._exceptions import BinanceStreamError
from .._gap import Gap
from .._handle import StreamHandle
from .._manager import BinanceSocketManager, open_binance_streams
from .._settings import Settings
from .._streams import StreamRequest, connection_url
from .._transport import Transport
from .._version import __version__
from ..recording import COMPRESSIONS, RecordingWriter
from ._common import (
    MARKETS,
    CliError,
    WallClock,
    connection_options,
    gap_json,
    market_option,
    open_multiplex,
    resolve_endpoints,
    run_until_signal,
    validate_streams,
)

__all__ = ["RecordStats", "record", "record_streams", "status_line"]

# (receive time ns, connection, items of one batch: envelopes and Gaps)
_Batch = tuple[int, str, list[Any]]


class RecordStats:
    """What the status line shows: counts per stream, and the writer's totals."""

    def __init__(self, streams: Sequence[str]) -> None:
        self.per_stream: collections.Counter[str] = collections.Counter(dict.fromkeys(streams, 0))
        self.gaps = 0
        self.writer: RecordingWriter | None = None


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def status_line(
    rates: Mapping[str, float], *, messages: int, size: int, gaps: int, file: str
) -> Text:
    """The recorder's one-line status: messages/s per stream, totals, gaps, file."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("● rec ", style="bold red")
    text.append(file, style="bold")
    text.append(" │ ")
    for i, (stream, rate) in enumerate(rates.items()):
        if i:
            text.append("  ")
        text.append(stream, style="cyan")
        text.append(f" {rate:,.1f}/s")
    text.append(" │ ")
    text.append(f"{messages:,} msgs  {_size(size)}  ")
    text.append(f"{gaps} gaps", style="bold yellow" if gaps else "")
    return text


def _groups(request: StreamRequest, max_streams: int) -> list[tuple[str, int, list[str]]]:
    """(route, index on that route, streams): one handle, hence one connection, each."""
    by_route: dict[str, list[str]] = collections.defaultdict(list)
    for name, route in zip(request.streams, request.routes, strict=True):
        by_route[route].append(name)
    return [
        (route, k, names[i : i + max_streams])
        for route, names in by_route.items()
        for k, i in enumerate(range(0, len(names), max_streams))
    ]


_NUMBER = re.compile(r"#(\d+)$")


def _connection_name(
    bsm: BinanceSocketManager[Gap],
    endpoints: Endpoints,
    product: Product,
    route: str,
    index: int,
) -> str:
    """The name ``bsm.connection_stats()`` gives the connection carrying a group."""
    url = connection_url(endpoints.route_url(product, route))
    names = [c.name for c in bsm.connection_stats() if c.url == url]
    names.sort(key=lambda name: int(m.group(1)) if (m := _NUMBER.search(name)) else 0)
    if not names:
        return f"{product.value}:{route or product.value}"
    return names[min(index, len(names) - 1)]


class _Label:
    """A group's connection name, looked up when it goes live and after each gap."""

    def __init__(self, lookup: Callable[[], str]) -> None:
        self._lookup = lookup
        self._name: str = lookup()

    def __call__(self) -> str:
        return self._name

    def refresh(self) -> None:
        self._name = self._lookup()


async def _read(
    handle: StreamHandle,
    label: _Label,
    clock: WallClock,
    send: trio.MemorySendChannel[_Batch],
) -> None:
    """Move the handle's batches into the channel until cancelled, then what it holds."""
    async with send:
        try:
            while True:
                batch = await handle.receive_batch()
                with trio.CancelScope(shield=True):  # bounded: the writer drains
                    await send.send((clock.ns(), label(), batch))
                if any(isinstance(item, Gap) for item in batch):
                    label.refresh()
        except trio.BrokenResourceError:
            return  # the writer failed; its error is the one reported
        finally:
            leftover: list[Any] = []
            while True:
                try:
                    leftover.append(handle.receive_nowait())
                except (
                    trio.WouldBlock,
                    trio.EndOfChannel,
                    trio.ClosedResourceError,
                    BinanceStreamError,
                ):
                    break
            if leftover:
                with trio.CancelScope(shield=True):
                    try:
                        await send.send((clock.ns(), label(), leftover))
                    except trio.BrokenResourceError:
                        pass


async def _write(
    receive: trio.MemoryReceiveChannel[_Batch],
    writer: RecordingWriter,
    stats: RecordStats,
    clock: WallClock,
    flush_interval: float,
    done: Callable[[], None],
) -> None:
    try:
        async with receive:
            next_flush = trio.current_time() + flush_interval
            while True:
                try:
                    with trio.fail_at(next_flush):
                        t_ns, conn, batch = await receive.receive()
                except trio.TooSlowError:
                    writer.flush(clock.ns())
                    next_flush = trio.current_time() + flush_interval
                    continue
                except trio.EndOfChannel:
                    break
                envelopes: list[Any] = []
                for item in batch:
                    if isinstance(item, Gap):
                        if envelopes:
                            writer.write_messages(t_ns, conn, envelopes)
                            envelopes = []
                        writer.write_gap(t_ns, conn, gap_json(item, clock))
                        stats.gaps += 1
                    else:
                        envelopes.append(item)
                        stats.per_stream[item["stream"]] += 1
                if envelopes:
                    writer.write_messages(t_ns, conn, envelopes)
                if trio.current_time() >= next_flush:
                    writer.flush(clock.ns())
                    next_flush = trio.current_time() + flush_interval
    finally:
        writer.close(clock.ns())  # synchronous: runs even when cancelled
        done()


async def _show_status(
    stats: RecordStats, console: Console, scope: trio.CancelScope, interval: float = 1.0
) -> None:
    previous = dict(stats.per_stream)
    last = trio.current_time()

    def line() -> Text:
        nonlocal previous, last
        now = trio.current_time()
        elapsed = max(now - last, 1e-9)
        rates = {s: (n - previous.get(s, 0)) / elapsed for s, n in stats.per_stream.items()}
        previous, last = dict(stats.per_stream), now
        writer = stats.writer
        current = writer.current_file if writer is not None else None
        return status_line(
            rates,
            messages=writer.messages if writer else 0,
            size=writer.bytes_written if writer else 0,
            gaps=stats.gaps,
            file=current.name if current else writer.files[-1].name if writer else "-",
        )

    with Live(console=console, auto_refresh=False, transient=False) as live:
        try:
            with scope:
                while True:
                    await trio.sleep(interval)
                    live.update(line(), refresh=True)
        finally:
            live.update(line(), refresh=True)  # the final counts, once the file is closed


async def record_streams(
    product: Product,
    request: StreamRequest,
    out: Path,
    *,
    endpoints: Endpoints,
    transport: Transport | None = None,
    compression: str = "zstd",
    max_file_bytes: int = 256 << 20,
    max_file_seconds: float = 3600.0,
    flush_interval: float = 1.0,
    status: Console | None = None,
    stop: trio.CancelScope | None = None,
) -> RecordingWriter:
    """Record ``request``'s streams into ``out`` until ``stop`` is cancelled.

    Returns the (closed) writer, for its files and counts.
    """
    clock = WallClock()
    stop = trio.CancelScope() if stop is None else stop
    max_streams = Settings().limits_for(product).max_streams
    stats = RecordStats(request.streams)
    async with open_binance_streams(
        endpoints=endpoints, transport=transport, gap_notices=True
    ) as bsm:
        writer = RecordingWriter(
            out,
            market=product.value,
            streams=request.streams,
            start_ns=clock.ns(),
            compression=compression,
            max_file_bytes=max_file_bytes,
            max_file_seconds=max_file_seconds,
            extra_header={
                "recorder": f"trio-binance {__version__}",
                "stream_base": endpoints.stream_base(product),
            },
        )
        stats.writer = writer
        send, receive = trio.open_memory_channel[_Batch](64)
        async with trio.open_nursery() as nursery:
            status_scope = trio.CancelScope()
            if status is not None:
                nursery.start_soon(_show_status, stats, status, status_scope)
            # When the readers are done and every send end is closed, the writer
            # drains the channel, closes the file, and stops the status line.
            nursery.start_soon(
                _write, receive, writer, stats, clock, flush_interval, status_scope.cancel
            )
            async with send:
                with stop:
                    async with trio.open_nursery() as readers:
                        for route, index, names in _groups(request, max_streams):
                            handle = open_multiplex(bsm, product, names)
                            readers.start_soon(
                                _run_group, bsm, endpoints, product, route, index, handle,
                                clock, send.clone(),
                            )  # fmt: skip
    return writer


async def _run_group(
    bsm: BinanceSocketManager[Gap],
    endpoints: Endpoints,
    product: Product,
    route: str,
    index: int,
    handle: StreamHandle,
    clock: WallClock,
    send: trio.MemorySendChannel[_Batch],
) -> None:
    async with handle:
        label = _Label(lambda: _connection_name(bsm, endpoints, product, route, index))
        await _read(handle, label, clock, send)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_size(text: str) -> int:
    """``"256M"``, ``"64MiB"``, ``"1G"``, ``"4096"`` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size such as 256M, 64MiB or 1G")
    unit = (match.group(2) or "").lower()
    binary = "i" in unit
    base = _UNITS[unit[:1]] if unit else 1
    if binary:
        base = {"k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
    value = int(float(match.group(1)) * base)
    if value < 1:
        raise click.BadParameter("a size must be at least 1 byte")
    return value


def parse_duration(text: str) -> float:
    """``"1h"``, ``"15m"``, ``"30s"``, ``"500ms"``, ``"90"`` (seconds) -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration such as 1h, 15m, 30s or 500ms")
    value = float(match.group(1)) * _SECONDS[match.group(2)]
    if value <= 0:
        raise click.BadParameter("a duration must be positive")
    return value


@click.command()
@market_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    metavar="DIR",
    help="Directory of the recording (created if missing).",
)
@click.option(
    "--compression",
    type=click.Choice(list(COMPRESSIONS)),
    default="zstd",
    show_default=True,
    help="zstd (.jsonl.zst), gzip (.jsonl.gz) or none (.jsonl).",
)
@click.option(
    "--max-file-size",
    default="256MiB",
    show_default=True,
    callback=lambda _ctx, _param, value: parse_size(value),
    help="Start a new file past this many bytes on disk.",
)
@click.option(
    "--rotate",
    "rotate_every",
    default="1h",
    show_default=True,
    callback=lambda _ctx, _param, value: parse_duration(value),
    help="Start a new file after this long.",
)
@click.option(
    "--flush-interval",
    default="1s",
    show_default=True,
    callback=lambda _ctx, _param, value: parse_duration(value),
    help="Write a complete compressed block this often: what a killed recorder keeps.",
)
@click.option(
    "--status/--no-status",
    default=None,
    help="The live status line on stderr (default: when stderr is a terminal).",
)
@connection_options
@click.argument("streams", nargs=-1, required=True, metavar="STREAM...")
def record(
    market: str,
    out: Path,
    compression: str,
    max_file_size: int,
    rotate_every: float,
    flush_interval: float,
    status: bool | None,
    testnet: bool,
    demo: bool,
    tld: str,
    endpoints_file: str | None,
    streams: tuple[str, ...],
) -> None:
    """Record STREAMs into compressed, rotating files in DIR, until SIGINT/SIGTERM.

    Every message is kept with its receive time (ns) and connection, and every gap
    with its span; the format is docs/recording-format.md.  Replay it with
    `trio-binance replay DIR`.
    """
    product = MARKETS[market]
    request = validate_streams(product, streams)
    endpoints = resolve_endpoints(
        tld=tld, testnet=testnet, demo=demo, endpoints_file=endpoints_file
    )
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: not a directory")
    show = sys.stderr.isatty() if status is None else status
    console = Console(stderr=True) if show else None
    stop = trio.CancelScope()

    async def body() -> None:
        writer = await record_streams(
            product,
            request,
            out,
            endpoints=endpoints,
            compression=compression,
            max_file_bytes=max_file_size,
            max_file_seconds=rotate_every,
            flush_interval=flush_interval,
            status=console,
            stop=stop,
        )
        print(
            f"recorded {writer.messages:,} messages and {writer.gaps} gaps "
            f"in {len(writer.files)} file(s) in {out}",
            file=sys.stderr,
        )

    trio.run(functools.partial(run_until_signal, body, on_signal=stop.cancel))
