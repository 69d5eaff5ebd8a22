"""The station's https transport with TLS session resumption (issue 13 §3: uploads over TLS on
a link cut every few seconds).

Every cut costs a new connection, and a new connection a TLS handshake: a full one sends the
central's certificate chain down the link and verifies its signature, each time. TLS 1.3
resumption (RFC 8446 §2.2: the server's NewSessionTicket, then a pre_shared_key in the next
ClientHello) skips the certificate and the signature. Python's ssl resumes when the session is
handed to ``SSLContext.wrap_socket(..., session=)`` (Python docs, ssl: "Session handling");
httpx 0.28's transport never does, but its connection pool (httpcore) takes a pluggable
network backend (httpcore docs, "Network Backends"), so :class:`ResumingBackend` opens the
TCP connections and wraps them in TLS with the origin's last session.

Pinning is exactly as strict: the one ``SSLContext`` (only ``[central] ca_file`` trusted,
hostname checked) verifies every full handshake, and a session is only ever offered to the
origin it came from, after that context verified it. Only the server that issued the ticket
can accept it (it must hold the ticket key to derive the resumption secret); any other server
ignores the offer and has to present a certificate the context verifies, or the handshake fails.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Any, Iterable

import httpcore
import httpx

#: (host, port, server_hostname): whose session a new connection may offer
Origin = tuple[str, int, "str | None"]


class SessionCache:
    """The newest resumable TLS session per origin, and how many handshakes resumed one."""

    def __init__(self) -> None:
        self._sessions: dict[Origin, ssl.SSLSession] = {}
        self._lock = threading.Lock()
        self.handshakes = 0
        self.resumed = 0
        #: seconds the newest handshake took: about one round trip (kiosk.sync.pacing)
        self.last_handshake_s = 0.0

    def get(self, origin: Origin) -> ssl.SSLSession | None:
        with self._lock:
            return self._sessions.get(origin)

    def keep(self, origin: Origin, session: ssl.SSLSession) -> None:
        with self._lock:
            self._sessions[origin] = session

    def counted(self, resumed: bool, seconds: float = 0.0) -> None:
        with self._lock:
            self.handshakes += 1
            self.resumed += resumed
            self.last_handshake_s = seconds


class _TlsStream(httpcore.NetworkStream):
    """An established TLS connection; keeps the session tickets the server sends on it (TLS 1.3
    sends them after the handshake, so they are read along with the first answer)."""

    def __init__(self, sock: ssl.SSLSocket, cache: SessionCache, origin: Origin) -> None:
        self._sock, self._cache, self._origin = sock, cache, origin
        self._kept: ssl.SSLSession | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._sock.settimeout(timeout)
            data = self._sock.recv(max_bytes)
        except socket.timeout as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc
        if self._kept is None:
            session = self._sock.session
            if session is not None and session.has_ticket:
                self._kept = session
                self._cache.keep(self._origin, session)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            while buffer:
                self._sock.settimeout(timeout)
                buffer = buffer[self._sock.send(buffer):]
        except socket.timeout as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.WriteError(exc) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        raise NotImplementedError("TLS in TLS (https proxies) is not used by the station")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._sock  # httpcore asks it for the ALPN protocol, which an SSLSocket answers
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":
            return _readable(self._sock)
        return None


class _TcpStream(httpcore.NetworkStream):
    """A plain TCP connection (httpcore's own), whose TLS upgrade offers the origin's session."""

    def __init__(self, plain: httpcore.NetworkStream, cache: SessionCache, host: str, port: int) -> None:
        self._plain, self._cache, self._host, self._port = plain, cache, host, port

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._plain.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._plain.write(buffer, timeout)

    def close(self) -> None:
        self._plain.close()

    def get_extra_info(self, info: str) -> Any:
        return self._plain.get_extra_info(info)

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        origin: Origin = (self._host, self._port, server_hostname)
        sock: socket.socket = self._plain.get_extra_info("socket")
        session = self._cache.get(origin)
        started = time.monotonic()
        try:
            sock.settimeout(timeout)
            # the cache belongs to one transport, whose pool has one context: a session is only
            # ever offered to the context that made it (ssl refuses another's with ValueError)
            tls = ssl_context.wrap_socket(sock, server_hostname=server_hostname, session=session)
        except socket.timeout as exc:
            sock.close()
            raise httpcore.ConnectTimeout(exc) from exc
        except (ConnectionError, ssl.SSLEOFError) as exc:
            # the central accepted the connection and the link broke during the handshake: a
            # cut like one under a request (the outbox goes on), not an unreachable central
            sock.close()
            raise httpcore.ReadError(f"link cut during the TLS handshake: {exc!r}") from exc
        except OSError as exc:  # ssl.SSLCertVerificationError included: a foreign certificate
            sock.close()
            raise httpcore.ConnectError(exc) from exc
        self._cache.counted(tls.session_reused, time.monotonic() - started)
        return _TlsStream(tls, self._cache, origin)


def _readable(sock: socket.socket) -> bool:
    """Whether a pooled idle connection has something to read (then it was closed by the peer)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class ResumingBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, with TLS sessions kept per origin and offered again."""

    def __init__(self) -> None:
        self._tcp = httpcore.SyncBackend()
        self.sessions = SessionCache()
        #: TCP connections opened (http and https): a request during which it moved paid for a
        #: connection set-up, so its time is not a round trip (kiosk.sync.pacing)
        self.connects = 0

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        self.connects += 1
        plain = self._tcp.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                      socket_options=socket_options)
        return _TcpStream(plain, self.sessions, host, port)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return self._tcp.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    def sleep(self, seconds: float) -> None:
        self._tcp.sleep(seconds)


class ResumingTransport(httpx.HTTPTransport):
    """httpx's transport (its request/response and error mapping) over a connection pool that
    uses :class:`ResumingBackend`. ``verify`` is what httpx takes: the pinned context of a real
    station, or True/False."""

    def __init__(self, verify: ssl.SSLContext | bool, *, limits: httpx.Limits,
                 socket_options: list[tuple[int, int, int]] | None = None) -> None:
        ctx = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        super().__init__(verify=ctx, limits=limits, socket_options=socket_options)
        self.backend = ResumingBackend()
        # httpx 0.28 has no parameter for the pool's network backend: the same pool it builds
        # (HTTP/1.1, its limits and socket options), with ours
        self._pool = httpcore.ConnectionPool(
            ssl_context=ctx, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=False, socket_options=socket_options, network_backend=self.backend)

    @property
    def sessions(self) -> SessionCache:
        return self.backend.sessions
