"""A fake platform API for source tests: canned responses per route, every request recorded.

The same route table answers through ``httpx.MockTransport`` (fast, in-process) and through a
real HTTP server on ``127.0.0.1:0`` (so the real transport, headers and encodings are exercised):

    api = FakeAPI()
    api.add("GET", "/api/v1/search_by_date", Canned.payload("hackernews", "page0.json"))
    with api.client() as client:            # MockTransport
        ...
    with api.serve() as base_url, httpx.Client(base_url=base_url, timeout=5) as client:
        ...                                 # loopback server
    assert api.requests[0].query["page"] == "0"

A route answers its responses in order and then keeps repeating the last one; a route may also
require query parameters (``query={"page": "1"}``), and routes with matching query constraints
win over routes without. An unknown route answers 404 with a JSON error, so a test that asks for
the wrong URL fails loudly instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from monitor.pipeline.context import Context
from monitor.pipeline.ingest import Feed, PollOutcome, ingest
from monitor.runtime.assembly import alerter_names, build_source
from monitor.sentiment import Scorer, build_scorer
from monitor.settings import Settings, TopicSettings, parse_settings
from monitor.store import Store

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def payload_path(platform: str, name: str) -> Path:
    """The path of a recorded payload file under ``tests/payloads/<platform>/``."""
    return PAYLOADS / platform / name


def load_json(platform: str, name: str) -> Any:
    """A recorded JSON payload, decoded (to copy and alter in a test)."""
    return json.loads(payload_path(platform, name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Canned:
    """One canned HTTP response."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Canned:
        merged = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data).encode("utf-8"), merged)

    @classmethod
    def payload(
        cls,
        platform: str,
        name: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> Canned:
        """A recorded payload file; the content type follows the file suffix unless given."""
        path = payload_path(platform, name)
        kind = content_type or _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        return cls(status, path.read_bytes(), {"content-type": kind, **(headers or {})})

    @classmethod
    def html_error(cls, status: int = 200) -> Canned:
        """What a captive portal, a CDN or a maintenance page answers instead of the API."""
        body = (
            b"<!DOCTYPE html><html><head><title>Oops</title></head><body>Maintenance</body></html>"
        )
        return cls(status, body, {"content-type": "text/html; charset=utf-8"})


_CONTENT_TYPES = {
    ".json": "application/json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Request:
    """One request the fake received. Header names are lower case; query values are lists."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Route:
    query: Mapping[str, str]
    responses: list[Canned]
    served: int = 0

    def next(self) -> Canned:
        response = self.responses[min(self.served, len(self.responses) - 1)]
        self.served += 1
        return response


class FakeAPI:
    """Routes ``(method, path)`` to canned responses and records the requests it answered."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[_Route]] = {}
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    def add(
        self,
        method: str,
        path: str,
        *responses: Canned,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``method path`` (with ``query`` among its parameters) with ``responses``."""
        if not responses:
            raise ValueError("a route needs at least one response")
        routes = self._routes.setdefault((method.upper(), path), [])
        routes.append(_Route(dict(query or {}), list(responses)))
        # Most specific first, so a route constrained by query wins over a catch-all.
        routes.sort(key=lambda route: -len(route.query))

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def answer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Canned:
        """Record one request and pick its response (used by both transports)."""
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        request = Request(
            method.upper(),
            parts.path,
            query,
            {name.lower(): value for name, value in headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(request)
            for route in self._routes.get((request.method, request.path), []):
                if all(request.param(name) == value for name, value in route.query.items()):
                    return route.next()
        return Canned.json({"error": f"no route for {request.method} {request.path}"}, 404)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            canned = self.answer(
                request.method, str(request.url), dict(request.headers), request.read()
            )
            return httpx.Response(canned.status, headers=dict(canned.headers), content=canned.body)

        return httpx.MockTransport(handle)

    def client(self) -> httpx.Client:
        """An ``httpx.Client`` answered in-process by this fake (whatever host a URL names)."""
        return httpx.Client(transport=self.transport(), timeout=5)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the routes on ``127.0.0.1:<free port>``; yields the base URL (with a slash)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval so shutdown() returns at once instead of after 0.5 s.
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        try:
            host, port = server.server_address[:2]
            yield f"http://{host!s}:{port}/"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _handler_for(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            canned = api.answer(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(canned.status)
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(canned.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(canned.body)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _respond

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def raw_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A TCP server on loopback that runs ``handle(conn, stop)`` for each connection.

    For servers that misbehave below HTTP (a slow drip, a stall, a lying length): ``handle``
    writes raw bytes after the request was read. Yields an HN-style base URL.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the accept loop sees ``stop`` soon
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):  # the client hung up, as it should
                handle(conn, stop)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def drip(data: bytes, every: float, stop: threading.Event, conn: socket.socket) -> None:
    """Send ``data`` one byte at a time; a long drip (``data`` runs for seconds)."""
    for byte in data:
        if stop.wait(every):
            return
        conn.sendall(bytes([byte]))


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros as one gzip member of about 1 KB per MiB, made in a blink.

    After a full flush the compressor starts afresh, so every MiB of zeros compresses to the
    same bytes: compress two and repeat the second.
    """
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + ((megabytes << 20) & 0xFFFFFFFF).to_bytes(4, "little")
    body = first + block * (megabytes - 1) + compressor.flush()
    return header + body + trailer


@dataclass
class OneSource:
    """A topic ``acme`` watched by one configured source, a migrated store and a scorer."""

    settings: Settings
    store: Store
    scorer: Scorer

    @property
    def topic(self) -> TopicSettings:
        return self.settings.topics[0]

    def ingest(self, client: httpx.Client, now: datetime) -> PollOutcome:
        """One scheduled poll at ``now`` through the daemon's ingest step."""
        (source_settings,) = self.topic.sources
        source = build_source(self.topic, source_settings)
        context = Context(self.store, self.settings, tuple(alerter_names(self.settings, {})))
        feed = Feed(self.topic, source_settings, source, client)
        return ingest(context, feed, self.scorer, now)


def one_source(folder: Path, source: Mapping[str, Any]) -> OneSource:
    """:class:`OneSource` with ``source`` as its only ``[[topics.sources]]`` table."""
    raw = {
        "monitor": {"database": str(folder / "monitor.db")},
        "topics": [{"name": "acme", "terms": ["Acme"], "sources": [dict(source)]}],
    }
    settings = parse_settings(raw, folder / "settings.toml", {})
    store = Store(settings.monitor.database)
    store.migrate()
    return OneSource(settings, store, build_scorer(settings.sentiment, ["en"]))
