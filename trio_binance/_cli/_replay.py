"""``trio-binance replay``: a recording back as the JSON lines ``stream`` prints."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click
import trio

from ..recording import RecordingError, RecordingFile, read_header, read_recording, recording_files
from ._common import CliError, Output, connection_options, run_until_signal

__all__ = ["replay", "replay_lines"]

_BATCH = 1000


async def replay_lines(
    paths: Sequence[str | Path], output: Output, *, speed: float | None
) -> tuple[int, list[Path]]:
    """Write the recording's messages and gaps to ``output`` in recorded order.

    Args:
        paths: Recording directories or files.
        output: Where the lines go.
        speed: 1.0 for the recorded pace, 2.0 twice as fast, None as fast as possible.
            Pauses between separate recording sessions are skipped.

    Returns:
        The number of records written, and the files that ended early (a recorder
        that was killed: read up to its last flush).
    """
    files = recording_files(paths)
    truncated: list[Path] = []
    written = 0
    session: object = None
    start = t0 = 0.0
    lines: list[bytes] = []
    for path in files:
        header = read_header(path)
        complete = True

        def seen(info: RecordingFile) -> None:
            nonlocal complete
            complete = info.complete

        for record in read_recording([path], on_file=seen):
            if header.get("session") != session:
                session = header.get("session")
                start, t0 = trio.current_time(), record.time_ns / 1e9
            if speed is not None:
                due = start + (record.time_ns / 1e9 - t0) / speed
                if due > trio.current_time():
                    output.write(lines)
                    lines = []
                    await trio.sleep_until(due)
            lines.append(record.to_json_line())
            written += 1
            if len(lines) >= _BATCH:
                output.write(lines)
                lines = []
                await trio.lowlevel.checkpoint()
            if output.closed:
                return written, truncated
        if not complete:
            truncated.append(path)
    output.write(lines)
    await trio.lowlevel.checkpoint()
    return written, truncated


@click.command()
@click.option(
    "--speed", type=click.FloatRange(min=0, min_open=True), help="Pace x this (2 = twice as fast)."
)
@click.option("--max-speed", is_flag=True, help="No pacing: as fast as the output is read.")
@connection_options
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
def replay(
    speed: float | None,
    max_speed: bool,
    testnet: bool,
    demo: bool,
    tld: str,
    endpoints_file: str | None,
    paths: tuple[str, ...],
) -> None:
    """Print a recording (a DIR written by `record`, or files in it) as JSON lines.

    Lines are those of `trio-binance stream`, {"stream", "data"} and {"gap": {...}},
    in recorded order, at the recorded pace (or --speed X, or --max-speed).  To
    replay into an application, see trio_binance.testing.replay_recording.
    (--testnet, --demo, --tld and --endpoints are accepted and unused.)
    """
    del testnet, demo, tld, endpoints_file
    if speed is not None and max_speed:
        raise CliError("choose one of --speed and --max-speed")
    pace = None if max_speed else (speed or 1.0)
    try:
        recording_files(paths)  # a missing recording is an error before anything runs
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    output = Output()

    async def body() -> None:
        _, truncated = await replay_lines(paths, output, speed=pace)
        for path in truncated:
            print(
                f"trio-binance replay: note: {path} ends early (its recorder was stopped "
                "abruptly); replayed up to its last flush",
                file=sys.stderr,
            )

    trio.run(run_until_signal, body)
