"""The monitor's small HTTP server: ``/metrics``, health and webhook ingest on one port.

It is the standard library's ``ThreadingHTTPServer`` in a background thread with a tiny
router in front, because a few loopback endpoints do not justify a web framework. Handlers are
plain functions from a :class:`~monitor.runtime.http_messages.Request` and path parameters to a
:class:`~monitor.runtime.http_messages.Response`, so they are tested without sockets; the server
adds the HTTP rules (400, 404, 405, 408, 413, 500) once for all.

Clients are not trusted to be quick or well-formed. The request line and headers must arrive
within ``header_timeout`` and the body within ``body_timeout`` of them, however the bytes are
spread out (a client sending one byte every few seconds is cut off, not waited for), and
:meth:`HttpServer.stop` waits at most ``stop_timeout`` for requests in flight before it closes
their sockets, so a slow client cannot hold up a SIGTERM. Malformed requests get a 4xx answer
and at most a DEBUG line: they are the client's problem, not the operator's.
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
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from monitor.runtime.http_messages import (
    DEFAULT_LISTEN,
    Handler,
    Headers,
    Request,
    Response,
    parse_listen,
)

log = logging.getLogger(__name__)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# RFC 9110 token characters: what a method may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DIGITS = re.compile(r"[0-9]+")
# How long one socket read or write may stall before the connection is dropped.
SOCKET_TIMEOUT_SECONDS = 10.0
# The whole request line and headers must arrive within this, however the bytes are spread out
# (a per-read timeout alone lets a client sending a byte every few seconds hold a thread forever).
HEADER_TIMEOUT_SECONDS = 10.0
# The body must arrive within this after the headers: 1 MiB in 30 s is 35 KB/s, slower than any
# webhook sender or Slack, faster than an attacker would like.
BODY_TIMEOUT_SECONDS = 30.0
# How long stop() lets requests in flight finish before it closes their sockets; well inside the
# service's stop grace, so a SIGTERM is never held up by a client.
STOP_TIMEOUT_SECONDS = 2.0
# Connections served at once; beyond this a client is answered 503 at once instead of getting a
# thread, so a flood of slow clients cannot exhaust the process.
MAX_CONNECTIONS = 64
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
# How often the serving loop checks for stop(): the longest stop() waits when idle.
SHUTDOWN_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A path pattern like ``/ingest/{topic}`` as a regex; each ``{name}`` is one segment."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    remainder = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "", pattern)
    if "{" in remainder or "}" in remainder:
        raise ValueError(f"bad path parameter in route pattern {pattern!r}")
    return re.compile("".join(parts) + r"\Z")


class HttpServer:
    """A threaded HTTP server for a handful of routes, started and stopped by the service."""

    def __init__(
        self,
        listen: str = DEFAULT_LISTEN,
        *,
        max_body: int = 1_048_576,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.host, self._requested_port = parse_listen(listen)
        self.max_body = max_body
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.stop_timeout = stop_timeout
        self.max_connections = max_connections
        self._routes: list[_Route] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Serve ``method`` requests whose path matches ``pattern`` with ``handler``."""
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported HTTP method {method!r} for route {pattern!r}")
        self._routes.append(_Route(method, pattern, compile_pattern(pattern), handler))

    @property
    def port(self) -> int:
        """The bound port: the real one when ``listen`` asked for port 0."""
        if self._server is None:
            raise RuntimeError("HttpServer.port is known only after start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread; an OSError (address in use) names the address."""
        if self._server is not None:
            raise RuntimeError("HttpServer already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            server = _Server((self.host, self._requested_port), family, self)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror}"
            ) from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=f"http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("HTTP server listening on %s", self.url)

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, give requests in flight ``timeout`` seconds, then cut them off.

        Returns within about ``timeout`` (default ``stop_timeout``) whatever the clients do.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
        server.shutdown()
        thread.join()
        server.server_close()
        if not server.wait_idle(deadline):
            cut = server.cut_connections()
            log.info("HTTP server stopped; cut off %d request(s) still in flight", cut)
            # Closed sockets make their reads fail at once; let those threads finish.
            server.wait_idle(time.monotonic() + 0.5)
        self._server = self._thread = None

    def dispatch(self, request: Request) -> Response:
        """The response for ``request``: the matching handler's, or 404 / 405 / 500."""
        allowed: list[str] = []
        for route in self._routes:
            match = route.regex.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            try:
                return route.handler(request, params)
            except Exception:
                # The traceback, method and path only: headers and body may carry secrets.
                log.exception(
                    "HTTP handler for %s %s failed on %s %s",
                    route.method,
                    route.pattern,
                    request.method,
                    request.path,
                )
                return Response.text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal server error")
        if allowed:
            response = Response.text(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            response.headers["Allow"] = ", ".join(sorted(set(allowed)))
            return response
        return Response.text(HTTPStatus.NOT_FOUND, "not found")


class _Server(ThreadingHTTPServer):
    # Request threads are tracked here rather than joined by server_close(), which would wait
    # without a deadline; stop() waits for them with one and then closes their sockets.
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: int, app: HttpServer) -> None:
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

    server: _Server
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
