"""``ThreadedWebsocketManager``: a synchronous, callback-based façade for non-async programs.

Trio runs in a dedicated thread (``trio.run`` inside a :class:`threading.Thread`)
holding one :func:`~trio_binance.open_binance_streams` manager.  The caller's
threads talk to it only through ``trio.from_thread`` with the run's
:class:`trio.lowlevel.TrioToken`; no event loop of the caller's is created, looked
up or run.  Each socket has one listener task in a nursery inside the manager's
block; it drains its handle in batches and runs the user's callback in a worker
thread (``trio.to_thread.run_sync``), so the Trio thread never runs user code and
keeps answering pings however slow a callback is.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, final

import trio

from ._depth_cache import DepthCacheHandle
from ._endpoints import Endpoints
from ._engine import HandleOptions
from ._enums import (
    KLINE_INTERVAL_1MINUTE,
    ContractType,
    ContractTypeLike,
    FuturesType,
    FuturesTypeLike,
)
from ._handle import StreamHandle
from ._manager import BinanceSocketManager, _transport_for, open_binance_streams
from ._settings import Settings
from ._transport import Transport

if TYPE_CHECKING:
    import asyncio

__all__ = ["ThreadedWebsocketManager"]

logger = logging.getLogger("trio_binance")

Callback = Callable[[Any], object]
"""A synchronous callable taking one decoded message (its return value is ignored)."""

# Marks the worker threads currently running callbacks of a manager, so that
# ``stop()`` and ``join()`` called from a callback do not wait for themselves.
_in_callback = threading.local()


def _is_async_callable(obj: object) -> bool:
    """True for ``async def`` functions (and partials of them) and async ``__call__`` objects."""
    if inspect.iscoroutinefunction(obj):
        return True
    return callable(obj) and inspect.iscoroutinefunction(type(obj).__call__)


def _consumed(streams: Iterable[str]) -> object:
    """Iterate a user's iterable (a generator, say) in the caller's thread, not Trio's.

    Strings and non-iterables are passed on for the manager to reject.
    """
    value: object = streams
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return list(value)


class _Socket:
    """One started socket: its handle, callback and listener's cancel scope."""

    __slots__ = ("active", "callback", "handle", "name", "scope")

    def __init__(
        self, name: str, callback: Callback, handle: StreamHandle | DepthCacheHandle
    ) -> None:
        self.name = name
        self.callback = callback
        self.handle = handle
        self.scope = trio.CancelScope()
        # Read by the callback worker thread between messages; written in the Trio
        # thread.  False once the socket is stopped: no further callback starts.
        self.active = True


