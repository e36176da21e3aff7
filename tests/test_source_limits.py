"""Every source request keeps to a whole-answer deadline and a decoded size cap.

Servers that misbehave the way hostile or broken ones do: a slow drip of the body or of the
headers (each read is quick, so httpx's per-read timeout never fires), a gzip bomb, an encoding
we did not ask for. The client is the one the daemon builds (``assembly.http_client``).
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.runtime.assembly import http_client
from monitor.sources.base import SourceError, TopicTerms
from monitor.sources.hackernews import HackerNewsSettings, HackerNewsSource
from monitor.sources.limits import ResponseLimits, source_client
from tests.sources_support import drip, gzip_bomb, one_source, payload_path, raw_server

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOPIC = TopicTerms(name="acme", terms=["Acme"])
PAGE = payload_path("hackernews", "page1.json").read_bytes()


def hn(base_url: str, **overrides: Any) -> tuple[HackerNewsSettings, HackerNewsSource]:
    settings = HackerNewsSettings(type="hackernews", base_url=base_url, **overrides)
    return settings, HackerNewsSource(settings, TOPIC)


@pytest.mark.parametrize("length", [f"\r\ncontent-length: {len(PAGE)}", ""])
def test_a_body_trickled_byte_by_byte_fails_the_poll_at_the_deadline(length: str) -> None:
    # 3,000 bytes at 10 ms: 30 s in all, while each read waits only 10 ms (timeout is 5 s).
    # Without a length the body ends with the connection: cut, it must not pass for whole.
    body = PAGE[:3000]

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json{length}"
        conn.sendall(head.encode() + b"\r\n\r\n")
        drip(body, 0.01, stop, conn)

    with raw_server(trickle) as base_url:
        settings, source = hn(
            base_url, timeout=timedelta(seconds=5), deadline=timedelta(seconds=0.4)
        )
        started = time.perf_counter()
        with http_client(settings) as client, pytest.raises(SourceError) as caught:
            source.poll(client, None, NOW)
        elapsed = time.perf_counter() - started

    assert caught.value.source == "hackernews"
    assert "no complete answer within the 0.4s deadline" in caught.value.message
    assert elapsed < 3  # the deadline, not the drip (30 s) nor the per-read timeout


def test_headers_trickled_byte_by_byte_fail_at_the_deadline_too() -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"a" * 4000 + b"\r\n\r\n"

    with raw_server(lambda conn, stop: drip(head, 0.01, stop, conn)) as base_url:
        settings, source = hn(
            base_url, timeout=timedelta(seconds=5), deadline=timedelta(seconds=0.4)
        )
        started = time.perf_counter()
        with http_client(settings) as client, pytest.raises(SourceError, match="deadline"):
            source.poll(client, None, NOW)
        elapsed = time.perf_counter() - started

    assert elapsed < 3


def test_the_deadline_covers_the_whole_answer_not_each_read() -> None:
    """In-process and exact: a fake stopwatch advances one second per chunk of the body."""
    ticks = iter(range(1000))

    def handler(request: httpx.Request) -> httpx.Response:
        chunks = (PAGE[i : i + 100] for i in range(0, len(PAGE), 100))
        return httpx.Response(200, stream=_Chunks(chunks))

    client = source_client(
        timedelta(seconds=20),
        ResponseLimits(timedelta(seconds=5), 10_000_000),
        headers={},
        transport=httpx.MockTransport(handler),
        clock=lambda: float(next(ticks)),
    )
    _, source = hn("https://hn.test/api/v1/")
    with client, pytest.raises(SourceError, match="within the 5s deadline"):
        source.poll(client, None, NOW)


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def test_the_gzip_bomb_is_correct_gzip() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)


def bomb_handler(bomb: bytes) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(bomb))

    return handler


def test_a_gzip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = gzip_bomb(300)  # ~300 KB that unpack to 300 MiB
    settings, source = hn("https://hn.test/api/v1/")  # default cap: 10 MiB
    client = source_client(
        settings.timeout,
        settings.limits,
        headers={},
        transport=httpx.MockTransport(bomb_handler(bomb)),
    )
    tracemalloc.start()
    try:
        with client, pytest.raises(SourceError) as caught:
            source.poll(client, None, NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(bomb) < 400_000
    assert caught.value.source == "hackernews"
    assert "larger than 10 MiB after decompression (max_response_size)" in caught.value.message
    assert peak < 40 * 1024 * 1024  # the cap and a step, not the 300 MiB


def test_a_gzip_bomb_over_the_network_is_refused_too() -> None:
    bomb = gzip_bomb(64)

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-encoding: gzip\r\ncontent-length: {len(bomb)}\r\n\r\n"
        )
        conn.sendall(head.encode() + bomb)

    with raw_server(serve) as base_url:
        settings, source = hn(base_url, max_response_size=1 << 20)
        with http_client(settings) as client, pytest.raises(SourceError, match="larger than 1 MiB"):
            source.poll(client, None, NOW)


@pytest.mark.parametrize(
    "encode",
    [
        gzip.compress,
        zlib.compress,  # deflate as the RFC means it (zlib wrapper)
        lambda data: zlib.compress(data)[2:-4],  # deflate as some servers send it (raw)
        lambda data: data,
    ],
)
def test_compressed_answers_within_the_cap_are_read_whole(encode: Callable[[bytes], bytes]) -> None:
    page = json.loads(PAGE)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        coding = "gzip" if encode is gzip.compress else "deflate"
        headers = {"content-type": "application/json"}
        if encode(b"x") != b"x":
            headers["content-encoding"] = coding
        return httpx.Response(200, headers=headers, content=encode(PAGE))

    settings, source = hn("https://hn.test/api/v1/")
    client = source_client(
        settings.timeout, settings.limits, headers={}, transport=httpx.MockTransport(handler)
    )
    with client:
        result = source.poll(client, None, NOW)

    assert len(result.mentions) == len(page["hits"])
    assert sent[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_encoding_we_did_not_ask_for_is_refused_with_the_source_name() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "br"}, content=b"\x00" * 100)

    settings, source = hn("https://hn.test/api/v1/")
    client = source_client(
        settings.timeout, settings.limits, headers={}, transport=httpx.MockTransport(handler)
    )
    with client, pytest.raises(SourceError) as caught:
        source.poll(client, None, NOW)
    assert caught.value.source == "hackernews"
    assert "unsupported Content-Encoding 'br'" in caught.value.message


def test_the_daemon_polls_on_while_one_source_drips(tmp_path: Path) -> None:
    """The slow source fails at its deadline and is recorded; the next poll starts afresh."""

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        drip(b"x" * 3000, 0.01, stop, conn)

    with raw_server(trickle) as base_url:
        hn = {"type": "hackernews", "base_url": base_url, "deadline": "1s", "timeout": "1s"}
        rig = one_source(tmp_path, hn)
        with http_client(rig.topic.sources[0]) as client:
            outcomes = [rig.ingest(client, NOW) for _ in range(2)]

    assert [o.ok for o in outcomes] == [False, False]
    assert all("1s deadline" in (o.error or "") for o in outcomes)
    state = rig.store.source_state("acme", "hackernews")
    assert state is not None and state.last_error and "deadline" in state.last_error


def test_proxies_from_the_environment_are_honoured_and_limited_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = gzip_bomb(32)
    seen: list[bytes] = []

    def proxy(conn: socket.socket, stop: threading.Event) -> None:
        seen.append(b"request")
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-encoding: gzip\r\ncontent-length: {len(bomb)}\r\n\r\n"
        )
        conn.sendall(head.encode() + bomb)

    with raw_server(proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("api/v1/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        settings, source = hn("http://hn.test/api/v1/", max_response_size=1 << 20)
        with http_client(settings) as client, pytest.raises(SourceError, match="larger than 1 MiB"):
            source.poll(client, None, NOW)

    assert seen  # the request went through the proxy, and the cap held there too
