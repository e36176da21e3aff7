"""What one source request may cost: a deadline for the whole answer and a cap on its size.

httpx's ``timeout`` bounds each network read, not the answer: a server that trickles a byte
every few seconds never trips it and holds a poll (and a scheduler thread) forever. And httpx
inflates a gzip body without a limit: 306 KB can unpack to 300 MB. Every source client is
therefore built by :func:`source_client`, whose transport

- stamps a deadline on the request's first hop (httpx copies the extensions to each redirect,
  so it covers the whole chain); a watchdog shuts the sockets down when it passes, which wakes
  a read blocked inside httpcore, and the failure becomes :class:`DeadlineExceeded`;
- decodes ``gzip``/``deflate`` itself in bounded steps and counts the decoded bytes, raising
  :class:`ResponseTooLarge` as soon as the cap is passed, before the rest is read or inflated.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.request import getproxies

import httpx

_DEADLINE_KEY = "shitstorm.deadline"
# Inflate at most this much per step, so a bomb is caught after one step, not after it burst.
_STEP = 64 * 1024
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?")
_SIZE_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


class ByteSize(int):
    """A number of bytes, written ``"10MiB"``, ``"512KB"`` or a plain number in settings.toml."""


def parse_size(value: Any) -> ByteSize:
    """``"10MiB"`` → 10485760; ``ValueError`` for anything that is not a size.

    >>> parse_size("10MiB"), parse_size("1.5kB"), parse_size(2048)
    (10485760, 1500, 2048)
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return ByteSize(value)
    match = _SIZE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'invalid size {value!r} (write it like "512KiB", "10MB" or "1GiB")')
    return ByteSize(int(float(match.group(1)) * _SIZE_UNITS[match.group(2)]))


def format_size(size: int) -> str:
    """A size for messages: ``10485760`` → ``"10 MiB"``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class ResponseLimits:
    """The whole-answer deadline (connect, headers, body, redirects) and the decoded size cap."""

    deadline: timedelta
    max_bytes: int


class DeadlineExceeded(httpx.TimeoutException):
    """No complete answer within the deadline (a slow drip, a stall, a redirect chain)."""


class ResponseTooLarge(httpx.TransportError):
    """The decoded body passed the size cap; it was not read (or inflated) any further."""


def source_client(
    timeout: timedelta,
    limits: ResponseLimits,
    *,
    headers: dict[str, str],
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> httpx.Client:
    """An ``httpx.Client`` for one source whose every request keeps to ``limits``.

    ``timeout`` stays httpx's per-read timeout. ``transport`` replaces the network (tests);
    proxies from the environment are honoured as httpx would (``HTTPS_PROXY``, ``NO_PROXY``).
    """

    def limited(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        return LimitedTransport(inner, limits, clock=clock)

    seconds = timeout.total_seconds()
    mounts: dict[str, httpx.BaseTransport | None] = {}
    if transport is None:
        mounts = {
            pattern: None if proxy is None else limited(httpx.HTTPTransport(proxy=proxy))
            for pattern, proxy in _environment_proxies().items()
        }
    return httpx.Client(
        transport=limited(transport or httpx.HTTPTransport()),
        mounts=mounts,
        timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
        # Only what this module can inflate in bounded steps.
        headers={**headers, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=True,
        max_redirects=10,
    )


class LimitedTransport(httpx.BaseTransport):
    """Wraps a transport so each request keeps to a deadline and a decoded size cap."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        limits: ResponseLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._limits = limits
        self._clock = clock
        # Every socket this client opened. A source polls one request at a time, so at the
        # deadline these are the one in use and idle keep-alive ones (harmless to cut too).
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline_at = request.extensions.setdefault(
            _DEADLINE_KEY, self._clock() + self._limits.deadline.total_seconds()
        )
        request.extensions["trace"] = self._trace
        watchdog = _Watchdog(self._limits.deadline, deadline_at, self._clock, self._sockets)
        try:
            response = self._inner.handle_request(request)
        except BaseException as exc:
            watchdog.cancel()
            if isinstance(exc, httpx.HTTPError):
                raise watchdog.translate(exc) from None
            raise
        try:
            watchdog.check()
            decoder = _decoder(response.headers.get("content-encoding", ""))
        except httpx.HTTPError:
            watchdog.cancel()
            response.close()
            raise
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length")
        ]
        stream = _LimitedStream(response.stream, decoder, self._limits.max_bytes, watchdog)
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=stream,
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                self._sockets.add(sock)


