"""The client's byte stream: a non-blocking socket (TLS included) driven by Trio.

:class:`trio.SocketStream` and :class:`trio.SSLStream` are general-purpose.  On a
read they go through three layers of wrappers, try the read, catch
``BlockingIOError``, wait, then read again; ``SSLStream`` also runs a pure-Python
record loop.  The stream here does the same job for one client socket with less
work per wake-up.  Measured on the benchmark's latency scenario (one wake-up per
message), it takes about 4 µs off each message (p50 at 2,000 msgs/s: 52 → 48 µs).

* Plain TCP: the stdlib socket's ``recv``, with :func:`trio.lowlevel.wait_readable`
  when there is nothing to read.  After a read shorter than asked for (the kernel
  buffer was emptied), the next read waits first instead of failing a ``recv``
  first.
* TLS: an :class:`ssl.SSLObject` between two memory BIOs, as asyncio does.  One
  ``recv`` takes every record that has arrived (servers may send one small record
  per message), and OpenSSL decrypts them without a system call each: an
  ``ssl.SSLSocket`` reads a record's header and body with two ``read`` calls.  On a
  burst of 300-byte records (``python -m benchmarks.tls_records``) that is about
  1.15 µs of CPU per record against 3.3 µs.
  A TLS handshake after the connection is open (renegotiation) is refused: the
  default context sets ``OP_NO_RENEGOTIATION``, and a send that would need one
  fails as a broken connection, which the engine reconnects.

* Through an HTTP proxy (:class:`HttpProxy`): the TCP connection goes to the proxy,
  a ``CONNECT`` opens a tunnel to the exchange, and TLS runs end to end inside it.

Cancellation follows Trio's rules for streams.  A cancelled ``receive_some``
consumes no data, and a cancelled ``send_all`` leaves the stream broken.  Every
call is a checkpoint.
"""

from __future__ import annotations

import base64
import socket
import ssl
import urllib.parse
from typing import Final, final

import trio
from trio.lowlevel import (
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    notify_closing,
    wait_readable,
    wait_writable,
)

__all__ = ["HttpProxy", "ProxyError", "SocketStream", "open_socket_stream"]

DEFAULT_RECEIVE_SIZE: Final = 65536
_TLS_SLACK: Final = 1024  # ciphertext read beyond the plaintext asked for: record overhead
_HANDSHAKE_READ: Final = 65536


@final
class _Tls:
    """One TLS session over memory BIOs: ciphertext in, plaintext out, no I/O."""

    __slots__ = ("eof", "incoming", "obj", "outgoing")

    def __init__(self, context: ssl.SSLContext, server_hostname: str) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        self.eof = False  # the peer closed (close_notify, or TCP EOF without it)

    def decrypt(self, size: int) -> tuple[bytes | None, bool]:
        """Up to ``size`` bytes of plaintext from the records already received.

        Returns ``(data, exhausted)``: ``data`` is ``None`` when no complete record
        is buffered, ``b""`` at the end of the stream; ``exhausted`` says that every
        complete record was used.
        """
        if self.eof:
            return b"", True
        parts: list[bytes] = []
        total = 0
        read = self.obj.read
        exhausted = False
        while total < size:
            try:
                piece = read(size - total)
            except ssl.SSLWantReadError:
                exhausted = True
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                piece = b""  # close_notify, or a TCP EOF without it: the end either way
            if not piece:
                self.eof = exhausted = True
                break
            parts.append(piece)
            total += len(piece)
        if not parts:
            return (b"" if self.eof else None), exhausted
        return (b"".join(parts) if len(parts) > 1 else parts[0]), exhausted


