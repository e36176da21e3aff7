"""The monitor's small HTTP server: ``/metrics``, health and webhook ingest on one port.

It is the standard library's ``ThreadingHTTPServer`` in a background thread with a tiny
router in front, because a few loopback endpoints do not justify a web framework. Handlers are
plain functions from a :class:`~monitor.http_messages.Request` and path parameters to a
:class:`~monitor.http_messages.Response`, so they are tested without sockets; the server
adds the HTTP rules (400, 404, 405, 408, 413, 500) once for all.

Clients are not trusted to be quick or well-formed. The request line and headers must arrive
within ``header_timeout`` and the body within ``body_timeout`` of them, however the bytes are
spread out (a client sending one byte every few seconds is cut off, not waited for), and
:meth:`HttpServer.stop` waits at most ``stop_timeout`` for requests in flight before it closes
their sockets, so a slow client cannot hold up a SIGTERM. Malformed requests get a 4xx answer
and at most a DEBUG line: they are the client's problem, not the operator's. This module holds
the routes and the server's life; reading and answering on the sockets under those limits is
:mod:`monitor.runtime.http_connections`.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from monitor.http_messages import (
    DEFAULT_LISTEN,
    Handler,
    Request,
    Response,
    parse_listen,
)
from monitor.runtime.http_connections import Server

log = logging.getLogger(__name__)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
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
        self._server: Server | None = None
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
            server = Server((self.host, self._requested_port), family, self)
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
