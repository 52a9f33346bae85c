"""HTTP proxies: ``https_proxy=`` / ``NetworkTransport(proxy=...)``.

The proxy rules (URL forms, the ``CONNECT`` request, the answer) are tested on
their own; then streams, TLS and REST go through a loopback ``CONNECT`` proxy to
the fake exchange over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import base64
import dataclasses
import logging

import pytest
import trio

from trio_binance import (
    NetworkTransport,
    ProxyError,
    Settings,
    ThreadedWebsocketManager,
    open_binance_streams,
)
from trio_binance._socket_stream import HttpProxy, parse_connect_response
from trio_binance.testing import FakeBinance, open_fake_binance

from ._loopback import ConnectProxy, client_context, connect_proxy, tls_terminator

LIMIT = 10  # seconds: a bound on a hang, never waited out by a passing test
SECRET = "s3cr:et pass"
QUOTED_SECRET = "s3cr%3Aet%20pass"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ----------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://proxy.example:3128", "proxy.example", 3128),
        ("http://proxy.example", "proxy.example", 80),
        ("HTTP://proxy.example:8080/", "proxy.example", 8080),
        ("http://[::1]:3128", "::1", 3128),
    ],
)
def test_proxy_url_forms(url: str, host: str, port: int) -> None:
    proxy = HttpProxy(url)
    assert (proxy.host, proxy.port) == (host, port)
    request = proxy.connect_request("stream.binance.com", 9443)
    assert request == (
        b"CONNECT stream.binance.com:9443 HTTP/1.1\r\nHost: stream.binance.com:9443\r\n\r\n"
    )


def test_credentials_are_sent_decoded_and_never_shown() -> None:
    proxy = HttpProxy(f"http://us%40er:{QUOTED_SECRET}@proxy.example:3128")
    request = proxy.connect_request("::1", 443).decode()
    assert request.startswith("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n")
    assert f"Proxy-Authorization: {basic('us@er', SECRET)}\r\n" in request
    shown = repr(proxy) + repr(NetworkTransport(proxy=f"http://u:{QUOTED_SECRET}@p.example:1"))
    assert "s3cr" not in shown and "u:" not in shown
    assert "<credentials>" in shown


@pytest.mark.parametrize(
    "url",
    [
        "socks5://proxy.example:1080",
        "https://proxy.example:443",
        "proxy.example:3128",
        "http://:3128",
        "http://proxy.example:99999",
        "http://proxy.example:3128/path",
        f"http://user:{QUOTED_SECRET}@proxy.example:notaport",
    ],
)
def test_bad_proxy_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match="the proxy must be an http:// URL") as caught:
        NetworkTransport(proxy=url)
    assert "s3cr" not in str(caught.value)


def test_connect_answers() -> None:
    parse_connect_response(b"HTTP/1.1 200 Connection established\r\n\r\n", "p:1")
    parse_connect_response(b"HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n", "p:1")
    with pytest.raises(ProxyError, match=r"HTTP 407 Proxy Authentication Required.*credentials"):
        parse_connect_response(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "p:1")
    with pytest.raises(ProxyError, match="HTTP 403") as refused:
        parse_connect_response(b"HTTP/1.1 403 Forbidden\r\n\r\n", "p:1")
    assert refused.value.status == 403
    with pytest.raises(ProxyError, match="something other than HTTP") as garbage:
        parse_connect_response(b"SSH-2.0-OpenSSH\r\n\r\n", "p:1")
    assert garbage.value.status is None


async def test_bad_arguments_fail_before_any_io() -> None:
    with pytest.raises(ValueError, match="http:// URL"):
        async with open_binance_streams(https_proxy="socks5://proxy.example:1080"):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="either transport or https_proxy"):
        async with open_binance_streams(
            transport=NetworkTransport(), https_proxy="http://proxy.example:3128"
        ):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="http:// URL"):
        ThreadedWebsocketManager(https_proxy="ftp://proxy.example")


# --------------------------------------------------- through a loopback proxy


def fake_port(fake: FakeBinance) -> int:
    return int(fake.endpoints.spot_stream.split(":")[2].split("/")[0])


async def test_streams_go_through_the_proxy_with_credentials() -> None:
    proxy = ConnectProxy(credentials=basic("user", SECRET))
    with trio.fail_after(LIMIT):
        async with open_fake_binance(listen=True) as fake, connect_proxy(proxy) as port:
            url = f"http://user:{QUOTED_SECRET}@127.0.0.1:{port}"
            async with open_binance_streams(endpoints=fake.endpoints, https_proxy=url) as bsm:
                async with bsm.trade_socket("BTCUSDT") as trades:
                    for trade_id in range(1, 51):
                        fake.publish("btcusdt@trade", {"e": "trade", "t": trade_id})
                    got = [(await trades.receive())["t"] for _ in range(50)]
    assert got == list(range(1, 51))
    assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{fake_port(fake)} HTTP/1.1\r\n")


async def test_tls_runs_end_to_end_through_the_tunnel_for_streams_and_rest() -> None:
    # wss:// and https:// to a TLS front of the fake exchange, through the proxy: the
    # certificate is checked against 127.0.0.1 (the front), not the proxy.  A local
    # order book needs both: the diff stream and a REST snapshot.
    proxy = ConnectProxy()
    with trio.fail_after(LIMIT):
        async with open_fake_binance(listen=True) as fake:
            fake.start_market(["BTCUSDT"], depth_interval=0.01)
            plain = f"127.0.0.1:{fake_port(fake)}"
            async with tls_terminator(fake_port(fake)) as tls_port, connect_proxy(proxy) as port:
                endpoints = dataclasses.replace(
                    fake.endpoints,
                    spot_stream=f"wss://127.0.0.1:{tls_port}/spot",
                    spot_rest=f"https://127.0.0.1:{tls_port}",
                )
                transport = NetworkTransport(client_context(), proxy=f"http://127.0.0.1:{port}")
                async with open_binance_streams(endpoints=endpoints, transport=transport) as bsm:
                    async with bsm.depth_cache("BTCUSDT", limit=100) as book:
                        cache = await book.receive()
                        assert cache.best_bid() is not None
    targets = {r.split(" ")[1] for r in proxy.requests}
    assert targets == {f"127.0.0.1:{tls_port}"}  # never straight to the exchange
    assert len(proxy.requests) >= 2  # one tunnel for the stream, one for REST
    assert plain not in targets


async def test_a_refused_tunnel_is_retried_and_reported_without_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = ConnectProxy(credentials=basic("user", SECRET))
    proxy.refuse = 2
    settings = Settings(backoff_initial=0.01, backoff_max=0.02)
    with trio.fail_after(LIMIT):
        async with open_fake_binance(listen=True) as fake, connect_proxy(proxy) as port:
            url = f"http://user:{QUOTED_SECRET}@127.0.0.1:{port}"
            async with open_binance_streams(
                endpoints=fake.endpoints, https_proxy=url, settings=settings
            ) as bsm:
                with caplog.at_level(logging.DEBUG, logger="trio_binance"):
                    async with bsm.trade_socket("BTCUSDT") as trades:
                        fake.publish("btcusdt@trade", {"e": "trade", "t": 7})
                        assert (await trades.receive())["t"] == 7
    assert len(proxy.requests) == 3
    assert "HTTP 503" in caplog.text
    for secret in (SECRET, QUOTED_SECRET, basic("user", SECRET).split()[1]):
        assert secret not in caplog.text


async def test_proxy_failures_are_proxy_errors() -> None:
    proxy = ConnectProxy(credentials=basic("user", SECRET))
    with trio.fail_after(LIMIT):
        async with connect_proxy(proxy) as port:
            wrong = NetworkTransport(proxy=f"http://user:wrong{QUOTED_SECRET}@127.0.0.1:{port}")
            with pytest.raises(ProxyError, match="HTTP 407") as refused:
                await wrong.open_stream("127.0.0.1", 9, tls=False)
            assert refused.value.status == 407
            assert "s3cr" not in str(refused.value)
            proxy.drop = 1
            right = NetworkTransport(proxy=f"http://user:{QUOTED_SECRET}@127.0.0.1:{port}")
            with pytest.raises(ProxyError, match="closed the connection during CONNECT"):
                await right.open_stream("127.0.0.1", 9, tls=False)
