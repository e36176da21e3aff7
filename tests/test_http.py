"""The HTTP server on a real loopback socket, driven by httpx and, for framing, a raw socket."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import select
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from monitor.http_messages import Headers, Request, Response, parse_listen
from monitor.runtime.endpoints import build_http_server
from monitor.runtime.http import HttpServer
from monitor.runtime.service import Daemon
from monitor.sources.webhook import sign
from monitor.store import Store
from tests.support import BASE_SETTINGS, TOPIC, at, open_incident_at_noon, settings_in

SECRET = "s3cr3t-signature-value"
NOW = at(12, 10)


def echo(request: Request, params: dict[str, str]) -> Response:
    lines = [
        f"method={request.method}",
        f"path={request.path}",
        f"params={sorted(params.items())}",
        f"query={sorted(request.query.items())}",
        f"x-test={request.headers.get('X-TEST')}",
        f"body={request.body.decode()}",
        f"client={request.client}",
    ]
    return Response(200, "\n".join(lines).encode(), headers={"X-Handled": "yes"})


def explode(request: Request, params: dict[str, str]) -> Response:
    raise RuntimeError("handler bug")


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # One client for the module: building its TLS context costs more than a loopback request.
    with httpx.Client() as shared:
        yield shared


@contextlib.contextmanager
def serving(app: HttpServer) -> Iterator[HttpServer]:
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def server() -> Iterator[HttpServer]:
    app = HttpServer("127.0.0.1:0", max_body=1024)
    app.route("POST", "/ingest/{topic}", echo)
    app.route("GET", "/items/{kind}/{name}", echo)
    app.route("get", "/boom", explode)
    with serving(app):
        yield app


def test_a_route_gets_path_parameters_query_headers_and_body(
    client: httpx.Client, server: HttpServer
) -> None:
    response = client.post(
        f"{server.url}/ingest/acme%20corp?dry=1&tag=a&tag=b",
        content=b"hello",
        headers={"x-test": "value"},
    )
    assert response.status_code == 200
    assert response.headers["x-handled"] == "yes"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.splitlines() == [
        "method=POST",
        "path=/ingest/acme%20corp",
        "params=[('topic', 'acme corp')]",
        "query=[('dry', ['1']), ('tag', ['a', 'b'])]",
        "x-test=value",
        "body=hello",
        "client=127.0.0.1",
    ]


def test_a_parameter_matches_one_segment_only(client: httpx.Client, server: HttpServer) -> None:
    assert client.get(f"{server.url}/items/a/b").status_code == 200
    assert client.get(f"{server.url}/items/a/b/c").status_code == 404
    assert client.post(f"{server.url}/ingest/a/b", content=b"").status_code == 404


def test_unknown_path_is_404(client: httpx.Client, server: HttpServer) -> None:
    response = client.get(f"{server.url}/nope")
    assert response.status_code == 404


def test_wrong_method_is_405_with_allow(client: httpx.Client, server: HttpServer) -> None:
    response = client.get(f"{server.url}/ingest/acme")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_an_oversized_body_is_413(client: httpx.Client, server: HttpServer) -> None:
    response = client.post(f"{server.url}/ingest/acme", content=b"x" * 50_000)
    assert response.status_code == 413
    assert "limit of 1024 bytes" in response.text


def test_an_oversized_body_is_refused_before_it_is_sent(server: HttpServer) -> None:
    # Announce a gigabyte and send ten bytes: the answer must come without the rest.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(
            b"POST /ingest/acme HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n0123456789"
        )
        head = raw.recv(4096)
    assert head.startswith(b"HTTP/1.0 413 ")


def test_a_body_at_the_limit_is_accepted(client: httpx.Client, server: HttpServer) -> None:
    response = client.post(f"{server.url}/ingest/acme", content=b"y" * 1024)
    assert response.status_code == 200


def test_chunked_bodies_are_refused(client: httpx.Client, server: HttpServer) -> None:
    response = client.post(f"{server.url}/ingest/acme", content=iter([b"a", b"b"]))
    assert response.status_code == 411


def test_a_failing_handler_is_500_and_logged_without_headers(
    client: httpx.Client, server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="monitor.runtime.http"):
        response = client.get(f"{server.url}/boom", headers={"X-Shitstorm-Signature": SECRET})
    assert response.status_code == 500
    assert "handler bug" not in response.text
    assert "RuntimeError: handler bug" in caplog.text
    assert "GET /boom" in caplog.text
    assert SECRET not in caplog.text


def test_one_access_log_line_per_request_without_the_query(
    client: httpx.Client, server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="monitor.runtime.http"):
        client.get(f"{server.url}/items/a/b?token=hunter2")
        client.get(f"{server.url}/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.runtime.http"]
    assert lines == ["127.0.0.1 GET /items/a/b 200 130", "127.0.0.1 GET /nope 404 10"]


def test_head_answers_without_a_body(client: httpx.Client) -> None:
    app = HttpServer("127.0.0.1:0")
    app.route("HEAD", "/health", lambda request, params: Response.text(200, "ok"))
    app.start()
    try:
        response = client.head(f"{app.url}/health")
    finally:
        app.stop()
    assert response.status_code == 200
    assert response.headers["content-length"] == "3"
    assert response.content == b""


def test_stop_closes_the_port_and_joins_the_thread(client: httpx.Client) -> None:
    app = HttpServer("127.0.0.1:0")
    app.start()
    port = app.port
    before = {t.name for t in threading.enumerate()}
    assert f"http-{port}" in before
    app.stop()
    assert f"http-{port}" not in {t.name for t in threading.enumerate()}
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")
    app.stop()  # A second stop is harmless.


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError, match="after start"):
        _ = HttpServer("127.0.0.1:0").port


def test_a_busy_port_names_the_address() -> None:
    first = HttpServer("127.0.0.1:0")
    first.start()
    try:
        second = HttpServer(f"127.0.0.1:{first.port}")
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            second.start()
    finally:
        first.stop()


def test_ipv6_loopback(client: httpx.Client) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    app = HttpServer("[::1]:0")
    app.route("GET", "/", lambda request, params: Response.text(200, request.client))
    try:
        app.start()
    except OSError:
        pytest.skip("IPv6 loopback unavailable")
    try:
        url = app.url
        response = client.get(f"{url}/")
    finally:
        app.stop()
    assert url.startswith("http://[::1]:")
    assert response.text == "::1\n"


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:8787", ("::1", 8787)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize(
    "listen", ["", "8787", ":8787", "localhost", "host:port", "host:70000", "::1:8787", "[::1]"]
)
def test_parse_listen_rejects_bad_values(listen: str) -> None:
    with pytest.raises(ValueError, match=r"\[http\] listen"):
        parse_listen(listen)


def test_bad_route_patterns_are_rejected() -> None:
    app = HttpServer()
    with pytest.raises(ValueError, match="must start with"):
        app.route("GET", "metrics", echo)
    with pytest.raises(ValueError, match="bad path parameter"):
        app.route("GET", "/ingest/{topic", echo)
    with pytest.raises(ValueError, match="unsupported HTTP method"):
        app.route("BREW", "/coffee", echo)


def test_headers_are_case_insensitive_and_joined() -> None:
    headers = Headers([("X-A", "1"), ("x-a", "2"), ("Content-Type", "text/plain")])
    assert headers["x-A"] == "1, 2"
    assert "CONTENT-TYPE" in headers
    assert len(headers) == 2
    assert "text/plain" not in repr(headers)


# --- hostile clients against the daemon's own routes ------------------------------------------

HOSTILE_SETTINGS = """
[slack]
channel = "#social-alerts"
api_url = "http://127.0.0.1:9/api/"