@final
class ThreadedWebsocketManager:
    """Binance streams for synchronous programs: callbacks instead of ``async for``.

    A port of python-binance's ``ThreadedWebsocketManager``: the same
    ``start_<x>_socket(callback, ...)`` methods with the same parameters and defaults,
    ``stop_socket(name)``, ``stop()`` and ``join()``.  Trio runs in a thread of its
    own; your event loop (asyncio or other) is never touched.

    Example::

        def handle(msg):
            print(msg["p"], msg["q"])

        with ThreadedWebsocketManager() as twm:
            twm.start_trade_socket(handle, "BTCUSDT")
            twm.join()  # Ctrl-C leaves the block, which stops everything

    Callbacks:
        Each socket's callback runs in a worker thread, never in the Trio thread and
        never in yours.  Calls for one socket are serialised and in arrival order;
        different sockets' callbacks may run at the same time.  A callback that raises
        is logged (``trio_binance`` logger, with traceback) and delivery continues.
        When a socket fails (``StreamRejected``, ``QueueOverflow``,
        ``StreamUnavailable``...) its callback is called once with python-binance's
        error shape ``{"e": "error", "type": <exception class name>, "m": <message>}``
        and the socket ends; its name is free again.  Async callbacks are not
        supported (``TypeError``).  The worker threads come from Trio's thread cache:
        daemon threads that sit idle for a few seconds after use, then exit.

    Names:
        Every ``start_*`` method returns the socket's name: its stream names joined
        with ``/``, with a ``#n`` suffix when that name is already running, for user
        data sockets too.  Pass it to :meth:`stop_socket`.

    Lifetime:
        A manager runs once: :meth:`start` (or ``with``), then :meth:`stop`.  When
        :meth:`stop` returns, every socket is closed, no callback is running and the
        Trio thread has ended.  Make a new manager to start again.

    Args:
        api_key: Binance API key, for user-data sockets.
        api_secret: API secret (HMAC) or PEM private key, for user-data sockets.
        requests_params: Ignored; accepted so python-binance code ports unchanged.
        tld: Top-level domain of the production endpoints (``"com"``, ``"us"``...).
        testnet: Use Binance's testnet endpoints.
        session_params: Ignored (python-binance's aiohttp session options).
        https_proxy: An HTTP proxy, ``http://[user:password@]host[:port]``, for every
            connection and REST call (see :func:`~trio_binance.open_binance_streams`).
        loop: Ignored, with a warning logged.  python-binance ran the given (or the
            caller's default) asyncio loop in its thread; this manager runs Trio in a
            thread of its own and never uses a loop of yours.
        max_queue_size: Buffer size of each socket's handle (see
            :func:`~trio_binance.open_binance_streams`).
        demo: Use Binance's demo-mode endpoints.
        endpoints: Explicit :class:`~trio_binance.Endpoints` (override ``tld``,
            ``testnet`` and ``demo``), e.g. a fake exchange's.
        transport: How connections reach the exchange (the network by default).
        settings: Timeouts, margins and limits (:class:`~trio_binance.Settings`).

    Raises:
        ValueError: An argument is invalid (checked here, before any thread starts).
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        requests_params: dict[str, Any] | None = None,
        tld: str = "com",
        testnet: bool = False,
        session_params: dict[str, Any] | None = None,
        https_proxy: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        max_queue_size: int = 100,
        *,
        demo: bool = False,
        endpoints: Endpoints | None = None,
        transport: Transport | None = None,
        settings: Settings | None = None,
    ) -> None:
        for label, value in (("api_key", api_key), ("api_secret", api_secret)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{label} must be a str or None, got {type(value).__name__}")
        for label, flag in (("testnet", testnet), ("demo", demo)):
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
        if loop is not None:
            logger.warning(
                "ThreadedWebsocketManager ignores loop: Trio runs in a thread of its own"
            )

        self._api_key = api_key
        self._api_secret = api_secret
        self._endpoints = endpoints if endpoints is not None else selected
        self._transport = transport
        self._settings = settings
        self._max_queue_size = max_queue_size

        # Shared between threads, guarded by _lock.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
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
        return f"<ThreadedWebsocketManager {status} sockets={len(self._sockets)}>"

    # ------------------------------------------------------------------ lifetime

    def start(self) -> None:
        """Start the Trio thread and wait until its stream manager is ready.

        Raises:
            RuntimeError: Already started (or stopped); a manager runs once.
            Exception: Whatever prevented the manager from starting, re-raised here.
        """
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("ThreadedWebsocketManager.start() may be called only once")
            if self._stop_requested:
                raise RuntimeError("a stopped ThreadedWebsocketManager cannot be started")
            self._thread = threading.Thread(
                target=self._run, name="trio_binance ThreadedWebsocketManager", daemon=True
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
        """Stop every socket, end the Trio thread and wait for it.

        Idempotent, and a no-op before :meth:`start`.  It waits for callbacks already
        running (at most one per socket; the rest of their batch is skipped), closes
        every connection with a bounded close, and joins the thread.  Called from a
        callback, it requests the stop and returns at once (joining there would wait
        for the callback itself); the manager ends once that callback returns.
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
        """Wait until the Trio thread ends (after :meth:`stop`, or a fatal error).

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
                Check :meth:`is_alive` afterwards to tell whether it ended.

        Raises:
            RuntimeError: Not started, or called from one of this manager's
                callbacks (which the thread would wait for).
        """
        thread = self._thread
        if thread is None:
            raise RuntimeError("cannot join a ThreadedWebsocketManager before start()")
        if self._called_from_callback():
            raise RuntimeError("cannot join a ThreadedWebsocketManager from its own callback")
        thread.join(timeout)

    def is_alive(self) -> bool:
        """True while the Trio thread runs (from :meth:`start` until it has stopped)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def __enter__(self) -> ThreadedWebsocketManager:
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
                logger.error("ThreadedWebsocketManager stopped by an error", exc_info=exc)
            else:
                self._startup_error = exc
        finally:
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
                nursery.cancel_scope.cancel(reason="ThreadedWebsocketManager.stop()")

    def _request_stop(self) -> None:
        self._stopping = True
        for sock in self._sockets.values():
            sock.active = False
        if self._stop_event is not None:
            self._stop_event.set()

    def _open_socket(self, method_name: str, callback: Callback, params: dict[str, Any]) -> str:
        bsm, nursery = self._bsm, self._nursery
        if self._stopping or bsm is None or nursery is None:
            raise RuntimeError("ThreadedWebsocketManager is not running (it is stopping)")
        method = getattr(bsm, method_name, None)
        if method is None:
            raise NotImplementedError(
                f"BinanceSocketManager.{method_name}() is not available in this version"
            )
        handle: StreamHandle | DepthCacheHandle = method(**params)  # ValueError on bad input
        base = handle.name or method_name.removesuffix("_socket")
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
        thread_name = f"trio_binance callback {sock.name}"
        error: Exception | None = None
        with sock.scope:
            try:
                async with handle:
                    while True:
                        if isinstance(handle, DepthCacheHandle):
                            # The live book changes in this thread: callbacks get copies.
                            batch = [(await handle.receive()).copy()]
                        else:
                            batch = await handle.receive_batch()
                        await trio.to_thread.run_sync(
                            self._deliver, sock, batch, thread_name=thread_name
                        )
            except trio.EndOfChannel:
                pass  # the manager is closing
            except Exception as exc:  # the handle failed: rejected, overflow, unavailable...
                error = exc
        if self._sockets.get(sock.name) is sock:
            del self._sockets[sock.name]  # free the name before the callback hears of it
        if error is not None and sock.active:
            logger.warning("socket %s ended: %s: %s", sock.name, type(error).__name__, error)
            notice = {"e": "error", "type": type(error).__name__, "m": str(error)}
            await trio.to_thread.run_sync(self._deliver, sock, [notice], thread_name=thread_name)
        sock.active = False

    # ---------------------------------------------------------- worker threads

    def _deliver(self, sock: _Socket, batch: list[Any]) -> None:
        """Run ``sock``'s callback on each message of ``batch`` (in a worker thread)."""
        previous = getattr(_in_callback, "manager", None)
        _in_callback.manager = self
        try:
            for message in batch:
                if not sock.active:
                    return
                try:
                    result = sock.callback(message)
                except Exception:
                    logger.exception("callback of socket %s raised; delivery continues", sock.name)
                    continue
                if inspect.iscoroutine(result):
                    result.close()
                    logger.error(
                        "callback of socket %s returned a coroutine; async callbacks are "
                        "not supported, it was not run",
                        sock.name,
                    )
        finally:
            _in_callback.manager = previous

    # ------------------------------------------------------------ caller side

    def _start(self, method_name: str, callback: Callback, **params: Any) -> str:
        """Open ``BinanceSocketManager.<method_name>(**params)`` and deliver it to ``callback``.

        Runs in the caller's thread; the socket is opened in the Trio thread, so that
        the manager's ``ValueError`` for bad input is raised here.

        Returns:
            The socket's unique name.

        Raises:
            ValueError: The manager refused the arguments.
            TypeError: ``callback`` is not callable, or is async.
            RuntimeError: The manager is not running.
            NotImplementedError: ``BinanceSocketManager`` has no such method.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        if _is_async_callable(callback):
            raise TypeError(
                "async callbacks are not supported by ThreadedWebsocketManager; pass a "
                "plain function, or use open_binance_streams() in a Trio program"
            )
        with self._lock:
            token, finished = self._token, self._finished
        if finished:
            raise RuntimeError("ThreadedWebsocketManager is not running (it has stopped)")
        if token is None:
            raise RuntimeError("ThreadedWebsocketManager is not running (call start() first)")
        try:
            return trio.from_thread.run_sync(
                self._open_socket, method_name, callback, params, trio_token=token
            )
        except trio.RunFinishedError:
            raise RuntimeError("ThreadedWebsocketManager is not running") from None

    def stop_socket(self, name: str) -> None:
        """Stop one socket: no callback of it starts after this returns.

        Closing its handle unsubscribes its streams (when no other socket uses them).
        Idempotent; an unknown name, or a manager that is not running, is a no-op.

        Args:
            name: A name returned by a ``start_*`` method.
        """
        with self._lock:
            token = None if self._finished else self._token
        if token is None:
            return
        try:
            trio.from_thread.run_sync(self._stop_socket, name, trio_token=token)
        except trio.RunFinishedError:
            pass

    # ------------------------------------------------------------ spot streams

    def start_depth_socket(
        self,
        callback: Callback,
        symbol: str,
        depth: str | int | None = None,
        interval: int | None = None,
    ) -> str:
        """Spot order book: diffs, or a partial book if ``depth`` is 5, 10 or 20.

        See :meth:`BinanceSocketManager.depth_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol, depth or interval.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("depth_socket", callback, symbol=symbol, depth=depth, interval=interval)

    def start_kline_socket(
        self, callback: Callback, symbol: str, interval: str = KLINE_INTERVAL_1MINUTE
    ) -> str:
        """Spot candlesticks; see :meth:`BinanceSocketManager.kline_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or interval.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("kline_socket", callback, symbol=symbol, interval=interval)

    def start_miniticker_socket(self, callback: Callback, update_time: int = 1000) -> str:
        """Spot mini tickers of every symbol; see :meth:`BinanceSocketManager.miniticker_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: ``update_time`` is not 1000.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("miniticker_socket", callback, update_time=update_time)

    def start_trade_socket(self, callback: Callback, symbol: str) -> str:
        """Spot trades; see :meth:`BinanceSocketManager.trade_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("trade_socket", callback, symbol=symbol)

    def start_aggtrade_socket(self, callback: Callback, symbol: str) -> str:
        """Spot aggregate trades; see :meth:`BinanceSocketManager.aggtrade_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("aggtrade_socket", callback, symbol=symbol)

    def start_symbol_miniticker_socket(self, callback: Callback, symbol: str) -> str:
        """Spot mini ticker of one symbol.

        See :meth:`BinanceSocketManager.symbol_miniticker_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("symbol_miniticker_socket", callback, symbol=symbol)

    def start_symbol_ticker_socket(self, callback: Callback, symbol: str) -> str:
        """Spot 24 h ticker of one symbol; see :meth:`BinanceSocketManager.symbol_ticker_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("symbol_ticker_socket", callback, symbol=symbol)

    def start_ticker_socket(self, callback: Callback) -> str:
        """Spot all-market tickers, ``!ticker@arr``: retired by Binance.

        Kept so that ported code fails loudly; see
        :meth:`BinanceSocketManager.ticker_socket` for the replacements.

        Raises:
            RetiredStreamError: Always (a ``ValueError``).
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("ticker_socket", callback)

    def start_symbol_book_ticker_socket(self, callback: Callback, symbol: str) -> str:
        """Spot best bid and ask of one symbol, real time.

        See :meth:`BinanceSocketManager.symbol_book_ticker_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("symbol_book_ticker_socket", callback, symbol=symbol)

    def start_book_ticker_socket(self, callback: Callback) -> str:
        """Spot all-market book tickers, ``!bookTicker``: removed by Binance.

        Kept so that ported code fails loudly; use :meth:`start_symbol_book_ticker_socket`.

        Raises:
            RetiredStreamError: Always (a ``ValueError``).
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("book_ticker_socket", callback)

    def start_multiplex_socket(self, callback: Callback, streams: Iterable[str]) -> str:
        """Several spot streams by name; messages are ``{"stream", "data"}`` envelopes.

        See :meth:`BinanceSocketManager.multiplex_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Empty list or a malformed or retired stream name.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("multiplex_socket", callback, streams=_consumed(streams))

    # --------------------------------------------------------- futures streams

    def start_kline_futures_socket(
        self,
        callback: Callback,
        symbol: str,
        interval: str = KLINE_INTERVAL_1MINUTE,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        contract_type: ContractTypeLike = ContractType.PERPETUAL,
    ) -> str:
        """Continuous-contract candlesticks; see :meth:`BinanceSocketManager.kline_futures_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad pair, interval, futures type or contract type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "kline_futures_socket",
            callback,
            symbol=symbol,
            interval=interval,
            futures_type=futures_type,
            contract_type=contract_type,
        )

    def start_aggtrade_futures_socket(
        self, callback: Callback, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> str:
        """Futures aggregate trades; see :meth:`BinanceSocketManager.aggtrade_futures_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "aggtrade_futures_socket", callback, symbol=symbol, futures_type=futures_type
        )

    def start_index_price_socket(self, callback: Callback, symbol: str, fast: bool = True) -> str:
        """COIN-M index price of a pair; see :meth:`BinanceSocketManager.index_price_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad pair.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("index_price_socket", callback, symbol=symbol, fast=fast)

    def start_symbol_mark_price_socket(
        self,
        callback: Callback,
        symbol: str,
        fast: bool = True,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Mark price of one contract; see :meth:`BinanceSocketManager.symbol_mark_price_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "symbol_mark_price_socket",
            callback,
            symbol=symbol,
            fast=fast,
            futures_type=futures_type,
        )

    def start_all_mark_price_socket(
        self,
        callback: Callback,
        fast: bool = True,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Mark prices of every contract; see :meth:`BinanceSocketManager.all_mark_price_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("all_mark_price_socket", callback, fast=fast, futures_type=futures_type)

    def start_symbol_ticker_futures_socket(
        self, callback: Callback, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> str:
        """Best bid and ask of one contract (python-binance's name for the book ticker).

        See :meth:`BinanceSocketManager.symbol_ticker_futures_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "symbol_ticker_futures_socket", callback, symbol=symbol, futures_type=futures_type
        )

    def start_individual_symbol_ticker_futures_socket(
        self, callback: Callback, symbol: str, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> str:
        """24 h ticker of one contract.

        See :meth:`BinanceSocketManager.individual_symbol_ticker_futures_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "individual_symbol_ticker_futures_socket",
            callback,
            symbol=symbol,
            futures_type=futures_type,
        )

    def start_all_ticker_futures_socket(
        self, callback: Callback, futures_type: FuturesTypeLike = FuturesType.USD_M
    ) -> str:
        """Book tickers of every contract, ``!bookTicker``.

        See :meth:`BinanceSocketManager.all_ticker_futures_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("all_ticker_futures_socket", callback, futures_type=futures_type)

    def start_futures_depth_socket(
        self,
        callback: Callback,
        symbol: str,
        depth: str | int = "10",
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Futures partial book; see :meth:`BinanceSocketManager.futures_depth_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol, depth or futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "futures_depth_socket",
            callback,
            symbol=symbol,
            depth=depth,
            futures_type=futures_type,
        )

    def start_futures_multiplex_socket(
        self,
        callback: Callback,
        streams: Iterable[str],
        futures_type: FuturesTypeLike = FuturesType.USD_M,
    ) -> str:
        """Several futures streams by name; messages are ``{"stream", "data"}`` envelopes.

        See :meth:`BinanceSocketManager.futures_multiplex_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Empty list, a malformed name or a bad futures type.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "futures_multiplex_socket",
            callback,
            streams=_consumed(streams),
            futures_type=futures_type,
        )

    # --------------------------------------------------------- options streams

    def start_options_ticker_socket(self, callback: Callback, symbol: str) -> str:
        """24 h ticker of one option; see :meth:`BinanceSocketManager.options_ticker_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("options_ticker_socket", callback, symbol=symbol)

    def start_options_ticker_by_expiration_socket(
        self, callback: Callback, symbol: str, expiration_date: str
    ) -> str:
        """Tickers of every option of one underlying and expiry.

        See :meth:`BinanceSocketManager.options_ticker_by_expiration_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad underlying or expiration date.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "options_ticker_by_expiration_socket",
            callback,
            symbol=symbol,
            expiration_date=expiration_date,
        )

    def start_options_recent_trades_socket(self, callback: Callback, symbol: str) -> str:
        """Option trades; see :meth:`BinanceSocketManager.options_recent_trades_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("options_recent_trades_socket", callback, symbol=symbol)

    def start_options_kline_socket(
        self, callback: Callback, symbol: str, interval: str = KLINE_INTERVAL_1MINUTE
    ) -> str:
        """Option candlesticks; see :meth:`BinanceSocketManager.options_kline_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or interval.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("options_kline_socket", callback, symbol=symbol, interval=interval)

    def start_options_depth_socket(
        self, callback: Callback, symbol: str, depth: str | int = "10"
    ) -> str:
        """Option partial book; see :meth:`BinanceSocketManager.options_depth_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or depth.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("options_depth_socket", callback, symbol=symbol, depth=depth)

    # ------------------------------------------------------------ order books

    def start_depth_cache(
        self,
        callback: Callback,
        symbol: str,
        limit: int = 500,
        ws_interval: int | None = None,
        *,
        conv_type: Callable[[str], Any] = float,
        refresh_interval: float | None = None,
    ) -> str:
        """A local spot order book; ``callback`` gets a copy of it after each update.

        See :meth:`BinanceSocketManager.depth_cache` (python-binance's
        ``ThreadedDepthCacheManager.start_depth_cache``, with a full-depth default).

        Returns:
            The socket's name, ``<symbol>@depth[@100ms]+book``.

        Raises:
            ValueError: Bad symbol, limit, interval or option.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "depth_cache",
            callback,
            symbol=symbol,
            limit=limit,
            ws_interval=ws_interval,
            conv_type=conv_type,
            refresh_interval=refresh_interval,
        )

    def start_futures_depth_cache(
        self,
        callback: Callback,
        symbol: str,
        limit: int = 1000,
        speed: str | int | None = None,
        futures_type: FuturesTypeLike = FuturesType.USD_M,
        *,
        conv_type: Callable[[str], Any] = float,
        refresh_interval: float | None = None,
    ) -> str:
        """A local futures order book; see :meth:`BinanceSocketManager.futures_depth_cache`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol, limit, speed, futures type or option.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "futures_depth_cache",
            callback,
            symbol=symbol,
            limit=limit,
            speed=speed,
            futures_type=futures_type,
            conv_type=conv_type,
            refresh_interval=refresh_interval,
        )

    def start_options_depth_cache(
        self,
        callback: Callback,
        symbol: str,
        limit: int = 1000,
        speed: str | int = "500ms",
        *,
        conv_type: Callable[[str], Any] = float,
        refresh_interval: float | None = None,
    ) -> str:
        """A local options order book; see :meth:`BinanceSocketManager.options_depth_cache`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol, limit, speed or option.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start(
            "options_depth_cache",
            callback,
            symbol=symbol,
            limit=limit,
            speed=speed,
            conv_type=conv_type,
            refresh_interval=refresh_interval,
        )

    def start_options_multiplex_socket(self, callback: Callback, streams: Iterable[str]) -> str:
        """Several options streams by name; messages are ``{"stream", "data"}`` envelopes.

        See :meth:`BinanceSocketManager.options_multiplex_socket`.

        Returns:
            The socket's name.

        Raises:
            ValueError: Empty list or a malformed name.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("options_multiplex_socket", callback, streams=_consumed(streams))

    # ------------------------------------------------------- user-data streams

    def start_user_socket(self, callback: Callback) -> str:
        """Spot account events (needs ``api_key`` and ``api_secret``).

        Returns:
            The socket's name (never ``None``, unlike python-binance).

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("user_socket", callback)

    def start_margin_socket(self, callback: Callback) -> str:
        """Cross-margin account events (needs ``api_key`` and ``api_secret``).

        Returns:
            The socket's name.

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("margin_socket", callback)

    def start_isolated_margin_socket(self, callback: Callback, symbol: str) -> str:
        """Isolated-margin account events of ``symbol`` (needs credentials).

        Returns:
            The socket's name.

        Raises:
            ValueError: Bad symbol or missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("isolated_margin_socket", callback, symbol=symbol)

    def start_futures_user_socket(self, callback: Callback) -> str:
        """USD-M futures account events (needs ``api_key`` and ``api_secret``).

        Returns:
            The socket's name.

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("futures_user_socket", callback)

    def start_futures_socket(self, callback: Callback) -> str:
        """USD-M futures account events (python-binance's older name).

        Returns:
            The socket's name.

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("futures_socket", callback)

    def start_coin_futures_user_socket(self, callback: Callback) -> str:
        """COIN-M futures account events (needs ``api_key`` and ``api_secret``).

        Returns:
            The socket's name.

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("coin_futures_user_socket", callback)

    def start_coin_futures_socket(self, callback: Callback) -> str:
        """COIN-M futures account events (python-binance's older name).

        Returns:
            The socket's name.

        Raises:
            ValueError: Missing credentials.
            TypeError: ``callback`` is not a plain callable.
            RuntimeError: The manager is not running.
        """
        return self._start("coin_futures_socket", callback)
