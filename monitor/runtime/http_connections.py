"""The socket side of the HTTP server: how many connections are served at once, how long a
client may take to send its request, and cutting off requests still in flight when it stops.

:class:`Server` accepts connections for an :class:`App` (in practice
:class:`monitor.runtime.http.HttpServer`, which routes and answers); each one is read by a
request handler that turns bytes into a :class:`~monitor.http_messages.Request` under a
deadline and writes the :class:`~monitor.http_messages.Response` back.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from monitor.http_messages import Headers, Request, Response

# The HTTP server's one logger, whichever of its modules writes the line.
log = logging.getLogger("monitor.runtime.http")

# RFC 9110 token characters: what a method may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DIGITS = re.compile(r"[0-9]+")
# How long one socket read or write may stall before the connection is dropped.
SOCKET_TIMEOUT_SECONDS = 10.0
_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n"
)
# A Content-Length of more digits than this is beyond any limit; int() of a 5,000-digit string
# even raises ValueError.
MAX_LENGTH_DIGITS = 18
# After a 413 we discard (never store) up to this much of the rest of the body, so that the
# client reads our answer instead of a connection reset; beyond it we just close.
DRAIN_LIMIT_BYTES = 8 * 1_048_576


class App(Protocol):
    """What the connections need from the server they serve: its limits and its router."""

    max_body: int
    header_timeout: float
    body_timeout: float
    max_connections: int

    def dispatch(self, request: Request) -> Response: ...


class Server(ThreadingHTTPServer):
    # Request threads are tracked here rather than joined by server_close(), which would wait
    # without a deadline; stop() waits for them with one and then closes their sockets.
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: int, app: App) -> None:
        self.address_family = family
        self.app = app
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            busy = len(self._connections) >= self.app.max_connections
            if not busy:
                self._connections.add(request)
        if busy:
            log.debug("%s: refused, %d connections open", client_address[0], len(self._connections))
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._idle:
            self._connections.discard(request)
            self._idle.notify_all()
        super().shutdown_request(request)

    def wait_idle(self, deadline: float) -> bool:
        """Whether every connection was finished before ``deadline`` (a monotonic time)."""
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._connections, max(deadline - time.monotonic(), 0.0)
            )

    def cut_connections(self) -> int:
        """Shut down the sockets of requests still in flight; answers how many there were."""
        with self._idle:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        return len(connections)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets or drops its connection is no error of ours: a DEBUG line."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("%s: connection failed: %s", client_address[0], error)
            return
        log.exception("HTTP request from %s crashed", client_address[0])

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup we neither need nor want
        # to wait for on a host without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns the socket into a :class:`Request` and a :class:`Response` back into bytes."""

    server: Server
    rfile: io.BufferedReader
    timeout = SOCKET_TIMEOUT_SECONDS
    # HTTP/1.0 answers close the connection, so no idle keep-alive connection delays stop().
    protocol_version = "HTTP/1.0"
    # What a request line without a readable version is answered as: the base class's
    # HTTP/0.9 would send the error page without a status line, which clients cannot read.
    default_request_version = "HTTP/1.0"
    server_version = "shitstorm-monitor"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Reads go through a deadline: the request line and headers must all be in by then.
        self._reader = _DeadlineReader(self.connection, self.server.app.header_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # The base class answers a method without a do_<METHOD> with 501; every method goes to
        # the router instead, which answers 405 with the methods the path does take (or 404).
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        app = self.server.app
        self._refused_length = 0
        if not _TOKEN.fullmatch(self.command):
            self.close_connection = True
            self._send(self.path, Response.text(HTTPStatus.BAD_REQUEST, "malformed method"))
            return
        split = urlsplit(self.path)
        path = split.path or "/"
        headers = Headers(list(self.headers.items()))
        self._reader.extend(app.body_timeout)
        body = self._read_body(headers, app.max_body)
        if isinstance(body, Response):
            self._send(path, body)
            if self._refused_length:
                self._discard_unread_body(self._refused_length)
            return
        request = Request(
            method=self.command,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            client=str(self.client_address[0]),
        )
        self._send(path, app.dispatch(request))

    def _read_body(self, headers: Headers, max_body: int) -> bytes | Response:
        """The request body, or the error response when it is refused unread."""
        if "transfer-encoding" in headers:
            self.close_connection = True
            return Response.text(
                HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not supported; send Content-Length"
            )
        length_text = headers.get("content-length", "0").strip()
        # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
        if not _DIGITS.fullmatch(length_text):
            self.close_connection = True
            return Response.text(HTTPStatus.BAD_REQUEST, "bad Content-Length header")
        length = int(length_text) if len(length_text) <= MAX_LENGTH_DIGITS else None
        if length is None or length > max_body:
            self._refused_length = min(length or DRAIN_LIMIT_BYTES, DRAIN_LIMIT_BYTES)
            return Response.text(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length or length_text[:40] + '...'} bytes exceeds the limit "
                f"of {max_body} bytes",
            )
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            self.close_connection = True
            return Response.text(HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive in time")
        if len(body) < length:
            self.close_connection = True
            return Response.text(HTTPStatus.BAD_REQUEST, "the body is shorter than Content-Length")
        return body

    def _send(self, path: str, response: Response) -> None:
        # Method and path without the query string, which may carry a token. Logged before the
        # first byte goes out, so a client that has its answer can rely on the line being there.
        log.debug(
            "%s %s %s %d %d",
            self.client_address[0],
            _printable(self.command),
            _printable(path),
            response.status,
            len(response.body),
        )
        # The answer gets the ordinary write timeout, not what is left of the read deadline.
        self.connection.settimeout(SOCKET_TIMEOUT_SECONDS)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _discard_unread_body(self, length: int) -> None:
        """Finish the answer, then drop what the client still sends, so it is not reset early."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            remaining = min(length, DRAIN_LIMIT_BYTES)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            pass  # The client gave up or went away: nothing more to tell it.

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: :meth:`_send` writes the access line itself, without the query string."""

    def log_message(self, format: str, *args: Any) -> None:
        """Protocol errors (bad request line, timeouts) from the base class go to DEBUG."""
        log.debug("%s %s", self.client_address[0], _printable(format % args))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose reads fail with TimeoutError once a deadline passed."""

    def __init__(self, connection: socket.socket, seconds: float) -> None:
        self._connection = connection
        self._deadline = time.monotonic() + seconds

    def extend(self, seconds: float) -> None:
        """A new deadline, ``seconds`` from now (for the body, once the headers are in)."""
        self._deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._connection.settimeout(min(remaining, SOCKET_TIMEOUT_SECONDS))
        return self._connection.recv_into(buffer)


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so a client cannot forge log lines."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")
