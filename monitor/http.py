"""The monitor's small HTTP server: ``/metrics``, health and webhook ingest on one port.

It is the standard library's ``ThreadingHTTPServer`` in a background thread with a tiny
router in front, because a few loopback endpoints do not justify a web framework. Handlers are
plain functions from :class:`Request` and path parameters to :class:`Response`, so they are
tested without sockets; the server adds the HTTP rules (404, 405, 413, 500) once for all.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8787"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# How long one socket read or write may stall before the connection is dropped; it also bounds
# how long stop() waits for a client that connected and then went quiet.
SOCKET_TIMEOUT_SECONDS = 10.0
# After a 413 we discard (never store) up to this much of the rest of the body, so that the
# client reads our answer instead of a connection reset; beyond it we just close.
DRAIN_LIMIT_BYTES = 8 * 1_048_576
# How often the serving loop checks for stop(): the longest stop() waits when idle.
SHUTDOWN_POLL_SECONDS = 0.1


class Headers(Mapping[str, str]):
    """Request headers looked up case-insensitively; repeated headers are joined with ", "."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        # Names only: values may be signatures or tokens, and reprs end up in logs.
        return f"Headers({sorted(self._items)})"


@dataclass
class Request:
    """One HTTP request as a handler sees it; ``body`` is complete and within ``max_body``."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str


@dataclass
class Response:
    """What a handler answers. ``Content-Length`` is added by the server."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, (text + "\n").encode("utf-8"))


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


def parse_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[ipv6]:port"`` as ``(host, port)``; ValueError names the value."""
    problem = f"[http] listen: expected 'host:port' or '[ipv6]:port', got {listen!r}"
    if listen.startswith("["):
        host, sep, port_text = listen[1:].partition("]:")
        if not sep or not host:
            raise ValueError(problem)
    else:
        host, sep, port_text = listen.rpartition(":")
        if not sep or not host or ":" in host:
            raise ValueError(problem)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{problem}: the port must be a number from 0 to 65535")
    return host, int(port_text)


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

    def __init__(self, listen: str = DEFAULT_LISTEN, *, max_body: int = 1_048_576) -> None:
        self.host, self._requested_port = parse_listen(listen)
        self.max_body = max_body
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

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, and join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        # Joins the request threads (block_on_close), each bounded by SOCKET_TIMEOUT_SECONDS.
        server.server_close()
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
    # Request threads are joined on close so stop() is graceful; timeouts keep that bounded.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], family: int, app: HttpServer) -> None:
        self.address_family = family
        self.app = app
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup we neither need nor want
        # to wait for on a host without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns the socket into a :class:`Request` and a :class:`Response` back into bytes."""

    server: _Server
    timeout = SOCKET_TIMEOUT_SECONDS
    # HTTP/1.0 answers close the connection, so no idle keep-alive connection delays stop().
    protocol_version = "HTTP/1.0"
    server_version = "shitstorm-monitor"
    sys_version = ""

    def _handle(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path = split.path or "/"
        headers = Headers(list(self.headers.items()))
        self._refused_length = 0
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
        if not length_text.isdigit():
            self.close_connection = True
            return Response.text(HTTPStatus.BAD_REQUEST, "bad Content-Length header")
        length = int(length_text)
        if length > max_body:
            self._refused_length = length
            return Response.text(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes exceeds the limit of {max_body} bytes",
            )
        return self.rfile.read(length) if length else b""

    def _send(self, path: str, response: Response) -> None:
        # Method and path without the query string, which may carry a token. Logged before the
        # first byte goes out, so a client that has its answer can rely on the line being there.
        log.debug(
            "%s %s %s %d %d",
            self.client_address[0],
            self.command,
            path,
            response.status,
            len(response.body),
        )
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
        log.debug("%s " + format, self.client_address[0], *args)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle
