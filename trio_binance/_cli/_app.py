"""The ``trio-binance`` click group, and how errors become one line and an exit status."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import click

from .._exceptions import BinanceStreamError
from .._rest import BinanceAPIError
from .._version import __version__
from ..recording import RecordingError
from ._book import book
from ._common import CliError
from ._fake import fake
from ._record import record
from ._replay import replay
from ._stream import stream

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["cli", "run"]


_LOG_LEVELS = [logging.CRITICAL + 1, logging.WARNING, logging.INFO, logging.DEBUG]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trio-binance")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log the library's warnings on stderr (-vv: info, -vvv: debug).",
)
def cli(verbose: int) -> None:
    """Binance streams at the terminal: stream, record, replay, book, and a fake exchange.

    Every command takes --testnet, --demo, --tld and --endpoints FILE (a JSON
    object of Endpoints field names to URLs, as `trio-binance fake
    --endpoints-out FILE` writes).  Gaps show in the output itself; errors end the
    command with one line on stderr.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("trio-binance: %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(_LOG_LEVELS[min(verbose, len(_LOG_LEVELS) - 1)])


for _command in (stream, record, replay, book, fake):
    cli.add_command(_command)

#: Errors a user can cause: reported as one line, exit status 1.
_USER_ERRORS = (CliError, RecordingError, BinanceStreamError, BinanceAPIError, OSError, ValueError)


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (CliError, RecordingError, ValueError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


def run(argv: list[str] | None = None) -> int:
    """Run ``cli`` with ``argv``; errors become one line on stderr and an exit status.

    0: done (including stopped by SIGINT or SIGTERM); 1: an error at run time (bad
    stream, missing recording, unreachable endpoints file...); 2: a usage error.
    """
    try:
        cli.main(args=argv, prog_name="trio-binance", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return 0
    except click.UsageError as exc:
        command = f" {exc.ctx.command_path.partition(' ')[2]}" if exc.ctx else ""
        message = exc.format_message().replace("\n", " ")
        print(f"trio-binance{command.rstrip()}: error: {message}", file=sys.stderr)
        return 2
    except click.ClickException as exc:
        print(f"trio-binance: error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0  # a SIGINT before the command's own handler was in place
    except BaseException as exc:
        for leaf in _leaves(exc):
            if isinstance(leaf, _USER_ERRORS):
                message = " ".join(_describe(leaf).split())
                print(f"trio-binance: error: {message}", file=sys.stderr)
                return 1
        raise
    return 0
