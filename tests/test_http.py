"""The HTTP server on a real loopback socket, driven by httpx and, for framing, a raw socket."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from monitor.http import Headers, HttpServer, Request, Response, parse_listen

SECRET = "s3cr3t-signature-value"


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


@pytest.fixture
def server() -> Iterator[HttpServer]:
    app = HttpServer("127.0.0.1:0", max_body=1024)
    app.route("POST", "/ingest/{topic}", echo)
    app.route("GET", "/items/{kind}/{name}", echo)
    app.route("get", "/boom", explode)
    app.start()
    try:
        yield app
    finally:
        app.stop()


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
    with caplog.at_level(logging.ERROR, logger="monitor.http"):
        response = client.get(f"{server.url}/boom", headers={"X-Shitstorm-Signature": SECRET})
    assert response.status_code == 500
    assert "handler bug" not in response.text
    assert "RuntimeError: handler bug" in caplog.text
    assert "GET /boom" in caplog.text
    assert SECRET not in caplog.text


def test_one_access_log_line_per_request_without_the_query(
    client: httpx.Client, server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="monitor.http"):
        client.get(f"{server.url}/items/a/b?token=hunter2")
        client.get(f"{server.url}/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.http"]
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
