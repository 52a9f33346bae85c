"""What the threaded managers share: a Trio thread, a callback thread, sockets by name.

Trio runs in a dedicated thread (``trio.run`` inside a :class:`threading.Thread`)
holding one :func:`~trio_binance.open_binance_streams` manager.  The caller's
threads talk to it only through ``trio.from_thread`` with the run's
:class:`trio.lowlevel.TrioToken`; no event loop of the caller's is created, looked
up or run.  Each socket has one listener task in a nursery inside the manager's
block: it takes its handle's messages in batches and hands each batch to the
manager's :class:`~trio_binance._callbacks.CallbackLoop`, the one thread where all
the manager's callbacks run (as in python-binance), then waits for it without
blocking the Trio thread, which keeps answering pings however slow a callback is.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import trio

from ._callbacks import CallbackErrors, CallbackLoop
from ._depth_cache import DepthCacheHandle
from ._endpoints import Endpoints
from ._engine import HandleOptions
from ._enums import FuturesType, FuturesTypeLike
from ._handle import StreamHandle
from ._manager import BinanceSocketManager, _transport_for, open_binance_streams
from ._order_book import DepthCache, NumberT
from ._settings import Settings
from ._streams import validate_time_unit
from ._transport import Transport
from .messages import ErrorMessage

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Callback", "ThreadedManager"]

logger = logging.getLogger("trio_binance")

M = TypeVar("M")

Callback: TypeAlias = Callable[[M], object]
"""A callable taking one message ``M``: a plain function, or an ``async def`` one (awaited).

``M`` is the socket's message type (see :mod:`trio_binance.messages`), with
:class:`~trio_binance.messages.ErrorMessage`: what the callback gets if the socket fails.
"""

Handle: TypeAlias = StreamHandle[Any] | DepthCacheHandle[Any]
Opener: TypeAlias = Callable[[BinanceSocketManager], Handle]
"""Opens a socket's handle from the manager (runs in the Trio thread)."""
Namer: TypeAlias = Callable[[Handle], str]
"""Names a socket from its handle (runs in the Trio thread)."""

# Marks the threads that run a manager's callbacks, so that ``stop()`` and ``join()``
# called from a callback do not wait for themselves.
_in_callback = threading.local()


def consumed(streams: Iterable[str]) -> object:
    """Iterate a user's iterable (a generator, say) in the caller's thread, not Trio's.

    Strings and non-iterables are passed on for the manager to reject.
    """
    value: object = streams
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return list(value)


class _Socket:
    """One started socket: its handle, callback, error report and listener's scope."""

    __slots__ = ("active", "callback", "errors", "failed", "handle", "name", "scope")

    def __init__(self, name: str, callback: Callback[Any], handle: Handle) -> None:
        self.name = name
        self.callback = callback
        self.handle = handle
        self.scope = trio.CancelScope()
        self.errors = CallbackErrors(name)
        # Read in the callback thread between messages, written in the Trio thread.
        # False once the socket is stopped: no further callback starts.
        self.active = True
        # Set in the callback thread when the callback raised and the manager stops
        # sockets on callback errors.
        self.failed = False