class _Watchdog:
    """Cuts this client's sockets when the deadline passes, and says so in the error."""

    def __init__(
        self,
        deadline: timedelta,
        deadline_at: float,
        clock: Callable[[], float],
        sockets: weakref.WeakSet[socket.socket],
    ) -> None:
        self.deadline = deadline
        self.deadline_at = deadline_at
        self.clock = clock
        self.sockets = sockets
        self.fired = False
        self._timer = threading.Timer(max(deadline_at - clock(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    def expired(self) -> bool:
        return self.fired or self.clock() >= self.deadline_at

    def check(self) -> None:
        if self.expired():
            raise self.error()

    def error(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within the {_seconds(self.deadline)} deadline")

    def translate(self, exc: httpx.HTTPError) -> httpx.HTTPError:
        """The error to raise for ``exc``: a cut socket's read error is the deadline's doing."""
        return self.error() if self.expired() and not isinstance(exc, ResponseTooLarge) else exc

    def cancel(self) -> None:
        self._timer.cancel()


class _LimitedStream(httpx.SyncByteStream):
    def __init__(
        self,
        inner: httpx.SyncByteStream | Any,
        decoder: _Decoder,
        max_bytes: int,
        watchdog: _Watchdog,
    ) -> None:
        self._inner = inner
        self._decoder = decoder
        self._max_bytes = max_bytes
        self._watchdog = watchdog

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        try:
            for raw in self._inner:
                for piece in self._decoder.decode(raw):
                    size += len(piece)
                    if size > self._max_bytes:
                        raise ResponseTooLarge(
                            f"answer larger than {format_size(self._max_bytes)} after "
                            "decompression (max_response_size)"
                        )
                    yield piece
                self._watchdog.check()
            # A body that ends with the connection ends early when the watchdog cuts it.
            self._watchdog.check()
        except httpx.HTTPError as exc:
            raise self._watchdog.translate(exc) from None
        finally:
            self._watchdog.cancel()

    def close(self) -> None:
        self._watchdog.cancel()
        if hasattr(self._inner, "close"):
            self._inner.close()


class _Decoder:
    """Identity, or zlib inflation in steps of at most ``_STEP`` decoded bytes."""

    def __init__(self, wbits: int | None) -> None:
        self._inflater = None if wbits is None else zlib.decompressobj(wbits)
        # "deflate" is meant with a zlib header, but some servers send it raw.
        self._raw_fallback = wbits == zlib.MAX_WBITS

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            if data:
                yield data
            return
        try:
            while data and not self._inflater.eof:
                piece = self._inflater.decompress(data, _STEP)
                data = self._inflater.unconsumed_tail
                self._raw_fallback = False
                if piece:
                    yield piece
        except zlib.error as exc:
            if not self._raw_fallback:
                raise httpx.DecodingError(f"cannot decode the compressed answer: {exc}") from None
            self._inflater, self._raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
            yield from self.decode(data)


def _decoder(content_encoding: str) -> _Decoder:
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return _Decoder(None)
    if codings in (["gzip"], ["x-gzip"]):
        return _Decoder(16 + zlib.MAX_WBITS)
    if codings == ["deflate"]:
        return _Decoder(zlib.MAX_WBITS)
    raise httpx.DecodingError(f"unsupported Content-Encoding {content_encoding!r}")


def _environment_proxies() -> dict[str, str | None]:
    """``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` as httpx mount patterns (None: direct)."""
    found = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        proxy = found.get(scheme)
        if proxy:
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if ":" in host:
            mounts[f"all://[{host}]"] = None
        elif host:
            mounts[f"all://{host}" if host[0].isdigit() else f"all://*{host}"] = None
    return mounts


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"