[[topics.sources]]
type = "webhook"
"""
WEBHOOK_SECRET = "hook-s3cret"
SIGNING_SECRET = "slack-signing-s3cret"


@pytest.fixture
def daemon_http(tmp_path: Path) -> Iterator[tuple[HttpServer, Store]]:
    """The daemon's HTTP endpoint with webhook ingest and Slack actions configured."""
    settings = settings_in(tmp_path, BASE_SETTINGS, TOPIC, HOSTILE_SETTINGS)
    env = {"SHITSTORM_WEBHOOK_SECRET": WEBHOOK_SECRET, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    daemon = Daemon(settings, stdout=io.StringIO(), clock=lambda: NOW, environ=env)
    store = daemon.store()
    store.migrate()
    store.save_incident(open_incident_at_noon())
    with serving(build_http_server(daemon)) as app:
        yield app, store


def raw_exchange(server: HttpServer, request: bytes) -> bytes:
    """Send ``request`` as it is, half-close, and read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(request)
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := raw.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def slack_headers(body: bytes, timestamp: str | None = None) -> bytes:
    stamp = timestamp if timestamp is not None else str(int(NOW.timestamp()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    # Latin-1, as HTTP header bytes are read: "²" arrives as the one byte 0xB2.
    return (
        f"X-Slack-Request-Timestamp: {stamp}\r\nX-Slack-Signature: v0={digest}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    ).encode("latin-1")


def post_raw(path: str, body: bytes, headers: bytes = b"", length: bytes | None = None) -> bytes:
    size = str(len(body)).encode() if length is None else length
    return (
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: x\r\n"
        + headers
        + b"Content-Length: "
        + size
        + b"\r\n\r\n"
        + body
    )


def webhook(body: bytes, length: bytes | None = None) -> bytes:
    headers = f"X-Shitstorm-Signature: {sign(WEBHOOK_SECRET, body)}\r\n"
    headers += "Content-Type: application/json\r\n"
    return post_raw("/ingest/acme", body, headers.encode(), length)


def slack_action(body: bytes, timestamp: str | None = None) -> bytes:
    return post_raw("/slack/actions", body, slack_headers(body, timestamp))


def click(value: object) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "actions": [{"action_id": "shitstorm_acknowledge", "value": value}],
    }
    return b"payload=" + quote(json.dumps(payload)).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000
ITEM = '{"id": "1", "created_at": "2026-03-02T12:00:00Z", "text": "%s"}'
HOSTILE = {
    # Each: the raw request, and the status it must be answered with.
    "timestamp with a superscript digit": (slack_action(click("1"), "²"), 401),
    "timestamp of 5,000 digits": (slack_action(click("1"), "9" * 5000), 401),
    "signed click naming incident 10**30": (slack_action(click("1" + "0" * 30)), 200),
    "signed click with a superscript id": (slack_action(click("²")), 200),
    "signed click with a nested payload": (slack_action(b"payload=" + DEEP[:4000]), 200),
    "signed form that is not UTF-8": (slack_action(b"payload=\xff\xfe"), 200),
    "webhook: JSON nested 100,000 deep": (webhook(DEEP[:200_000]), 400),
    "webhook: an integer of 5,000 digits": (webhook(b'{"id": ' + b"9" * 5000 + b"}"), 400),
    "webhook: a lone surrogate": (webhook((ITEM % "\\ud800").encode()), 400),
    "webhook: not UTF-8": (webhook(b"\xff\xfe{}"), 400),
    "webhook: body shorter than announced": (webhook(b"{}", length=b"100"), 400),
    "Content-Length with a superscript digit": (webhook(b"{}", length="²".encode("latin-1")), 400),
    "negative Content-Length": (webhook(b"{}", length=b"-1"), 400),
    "Content-Length in hex": (webhook(b"{}", length=b"0x2"), 400),
    "two Content-Lengths": (webhook(b"{}", length=b"2\r\nContent-Length: 3"), 400),
    "Content-Length of 30 digits": (webhook(b"{}", length=b"9" * 30), 413),
    "oversized body": (webhook(b"x" * 1_100_000), 413),
    "chunked body": (post_raw("/ingest/acme", b"", b"Transfer-Encoding: chunked\r\n"), 411),
    "unknown method on a route": (b"BREW /healthz HTTP/1.1\r\n\r\n", 405),
    "TRACE": (b"TRACE /ingest/acme HTTP/1.1\r\n\r\n", 405),
    "method with control characters": (b"G\x01T /healthz HTTP/1.1\r\n\r\n", 400),
    "unknown topic, not UTF-8": (webhook(b"{}").replace(b"/acme", b"/%ff%fe"), 404),
    "path with a NUL": (b"GET /healthz%00 HTTP/1.1\r\n\r\n", 404),
    "path traversal": (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", 404),
    "asterisk form": (b"OPTIONS * HTTP/1.1\r\n\r\n", 404),
    "request line of 70 KB": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    "101 headers": (b"GET /healthz HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
    "header line of 70 KB": (b"GET /healthz HTTP/1.1\r\nX-A: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    "bad version": (b"GET /healthz HTTP/1.x\r\n\r\n", 400),
    "TLS handshake on the plain port": (bytes.fromhex("16030100a5010000a10303") + b"\0" * 40, 400),
    "log injection in the path": (b"GET /x\x1b[31m\rERROR forged HTTP/1.1\r\n\r\n", 400),
    "control characters in the path": (b"GET /x\x1b[31m\x07 HTTP/1.1\r\n\r\n", 404),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_request_gets_a_client_error_and_no_traceback(
    daemon_http: tuple[HttpServer, Store], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, store = daemon_http
    request, expected = HOSTILE[name]
    with caplog.at_level(logging.DEBUG):
        answer = raw_exchange(server, request)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1:2] == [str(expected).encode()], status_line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "\x1b" not in caplog.text and "\rERROR" not in caplog.text
    assert store.mention_count() == 0
    assert store.incident(1).acknowledged_at is None


# --- slow clients -------------------------------------------------------------------------------


class Drip:
    """A client that sends ``first`` and then one byte every ``every`` seconds, for at most
    ``limit`` seconds, noticing when the server answers or closes the connection."""

    def __init__(self, port: int, first: bytes, *, every: float, limit: float = 20.0) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.socket.sendall(first)
        self.answer = b""
        self.cut_off = threading.Event()
        self._stop = threading.Event()
        self._every, self._limit = every, limit
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self) -> None:
        for _ in range(int(self._limit / self._every)):
            if self._stop.wait(self._every):
                return
            try:
                readable, _, _ = select.select([self.socket], [], [], 0)
                if readable:
                    while chunk := self.socket.recv(65536):
                        self.answer += chunk
                    break
                self.socket.send(b"a")
            except OSError:
                break
        self.cut_off.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def slow_server() -> Iterator[HttpServer]:
    app = HttpServer("127.0.0.1:0", header_timeout=0.5, body_timeout=0.5, stop_timeout=0.2)
    app.route("POST", "/ingest/{topic}", echo)
    with serving(app):
        yield app


def test_a_client_dripping_its_headers_is_cut_off_at_the_header_deadline(
    slow_server: HttpServer,
) -> None:
    drip = Drip(slow_server.port, b"POST /ingest/acme HTTP/1.1\r\nX-Slow: ", every=0.1)
    try:
        # Each byte comes well within the per-read timeout; the whole is past the deadline.
        assert drip.cut_off.wait(5), "the server kept waiting for the headers"
    finally:
        drip.close()


def test_a_client_dripping_its_body_is_answered_408(slow_server: HttpServer) -> None:
    head = b"POST /ingest/acme HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"
    drip = Drip(slow_server.port, head, every=0.1)
    try:
        assert drip.cut_off.wait(5), "the server kept waiting for the body"
    finally:
        drip.close()
    assert drip.answer.startswith(b"HTTP/1.0 408 ")


def test_stop_does_not_wait_for_a_slow_client() -> None:
    app = HttpServer("127.0.0.1:0", stop_timeout=0.2)  # the default header deadline: 10 s
    app.start()
    drip = Drip(app.port, b"GET /healthz HTTP/1.1\r\n", every=0.1)
    try:
        with socket.create_connection(("127.0.0.1", app.port), timeout=5) as other:
            other.sendall(b"GET /nope HTTP/1.0\r\n\r\n")  # served: the drip was accepted first
            assert other.recv(100).startswith(b"HTTP/1.0 404")
        stopping = threading.Thread(target=app.stop)
        stopping.start()
        stopping.join(timeout=5)
        assert not stopping.is_alive(), "stop() waited for the slow client"
        assert drip.cut_off.wait(5)
    finally:
        drip.close()


def test_sigterm_is_not_held_up_by_a_slow_client(tmp_path: Path) -> None:
    """``shitstorm run`` gets a SIGTERM while a client sends its request a byte at a time."""
    from tests.sources_support import Canned, FakeAPI
    from tests.test_daemon import Daemon as DaemonProcess
    from tests.test_daemon import config_for

    api = FakeAPI()
    empty = {"hits": [], "nbPages": 1, "page": 0, "hitsPerPage": 100}
    api.add("GET", "/api/v1/search_by_date", Canned.json(empty))
    with api.serve() as base_url:
        daemon = DaemonProcess(config_for(tmp_path, base_url))
        try:
            url = daemon.wait_for("HTTP endpoint on").rsplit(" ", 1)[-1].strip()
            port = int(url.rsplit(":", 1)[1])
            drip = Drip(port, b"POST /ingest/acme HTTP/1.1\r\n", every=1.0, limit=40.0)
            assert httpx.get(f"{url}/metrics", timeout=5).status_code == 200
            # The endpoint answered a request made after the drip connected: it is in flight.
            try:
                assert daemon.stop(signal.SIGTERM, timeout=9.0) == 0, daemon.log
            finally:
                drip.close()
        finally:
            if daemon.process.poll() is None:
                daemon.process.kill()
                daemon.process.wait()
    assert "stopped" in daemon.log and "Traceback" not in daemon.log


def test_a_flood_of_slow_clients_gets_503_beyond_the_connection_limit() -> None:
    app = HttpServer("127.0.0.1:0", max_connections=2, stop_timeout=0.2)
    app.route("GET", "/healthz", lambda request, params: Response.text(200, "ok"))
    app.start()
    drips = [Drip(app.port, b"GET /healthz HTTP/1.1\r\n", every=0.1) for _ in range(2)]
    try:
        with socket.create_connection(("127.0.0.1", app.port), timeout=5) as third:
            third.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            assert third.recv(100).startswith(b"HTTP/1.0 503 ")
        app.stop()
        assert all(drip.cut_off.wait(5) for drip in drips)
    finally:
        app.stop()
        for drip in drips:
            drip.close()
