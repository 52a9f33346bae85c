"""Parity with python-binance 1.0.37 that cannot drift: names, parameter order, defaults.

The reference is ``tests/_python_binance.py``: tables extracted from the released
package, compared with it here whenever python-binance is installed (skipped
otherwise).  Every public method of python-binance's ``BinanceSocketManager``,
``ThreadedWebsocketManager``, ``ThreadedDepthCacheManager``, ``DepthCache`` and depth
cache managers must exist here with the same parameters in the same order and the
same defaults.  What differs is listed below, each with its reason: members not
ported (:data:`NOT_PORTED`) and parameters added after python-binance's
(:data:`EXTENSIONS`).

``ThreadedWebsocketManager``'s wrappers are derived, not trusted: each
``start_<x>`` must take ``callback`` then ``BinanceSocketManager.<x>``'s parameters
(in python-binance's wrapper order where python-binance has the wrapper), with the
same defaults and annotations, and must pass every argument on.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import trio_binance
import trio_binance.enums
from trio_binance import (
    BinanceSocketManager,
    DepthCache,
    DepthCacheHandle,
    ThreadedDepthCacheManager,
    ThreadedWebsocketManager,
)
from trio_binance._threaded import SOCKET_SHAPES, Shape

from . import _python_binance as reference

OURS: dict[str, type] = {
    "BinanceSocketManager": BinanceSocketManager,
    "ThreadedWebsocketManager": ThreadedWebsocketManager,
    "ThreadedDepthCacheManager": ThreadedDepthCacheManager,
    "DepthCache": DepthCache,
    # python-binance's depth cache managers are this library's depth-cache handles.
    "DepthCacheManager": DepthCacheHandle,
    "FuturesDepthCacheManager": DepthCacheHandle,
    "OptionsDepthCacheManager": DepthCacheHandle,
}

_ASYNCIO_MACHINERY = (
    "the asyncio machinery of python-binance's manager thread (coroutines on its loop); "
    "here Trio runs in a thread of its own and none of it is public"
)
_MADE_BY_THE_MANAGER = (
    "made by bsm.depth_cache(symbol, ...) / futures_depth_cache / options_depth_cache: "
    "the manager takes the place of client, loop and bm (docs/migrating.md)"
)
_HOSTS = "hosts are Endpoints fields (production, testnet, demo, any local server)"
_URL_CONSTANTS = [
    f"{host}_{kind}URL"
    for host in ("STREAM", "FSTREAM", "DSTREAM")
    for kind in ("", "TESTNET_", "DEMO_")
]

NOT_PORTED: dict[tuple[str, str], str] = {
    ("BinanceSocketManager", "__init__"): (
        "made by open_binance_streams(...), which owns the nursery: no client; "
        "max_queue_size and verbose are its arguments, user_timeout is "
        "Settings.listen_key_keepalive (docs/migrating.md)"
    ),
    **{("BinanceSocketManager", name): _HOSTS for name in _URL_CONSTANTS},
    **{
        (manager, name): _ASYNCIO_MACHINERY
        for manager in ("ThreadedWebsocketManager", "ThreadedDepthCacheManager")
        for name in ("socket_listener", "start_listener", "stop_client")
    },
    **{
        (manager, "__init__"): _MADE_BY_THE_MANAGER
        for manager in ("DepthCacheManager", "FuturesDepthCacheManager", "OptionsDepthCacheManager")
    },
    **{
        (manager, "TIMEOUT"): (
            "python-binance's 60 s per recv(), after which it logs and tries again; a "
            "handle waits for the next update, and Settings.live_timeout bounds the start"
        )
        for manager in ("DepthCacheManager", "FuturesDepthCacheManager", "OptionsDepthCacheManager")
    },
}
"""python-binance members with no counterpart here, and why."""

_MANAGER_EXTRAS = (
    "demo (python-binance's clients have it, its threaded managers do not); endpoints "
    "and transport (a fake exchange, any local server); settings (timeouts; "
    "user_timeout is Settings.listen_key_keepalive); time_unit (python-binance's "
    "AsyncClient(time_unit=), which its threaded managers cannot pass); verbose "
    "(ThreadedApiManager's, which its subclasses do not pass on); "
    "stop_socket_on_callback_error (issue #14)"
)
_BSM_PARAMETER = (
    "a parameter BinanceSocketManager's method has and python-binance's wrapper does not pass on"
)
EXTENSIONS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("BinanceSocketManager", "futures_depth_socket"): (
        ("speed",),
        "Binance's 100, 250 and 500 ms partial-book speeds (python-binance: 250 only)",
    ),
    ("ThreadedWebsocketManager", "__init__"): (
        (
            "*",
            "demo",
            "endpoints",
            "transport",
            "settings",
            "time_unit",
            "verbose",
            "stop_socket_on_callback_error",
        ),
        _MANAGER_EXTRAS,
    ),
    ("ThreadedWebsocketManager", "start_futures_depth_socket"): (
        ("speed",),
        "BinanceSocketManager.futures_depth_socket's speed (above)",
    ),
    ("ThreadedWebsocketManager", "start_options_depth_socket"): (("speed",), _BSM_PARAMETER),
    ("ThreadedWebsocketManager", "start_all_ticker_futures_socket"): (
        ("channel",),
        _BSM_PARAMETER,
    ),
    ("ThreadedWebsocketManager", "start_futures_multiplex_socket"): (
        ("category",),
        _BSM_PARAMETER,
    ),
    ("ThreadedDepthCacheManager", "__init__"): (
        (
            "*",
            "https_proxy",
            "max_queue_size",
            "demo",
            "endpoints",
            "transport",
            "settings",
            "time_unit",
            "verbose",
            "stop_socket_on_callback_error",
        ),
        "https_proxy and max_queue_size as ThreadedWebsocketManager has them; " + _MANAGER_EXTRAS,
    ),
    ("ThreadedDepthCacheManager", "start_futures_depth_socket"): (
        ("futures_type", "speed"),
        "COIN-M books and Binance's diff-stream speeds (python-binance: USD-M, 250 ms)",
    ),
    ("ThreadedDepthCacheManager", "start_options_depth_socket"): (
        ("speed",),
        "Binance's 100 and 500 ms options diff-stream speeds",
    ),
}
"""Parameters after python-binance's, and why: (their names, the reason)."""