@final
class SocketStream(trio.abc.Stream):
    """A :class:`trio.abc.Stream` over a connected non-blocking socket.

    With ``tls``, bytes on the socket are that TLS session's records (see
    :func:`open_socket_stream`, which does the handshake).
    """

    def __init__(self, sock: socket.socket, tls: _Tls | None = None) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._tls = tls
        self._closed = False
        self._receiving = False
        self._sending = False
        self._drained = False  # the last read emptied the kernel buffer

    def __repr__(self) -> str:
        return f"<SocketStream fd={self._sock.fileno()} tls={self._tls is not None}>"

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Read at least one byte, at most ``max_bytes``; ``b""`` at end of stream.

        Raises:
            ValueError: ``max_bytes`` is less than 1.
            trio.BusyResourceError: Another task is already receiving.
            trio.ClosedResourceError: The stream was closed.
            trio.BrokenResourceError: The connection failed.
        """
        size = DEFAULT_RECEIVE_SIZE if max_bytes is None else max_bytes
        if size < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this stream")
        self._receiving = True
        try:
            return await self._receive(size)
        finally:
            self._receiving = False

    def receive_some_nowait(self, max_bytes: int) -> bytes:
        """Read what has already arrived, without a checkpoint; ``b""`` at end of stream.

        For a caller that has just passed a checkpoint of its own and expects data
        to be waiting (its last read was full): it saves a second trip through the
        scheduler.

        Raises:
            trio.WouldBlock: Nothing has arrived (or only part of a TLS record): use
                :meth:`receive_some`.
            trio.BusyResourceError: Another task is receiving.
            trio.ClosedResourceError: The stream was closed.
            trio.BrokenResourceError: The connection failed.
        """
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this stream")
        if self._closed:
            raise trio.ClosedResourceError("the stream was closed")
        try:
            return self._read_now(max_bytes)
        except BlockingIOError:
            raise trio.WouldBlock from None
        except OSError as exc:
            raise trio.BrokenResourceError(f"receive failed: {exc!r}") from exc

    async def _receive(self, size: int) -> bytes:
        # After a short read the kernel buffer was empty: wait before trying.
        waited = self._drained
        if waited:
            await self._wait_readable()
        else:
            await checkpoint_if_cancelled()
            if self._closed:
                raise trio.ClosedResourceError("the stream was closed")
        while True:
            try:
                data = self._read_now(size)
            except BlockingIOError:
                await self._wait_readable()
            except OSError as exc:
                raise trio.BrokenResourceError(f"receive failed: {exc!r}") from exc
            else:
                if not waited:  # read at once: yield now (a wait already did)
                    await cancel_shielded_checkpoint()
                return data
            waited = True

    def _read_now(self, size: int) -> bytes:
        """Up to ``size`` bytes that have arrived, without waiting.

        Raises:
            BlockingIOError: Nothing yet (or only part of a TLS record).
            OSError: The connection failed.
        """
        tls = self._tls
        if tls is None:
            raw = self._sock.recv(size)
            self._drained = len(raw) < size
            return raw
        data, exhausted = tls.decrypt(size)
        drained = False
        if data is None:  # nothing decrypted is left: read the socket
            want = size + _TLS_SLACK
            chunk = self._sock.recv(want)
            if chunk:
                tls.incoming.write(chunk)
            else:
                tls.incoming.write_eof()
            data, exhausted = tls.decrypt(size)
            drained = len(chunk) < want
        self._drained = drained and exhausted
        if data is None:
            raise BlockingIOError("only part of a TLS record has arrived")
        return data

    async def _wait_readable(self) -> None:
        if self._closed:
            await checkpoint()
            raise trio.ClosedResourceError("the stream was closed")
        await wait_readable(self._sock)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``.

        Raises:
            trio.BusyResourceError: Another task is already sending.
            trio.ClosedResourceError: The stream was closed.
            trio.BrokenResourceError: The connection failed (the stream is then
                unusable, as after a cancelled send).
        """
        if self._sending:
            raise trio.BusyResourceError("another task is already sending on this stream")
        self._sending = True
        try:
            await checkpoint_if_cancelled()
            if self._closed:
                raise trio.ClosedResourceError("the stream was closed")
            tls = self._tls
            if tls is None:
                await self._send_raw(data)
            else:
                try:
                    tls.obj.write(data)
                except ssl.SSLWantReadError as exc:
                    msg = "the server asked to renegotiate TLS"
                    raise trio.BrokenResourceError(msg) from exc
                except OSError as exc:
                    raise trio.BrokenResourceError(f"send failed: {exc!r}") from exc
                # (This also sends whatever TLS wrote while reading: the alert that
                # refuses a renegotiation.)
                while tls.outgoing.pending:
                    await self._send_raw(tls.outgoing.read())
            await cancel_shielded_checkpoint()
        finally:
            self._sending = False

    async def _send_raw(self, data: bytes | bytearray | memoryview) -> None:
        sock = self._sock
        with memoryview(data) as view:
            sent = 0
            total = len(view)
            while sent < total:
                try:
                    with view[sent:] as rest:
                        sent += sock.send(rest)
                except BlockingIOError:
                    await self.wait_send_all_might_not_block()
                except OSError as exc:
                    raise trio.BrokenResourceError(f"send failed: {exc!r}") from exc

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the socket can take more data."""
        if self._closed:
            await checkpoint()
            raise trio.ClosedResourceError("the stream was closed")
        await wait_writable(self._sock)

    async def aclose(self) -> None:
        """Close the socket: waiting tasks get :class:`trio.ClosedResourceError`.

        No TLS ``close_notify`` is sent; the WebSocket closing handshake has already
        said goodbye.
        """
        if not self._closed:
            self._closed = True
            notify_closing(self._sock)
            self._sock.close()
        await checkpoint()

    async def _handshake(self, tls: _Tls) -> None:
        """Run the TLS handshake (the stream is not yet in use)."""
        while True:
            try:
                tls.obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            while tls.outgoing.pending:
                await self._send_raw(tls.outgoing.read())
            if done:
                return
            await self._wait_readable()
            try:
                chunk = self._sock.recv(_HANDSHAKE_READ)
            except BlockingIOError:
                continue
            if not chunk:
                raise ConnectionResetError(
                    "the server closed the connection during the TLS handshake"
                )
            tls.incoming.write(chunk)


async def open_socket_stream(
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    proxy: HttpProxy | None = None,
) -> SocketStream:
    """Connect to ``host:port`` (Trio's happy eyeballs), with TLS if ``ssl_context``.

    With ``proxy``, the TCP connection goes to the proxy, which is asked to open a
    tunnel to ``host:port`` (HTTP ``CONNECT``); TLS, if any, then runs end to end
    through the tunnel, verified against ``host``.

    The caller bounds the whole call with a timeout.

    Raises:
        ProxyError: The proxy refused or broke the tunnel.
        OSError: The connection or the TLS handshake failed (``ssl.SSLError`` and
            ``ssl.SSLCertVerificationError`` are ``OSError`` subclasses).
    """
    if proxy is None:
        tcp = await trio.open_tcp_stream(host, port)
    else:
        tcp = await trio.open_tcp_stream(proxy.host, proxy.port)
    sock = socket.socket(fileno=tcp.socket.detach())
    try:
        if proxy is not None:
            await _open_tunnel(sock, proxy, host, port)
        tls = None if ssl_context is None else _Tls(ssl_context, host)
    except BaseException:
        sock.close()
        raise
    stream = SocketStream(sock, tls)
    if tls is not None:
        try:
            await stream._handshake(tls)
        except trio.BrokenResourceError as exc:  # a send failed: report the cause
            await trio.aclose_forcefully(stream)
            raise ConnectionResetError(str(exc)) from exc
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    return stream


# ------------------------------------------------------------------ HTTP proxies

_MAX_PROXY_RESPONSE: Final = 16384


class ProxyError(OSError):
    """The HTTP proxy refused the tunnel or broke it while it was being opened.

    Attributes:
        status: The proxy's HTTP status (407: it wants credentials), or ``None``
            when it answered with something other than an HTTP response.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@final
class HttpProxy:
    """Where an HTTP proxy is, and the credentials it wants (never shown).

    Args:
        url: ``http://[user:password@]host[:port]`` (port 80 by default).
            User and password are percent-decoded and sent as Basic credentials.

    Raises:
        ValueError: ``url`` is not of that form.
    """

    __slots__ = ("_authorization", "host", "port")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise ValueError(f"a proxy must be a URL string, got {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port  # ValueError when out of range or not a number
            valid = (
                parts.scheme.lower() == "http"
                and bool(parts.hostname)
                and parts.path in ("", "/")
                and not parts.query
                and not parts.fragment
            )
        except ValueError:
            valid = False
        if not valid or parts.hostname is None:
            # The URL may carry a password: say what is allowed, never echo it.
            raise ValueError(
                "the proxy must be an http:// URL such as 'http://proxy.example:3128' "
                "or 'http://user:password@proxy.example:3128'"
            )
        self.host: str = parts.hostname
        self.port: int = 80 if port is None else port
        self._authorization: str | None = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._authorization = f"Basic {token}"

    def __repr__(self) -> str:
        auth = "<credentials>@" if self._authorization else ""
        return f"HttpProxy('http://{auth}{self.address}')"

    @property
    def address(self) -> str:
        """``host:port``, as shown in errors and logs."""
        return _authority(self.host, self.port)

    def connect_request(self, host: str, port: int) -> bytes:
        """The ``CONNECT`` request for a tunnel to ``host:port``."""
        target = _authority(host, port)
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if self._authorization is not None:
            lines.append(f"Proxy-Authorization: {self._authorization}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _authority(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_connect_response(head: bytes, proxy: str) -> None:
    """Check the proxy's answer to ``CONNECT`` (its header block, blank line included).

    Raises:
        ProxyError: Not a ``2xx`` HTTP response.
    """
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ProxyError(f"proxy {proxy} answered CONNECT with something other than HTTP")
    status = int(code)
    if not 200 <= status < 300:
        reason = rest[4:].strip()[:100]
        hint = " (it wants credentials: http://user:password@host:port)" if status == 407 else ""
        raise ProxyError(
            f"proxy {proxy} refused the tunnel: HTTP {status} {reason}{hint}".rstrip(), status
        )


async def _open_tunnel(sock: socket.socket, proxy: HttpProxy, host: str, port: int) -> None:
    request = memoryview(proxy.connect_request(host, port))
    while request:
        try:
            request = request[sock.send(request) :]
        except BlockingIOError:
            await wait_writable(sock)
        except OSError as exc:
            raise ProxyError(f"proxy {proxy.address} dropped the connection: {exc!r}") from exc
    head = b""
    while b"\r\n\r\n" not in head:
        if len(head) > _MAX_PROXY_RESPONSE:
            raise ProxyError(f"proxy {proxy.address} sent an oversized response to CONNECT")
        try:
            # Neither TLS nor a WebSocket server speaks first: nothing follows the
            # header block until we send, so reading past it loses nothing.
            data = sock.recv(4096)
        except BlockingIOError:
            await wait_readable(sock)
            continue
        except OSError as exc:
            raise ProxyError(f"proxy {proxy.address} dropped the connection: {exc!r}") from exc
        if not data:
            raise ProxyError(f"proxy {proxy.address} closed the connection during CONNECT")
        head += data
    header, _, extra = head.partition(b"\r\n\r\n")
    parse_connect_response(header + b"\r\n\r\n", proxy.address)
    if extra:
        raise ProxyError(f"proxy {proxy.address} sent data before the tunnel was used")