class ThreadedManager:
    """The lifetime, threads and sockets of a threaded manager (see the subclasses),
    and the order books both have.

    Keyword-only arguments are validated here, before any thread starts; the
    subclasses give them python-binance's order.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        api_secret: str | None,
        tld: str,
        testnet: bool,
        https_proxy: str | None,
        max_queue_size: int,
        demo: bool,
        endpoints: Endpoints | None,
        transport: Transport | None,
        settings: Settings | None,
        time_unit: str | None,
        verbose: bool,
        stop_socket_on_callback_error: bool,
    ) -> None:
        for label, value in (("api_key", api_key), ("api_secret", api_secret)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{label} must be a str or None, got {type(value).__name__}")
        for label, flag in (
            ("testnet", testnet),
            ("demo", demo),
            ("verbose", verbose),
            ("stop_socket_on_callback_error", stop_socket_on_callback_error),
        ):
            if not isinstance(flag, bool):
                raise ValueError(f"{label} must be a bool, got {flag!r}")
        if not isinstance(tld, str):
            raise ValueError(f"tld must be a str such as 'com' or 'us', got {tld!r}")
        selected = Endpoints.select(tld=tld, testnet=testnet, demo=demo)
        if endpoints is not None and not isinstance(endpoints, Endpoints):
            raise ValueError(
                f"endpoints must be an Endpoints instance, got {type(endpoints).__name__}"
            )
        transport = _transport_for(transport, https_proxy)
        if settings is not None and not isinstance(settings, Settings):
            raise ValueError(f"settings must be a Settings instance, got {type(settings).__name__}")
        if isinstance(max_queue_size, bool):
            raise ValueError(f"max_queue_size must be an int >= 1, got {max_queue_size!r}")
        HandleOptions(max_queue_size=max_queue_size)  # validates it

        self._api_key = api_key
        self._api_secret = api_secret
        self._endpoints = endpoints if endpoints is not None else selected
        self._transport = transport
        self._settings = settings
        self._max_queue_size = max_queue_size
        self._time_unit = validate_time_unit(time_unit)
        self.verbose = verbose
        """Whether the ``trio_binance`` logger was set to DEBUG (python-binance's attribute)."""
        self._stop_on_callback_error = stop_socket_on_callback_error
        if verbose:  # at construction, as python-binance's threaded managers do
            logging.getLogger("trio_binance").setLevel(logging.DEBUG)

        # Shared between threads, guarded by _lock.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._callbacks: CallbackLoop | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop_requested = False
        self._finished = False
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

        # Trio-thread state (set before _token is published).
        self._bsm: BinanceSocketManager | None = None
        self._nursery: trio.Nursery | None = None
        self._stop_event: trio.Event | None = None
        self._stopping = False
        self._sockets: dict[str, _Socket] = {}

    def __repr__(self) -> str:
        if self._thread is None:
            status = "stopped" if self._stop_requested else "not started"
        elif self.is_alive():
            status = "stopping" if self._stop_requested else "running"
        else:
            status = "stopped"
        return f"<{type(self).__name__} {status} sockets={len(self._sockets)}>"

    # ------------------------------------------------------------------ lifetime

    def start(self) -> None:
        """Start the Trio thread and wait until its stream manager is ready.

        Raises:
            RuntimeError: Already started (or stopped); a manager runs once.
            Exception: Whatever prevented the manager from starting, re-raised here.
        """
        kind = type(self).__name__
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{kind}.start() may be called only once")
            if self._stop_requested:
                raise RuntimeError(f"a stopped {kind} cannot be started")
            self._callbacks = CallbackLoop("trio_binance callbacks", _in_callback, self)
            self._thread = threading.Thread(
                target=self._run, name=f"trio_binance {kind}", daemon=True
            )
            self._thread.start()
        try:
            self._ready.wait()
        except BaseException:  # e.g. Ctrl-C while starting: do not leave the thread behind
            self.stop()
            raise
        error = self._startup_error
        if error is not None:
            self._thread.join()
            raise error

    def stop(self) -> None:
        """Stop every socket, end the manager's threads and wait for them.

        Idempotent, and a no-op before :meth:`start`.  It waits for a sync callback
        that is running (the rest of its batch is skipped) and cancels ``async``
        callbacks still pending, closes every connection with a bounded close, and
        joins the threads.  Called from a callback, it requests the stop and returns
        at once (joining there would wait for the callback itself); the manager ends
        once that callback returns.
        """
        with self._lock:
            self._stop_requested = True
            thread = self._thread
            token = self._token
        if thread is None:
            return
        if token is not None:
            try:
                trio.from_thread.run_sync(self._request_stop, trio_token=token)
            except trio.RunFinishedError:
                pass
        if not self._called_from_callback():
            thread.join()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the manager ends (after :meth:`stop`, or a fatal error).

        Ctrl-C while waiting here stops the manager cleanly (every socket closed, no
        callback running) and returns: no traceback, and the program carries on after
        ``join()``, usually to its end.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
                Check :meth:`is_alive` afterwards to tell whether it ended.

        Raises:
            RuntimeError: Not started, or called from one of this manager's
                callbacks (which the thread would wait for).
        """
        thread = self._thread
        if thread is None:
            raise RuntimeError(f"cannot join a {type(self).__name__} before start()")
        if self._called_from_callback():
            raise RuntimeError(f"cannot join a {type(self).__name__} from its own callback")
        try:
            thread.join(timeout)
        except KeyboardInterrupt:
            logger.info("Ctrl-C: stopping %s", type(self).__name__)
            self.stop()

    def is_alive(self) -> bool:
        """True while the Trio thread runs (from :meth:`start` until it has stopped)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _called_from_callback(self) -> bool:
        return getattr(_in_callback, "manager", None) is self

    # ------------------------------------------------------------ Trio thread

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:
            if self._ready.is_set():
                logger.error("%s stopped by an error", type(self).__name__, exc_info=exc)
            else:
                self._startup_error = exc
        finally:
            if self._callbacks is not None:
                self._callbacks.close()  # after every listener: no callback starts now
            with self._lock:
                self._finished = True
            self._ready.set()

    async def _main(self) -> None:
        async with open_binance_streams(
            self._api_key,
            self._api_secret,
            endpoints=self._endpoints,
            transport=self._transport,
            max_queue_size=self._max_queue_size,
            settings=self._settings,
            verbose=self.verbose,
            time_unit=self._time_unit,
        ) as bsm:
            async with trio.open_nursery() as nursery:
                self._bsm = bsm
                self._nursery = nursery
                self._stop_event = trio.Event()
                with self._lock:
                    self._token = trio.lowlevel.current_trio_token()
                    stop_now = self._stop_requested
                self._ready.set()
                if not stop_now:
                    await self._stop_event.wait()
                self._request_stop()
                nursery.cancel_scope.cancel(reason=f"{type(self).__name__}.stop()")

    def _request_stop(self) -> None:
        self._stopping = True
        for sock in self._sockets.values():
            sock.active = False
        if self._stop_event is not None:
            self._stop_event.set()

    def _open_socket(self, opener: Opener, callback: Callback[Any], namer: Namer) -> str:
        bsm, nursery = self._bsm, self._nursery
        if self._stopping or bsm is None or nursery is None:
            raise RuntimeError(f"{type(self).__name__} is not running (it is stopping)")
        handle = opener(bsm)  # ValueError on bad input
        base = namer(handle)
        name, n = base, 1
        while name in self._sockets:
            n += 1
            name = f"{base}#{n}"
        sock = _Socket(name, callback, handle)
        self._sockets[name] = sock
        nursery.start_soon(self._listen, sock, name=f"trio_binance threaded socket {name}")
        return name

    def _stop_socket(self, name: str) -> None:
        sock = self._sockets.pop(name, None)
        if sock is not None:
            sock.active = False
            sock.scope.cancel(reason="stop_socket()")

    async def _listen(self, sock: _Socket) -> None:
        """Feed one handle's messages to its callback until stopped or failed."""
        handle = sock.handle
        error: Exception | None = None
        try:
            with sock.scope:
                try:
                    async with handle:
                        while not sock.failed:
                            if isinstance(handle, DepthCacheHandle):
                                book = await handle.receive()
                                if book.update_time is None:
                                    # Synced from a spot snapshot, no event yet: python-binance
                                    # calls back after events, with an update time.
                                    continue
                                # The live book changes in this thread: callbacks get copies.
                                batch = [book.copy()]
                            else:
                                batch = await handle.receive_batch()
                            await self._run_callbacks(sock, batch)
                except trio.EndOfChannel:
                    pass  # the manager is closing
                except Exception as exc:  # the handle failed: rejected, overflow...
                    error = exc
            if self._sockets.get(sock.name) is sock:
                del self._sockets[sock.name]  # free the name before the callback hears of it
            if error is not None and sock.active:
                logger.warning("socket %s ended: %s: %s", sock.name, type(error).__name__, error)
                notice = {"e": "error", "type": type(error).__name__, "m": str(error)}
                await self._run_callbacks(sock, [notice])
        finally:
            sock.active = False
            # Report the callback's errors not yet summarised, in the callback thread
            # (which is still running: it is closed after every listener has ended).
            assert self._callbacks is not None
            loop = self._callbacks.loop
            loop.call_soon_threadsafe(lambda: sock.errors.flush(loop.time()))

    async def _run_callbacks(self, sock: _Socket, batch: list[Any]) -> None:
        """Run ``sock``'s callback on ``batch`` in the callback thread; wait for it."""
        callbacks = self._callbacks
        assert callbacks is not None
        future = callbacks.submit(self._deliver(sock, batch))
        done = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def wake(_: object) -> None:
            try:
                token.run_sync_soon(done.set)
            except trio.RunFinishedError:  # pragma: no cover - the manager ended meanwhile
                pass

        future.add_done_callback(wake)
        await done.wait()
        future.result()  # a failure here is a bug of ours: let it show

    # ----------------------------------------------------------- callback thread

    async def _deliver(self, sock: _Socket, batch: list[Any]) -> None:
        """Call ``sock``'s callback on each message of ``batch``, awaiting async ones."""
        for message in batch:
            if not sock.active or sock.failed:
                return
            try:
                result = sock.callback(message)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                if self._callback_failed(sock, exc):
                    return

    def _callback_failed(self, sock: _Socket, exc: Exception) -> bool:
        """Report a callback's error; True if the socket stops because of it."""
        loop = asyncio.get_running_loop()
        errors = sock.errors
        due = errors.record(exc, loop.time())
        if due is not None:
            loop.call_at(due, lambda: errors.flush(loop.time()))
        if not self._stop_on_callback_error:
            return False
        sock.failed = True
        logger.error(
            "socket %s stopped: its callback raised %s (stop_socket_on_callback_error)",
            sock.name,
            type(exc).__name__,
        )
        return True

    # ------------------------------------------------------------ caller side

    def _start_socket(self, callback: Callback[Any], opener: Opener, namer: Namer) -> str:
        """Open a handle with ``opener`` in the Trio thread and deliver it to ``callback``.

        Runs in the caller's thread; the handle is opened in the Trio thread, so that
        the manager's ``ValueError`` for bad input is raised here.

        Returns:
            The socket's unique name.

        Raises:
            ValueError: The manager refused the arguments.
            TypeError: ``callback`` is not callable.
            RuntimeError: The manager is not running.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        with self._lock:
            token, finished = self._token, self._finished
        kind = type(self).__name__
        if finished:
            raise RuntimeError(f"{kind} is not running (it has stopped)")
        if token is None:
            raise RuntimeError(f"{kind} is not running (call start() first)")
        try:
            return trio.from_thread.run_sync(
                self._open_socket, opener, callback, namer, trio_token=token
            )
        except trio.RunFinishedError:
            raise RuntimeError(f"{kind} is not running") from None

    def stop_socket(self, socket_name: str) -> None:
        """Stop one socket: no callback of it starts after this returns.

        Closing its handle unsubscribes its streams (when no other socket uses them).
        Idempotent; an unknown name, or a manager that is not running, is a no-op.

        Args:
            socket_name: A name returned by a ``start_*`` method.
        """
        with self._lock:
            token = None if self._finished else self._token
        if token is None:
            return
        try:
            trio.from_thread.run_sync(self._stop_socket, socket_name, trio_token=token)
        except trio.RunFinishedError:
            pass

    # ------------------------------------------------ order books (both managers)

    def _start_book(self, callback: Callback[Any], limit: int, bm: object, opener: Opener) -> str:
        """A depth cache, named as python-binance names it: ``<symbol>@depth<limit>``."""
        if bm is not None:
            logger.warning(
                "%s ignores bm: its books share the manager's connections already",
                type(self).__name__,
            )

        def namer(handle: Handle) -> str:
            assert isinstance(handle, DepthCacheHandle)
            return f"{handle.get_symbol().lower()}@depth{limit}"

        return self._start_socket(callback, opener, namer)

    def start_depth_cache(
        self,
        callback: Callback[DepthCache[NumberT] | ErrorMessage],
        symbol: str,
        refresh_interval: float | None = None,
        bm: object = None,
        limit: int = 10,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        ws_interval: int | None = 0,
    ) -> str:
        """A local spot order book (see :meth:`BinanceSocketManager.depth_cache`).

        python-binance's ``ThreadedDepthCacheManager.start_depth_cache``.

        Args:
            callback: Called with a copy of the book (a :class:`~trio_binance.DepthCache`)
                after each update.
            symbol: Spot symbol, e.g. ``"BNBBTC"``.
            refresh_interval: Rebuild from a new snapshot every this many seconds
                (``None`` or 0: only when the ids show a gap).
            bm: Ignored, with a warning logged: the books share the manager's
                connections already.
            limit: Snapshot levels per side, 1 to 5000 (python-binance's default,
                10, seeds only the top 10 levels; deeper ones appear as they change).
            conv_type: Converts price and quantity strings (``float``, ``Decimal``).
            ws_interval: Diff stream speed: 0 or ``None`` (1000 ms), or 100 (ms).

        Returns:
            The book's name, ``<symbol>@depth<limit>``.

        Raises:
            ValueError: A bad symbol, limit, interval or option.
            TypeError: ``callback`` is not callable.
            RuntimeError: The manager is not running.
        """

        def opener(bsm: BinanceSocketManager) -> Handle:
            return bsm.depth_cache(
                symbol,
                limit=limit,
                ws_interval=ws_interval,
                conv_type=conv_type,
                refresh_interval=refresh_interval,
            )

        return self._start_book(callback, limit, bm, opener)

    def start_futures_depth_cache(
        self,
        callback: Callback[DepthCache[NumberT] | ErrorMessage],
        symbol: str,
        refresh_interval: float | None = None,
        bm: object = None,
        limit: int = 10,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        speed: str | int | None = None,
    ) -> str:
        """A local USD-M or COIN-M book (see :meth:`BinanceSocketManager.futures_depth_cache`).

        python-binance's ``ThreadedDepthCacheManager.start_futures_depth_socket`` (on
        ``ThreadedWebsocketManager`` that name is the partial-book stream, as there).

        Args:
            callback: Called with a copy of the book after each update.
            symbol: Contract symbol, e.g. ``"BTCUSDT"``.
            refresh_interval: As in :meth:`start_depth_cache`.
            bm: As in :meth:`start_depth_cache`.
            limit: Snapshot levels per side: 5, 10, 20, 50, 100, 500 or 1000.
            conv_type: As in :meth:`start_depth_cache`.
            futures_type: Not in python-binance (USD-M only there): USD-M or COIN-M.
            speed: Not in python-binance: ``None`` (250 ms), ``"500ms"`` or ``"100ms"``.

        Returns:
            The book's name, ``<symbol>@depth<limit>``.

        Raises:
            ValueError: A bad symbol, limit, speed, futures type or option.
            TypeError: ``callback`` is not callable.
            RuntimeError: The manager is not running.
        """

        def opener(bsm: BinanceSocketManager) -> Handle:
            return bsm.futures_depth_cache(
                symbol,
                limit=limit,
                speed=speed,
                futures_type=futures_type,
                conv_type=conv_type,
                refresh_interval=refresh_interval,
            )

        return self._start_book(callback, limit, bm, opener)

    def start_options_depth_cache(
        self,
        callback: Callback[DepthCache[NumberT] | ErrorMessage],
        symbol: str,
        refresh_interval: float | None = None,
        bm: object = None,
        limit: int = 10,
        conv_type: Callable[[str], NumberT] = float,  # type: ignore[assignment]
        speed: str | int = "500ms",
    ) -> str:
        """A local options order book (see :meth:`BinanceSocketManager.options_depth_cache`).

        python-binance's ``ThreadedDepthCacheManager.start_options_depth_socket`` (on
        ``ThreadedWebsocketManager`` that name is the partial-book stream, as there).

        Args:
            callback: Called with a copy of the book after each update.
            symbol: Option symbol, e.g. ``"BTC-260327-100000-C"``.
            refresh_interval: As in :meth:`start_depth_cache`.
            bm: As in :meth:`start_depth_cache`.
            limit: Snapshot levels per side: 10, 20, 50, 100, 500 or 1000.
            conv_type: As in :meth:`start_depth_cache`.
            speed: Not in python-binance: ``"500ms"`` or ``"100ms"``.

        Returns:
            The book's name, ``<symbol>@depth<limit>``.

        Raises:
            ValueError: A bad symbol, limit, speed or option.
            TypeError: ``callback`` is not callable.
            RuntimeError: The manager is not running.
        """

        def opener(bsm: BinanceSocketManager) -> Handle:
            return bsm.options_depth_cache(
                symbol,
                limit=limit,
                speed=speed,
                conv_type=conv_type,
                refresh_interval=refresh_interval,
            )

        return self._start_book(callback, limit, bm, opener)