def split(text: str) -> tuple[str, list[str]]:
    """``"async (a, b=1)"`` -> ``("async", ["a", "b=1"])``."""
    kind, _, params = text.rpartition("(")
    inner = params.removesuffix(")")
    return kind.strip(), [p for p in inner.split(", ") if p]


def our_member(cls: type, name: str) -> str | object:
    value = inspect.getattr_static(cls, name)
    if isinstance(value, staticmethod):
        return reference.signature_text(value.__func__, static=True)
    if inspect.isfunction(value):
        return reference.signature_text(value)
    return value


def reference_members() -> list[tuple[str, str, str]]:
    return [
        (cls, name, text)
        for cls, methods in reference.SIGNATURES.items()
        for name, text in methods.items()
        if (cls, name) not in NOT_PORTED
    ]


@pytest.mark.parametrize(
    ("cls", "name", "theirs"), reference_members(), ids=lambda v: v if "(" not in v else ""
)
def test_every_python_binance_method_has_its_signature_here(
    cls: str, name: str, theirs: str
) -> None:
    ours = our_member(OURS[cls], name)
    assert isinstance(ours, str), f"{cls}.{name} is missing"
    their_kind, their_params = split(theirs)
    our_kind, our_params = split(ours)
    assert our_kind == their_kind, f"{cls}.{name}: {ours} is not {theirs}"
    assert our_params[: len(their_params)] == their_params, f"{cls}.{name}: {ours} vs {theirs}"
    extras = our_params[len(their_params) :]
    declared = EXTENSIONS.get((cls, name), ((), ""))[0]
    assert [p.split("=")[0] for p in extras] == [d.removesuffix("=") for d in declared]
    assert all("=" in p for p in extras if p != "*"), f"{cls}.{name}: an extra lacks a default"


def test_every_declared_extension_and_omission_is_still_needed() -> None:
    """A stale entry would hide a future difference."""
    for cls, name in NOT_PORTED:
        assert name in reference.SIGNATURES[cls] or name in reference.CONSTANTS[cls]
    for cls, name in EXTENSIONS:
        assert name in reference.SIGNATURES[cls]


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (cls, name, value)
        for cls, constants in reference.CONSTANTS.items()
        for name, value in constants.items()
        if (cls, name) not in NOT_PORTED
    ],
)
def test_python_binance_constants(cls: str, name: str, value: object) -> None:
    assert getattr(OURS[cls], name) == value


def test_kline_intervals_where_python_binance_users_reach_them() -> None:
    """python-binance: on Client/AsyncClient and in binance.enums."""
    intervals = {
        name: getattr(trio_binance.enums, name)
        for name in trio_binance.enums.__all__
        if name.startswith("KLINE_INTERVAL_")
    }
    assert len(intervals) == 16 and intervals["KLINE_INTERVAL_1MONTH"] == "1M"
    for owner in (BinanceSocketManager, ThreadedWebsocketManager):
        assert all(getattr(owner, name) == value for name, value in intervals.items())


# --------------------------------------------------- ThreadedWebsocketManager's wrappers


def socket_methods() -> list[str]:
    return sorted(
        name
        for name, value in vars(BinanceSocketManager).items()
        | vars(trio_binance._stream_methods.StreamMethods).items()
        if name.endswith("_socket") and not name.startswith("_") and inspect.isfunction(value)
    )


def test_every_stream_method_has_a_wrapper_and_a_shape() -> None:
    assert sorted(SOCKET_SHAPES) == socket_methods()
    for name in socket_methods():
        assert callable(getattr(ThreadedWebsocketManager, f"start_{name}"))
    # python-binance's shapes, as extracted from the package.
    for name, mode in reference.URL_MODES.items():
        assert SOCKET_SHAPES[name].value == mode, name


def expected_wrapper(name: str) -> inspect.Signature:
    """``start_<name>``'s signature, derived from ``BinanceSocketManager.<name>``."""
    method = inspect.signature(getattr(BinanceSocketManager, name))
    params = {p.name: p for p in method.parameters.values() if p.name != "self"}
    theirs = reference.SIGNATURES["ThreadedWebsocketManager"].get(f"start_{name}")
    order = list(params)
    if theirs is not None:  # python-binance's wrapper order first, then what it lacks
        pb_order = [p.split("=")[0] for p in split(theirs)[1]][1:]
        order = pb_order + [p for p in params if p not in pb_order]
    # The callback takes what the method's handle yields, in the wrapper's shape, or
    # the error message a failed socket sends.
    returns = re.fullmatch(r"StreamHandle\[(.+) \| N_co\]", method.return_annotation)
    assert returns is not None, method.return_annotation
    message = returns[1]
    if SOCKET_SHAPES[name] is Shape.COMBINED:
        message = f"Envelope[{message}]"
    callback = inspect.Parameter(
        "callback",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=f"Callback[{message} | ErrorMessage]",
    )
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([self, callback, *(params[p] for p in order)], return_annotation="str")


@pytest.mark.parametrize("name", socket_methods())
def test_each_wrapper_is_derived_from_the_method_it_wraps(name: str) -> None:
    wrapper = inspect.signature(getattr(ThreadedWebsocketManager, f"start_{name}"))
    assert wrapper == expected_wrapper(name)  # names, order, kinds, defaults, annotations


@pytest.mark.parametrize("name", socket_methods())
def test_each_wrapper_says_the_shape_it_calls_back_with(name: str) -> None:
    doc = getattr(ThreadedWebsocketManager, f"start_{name}").__doc__ or ""
    envelopes = SOCKET_SHAPES[name] is not Shape.RAW
    assert ("envelopes" in doc, "bare" in doc) == (envelopes, not envelopes), doc


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Callable[[Any], object], dict[str, Any]]] = []

    def __call__(self, method_name: str, callback: Any, **params: Any) -> str:
        self.calls.append((method_name, callback, params))
        return "name"


@pytest.mark.parametrize("name", socket_methods())
def test_each_wrapper_passes_every_argument_on(name: str) -> None:
    twm = ThreadedWebsocketManager()
    recorder = _Recorder()
    twm._start = recorder  # type: ignore[method-assign]
    wrapper = getattr(twm, f"start_{name}")
    params = [p for p in inspect.signature(wrapper).parameters.values() if p.name != "callback"]
    sentinels = {p.name: object() for p in params}

    def callback(message: Any) -> None:  # pragma: no cover - never called
        pass

    assert wrapper(callback, **sentinels) == "name"
    positional = [sentinels[p.name] for p in params]
    assert wrapper(callback, *positional) == "name"
    for method_name, passed_callback, passed in recorder.calls:
        assert (method_name, passed_callback, passed) == (name, callback, sentinels)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("start_depth_cache", "start_depth_cache"),
        ("start_futures_depth_cache", "start_futures_depth_socket"),
        ("start_options_depth_cache", "start_options_depth_socket"),
    ],
)
def test_the_websocket_managers_books_take_the_depth_cache_managers_arguments(
    ours: str, theirs: str
) -> None:
    assert inspect.signature(getattr(ThreadedWebsocketManager, ours)) == inspect.signature(
        getattr(ThreadedDepthCacheManager, theirs)
    )


# ------------------------------------------------------- the reference itself


def test_the_reference_is_python_binance_1_0_37() -> None:
    """Regenerate with ``python -m tests._python_binance`` (needs ``.[bench]``)."""
    metadata = pytest.importorskip("importlib.metadata")
    try:
        installed = metadata.version("python-binance")
    except metadata.PackageNotFoundError:
        pytest.skip("python-binance is not installed (pip install -e '.[bench]')")
    if installed != reference.PYTHON_BINANCE_VERSION:
        pytest.skip(f"python-binance {installed} is installed, the reference is 1.0.37")
    signatures, constants, url_modes = reference.extract()
    assert signatures == reference.SIGNATURES
    assert constants == reference.CONSTANTS
    assert url_modes == reference.URL_MODES
